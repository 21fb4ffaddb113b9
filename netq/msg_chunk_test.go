package netq

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dnahost/dnahost/merkle"
)

func encGetChunk(m *GetChunk) []byte { return m.Encode() }
func encChunk(m *Chunk) []byte       { return m.Encode() }

func TestChunkMessages(t *testing.T) {
	roundTrip(t, &GetChunk{Root: merkle.Hash{3}, Index: 77}, encGetChunk, DecodeGetChunk, false)
	roundTrip(t, &Chunk{Codec: CodecZstd, Data: []byte("zstd bytes")}, encChunk, DecodeChunk, true)
	if _, err := DecodeChunk([]byte{7, 1}); !errors.Is(err, ErrFrame) {
		t.Fatal("unknown codec accepted")
	}
}

// Chunks expand only to bytes that match their leaf, within the bound.
func TestExpandChunk(t *testing.T) {
	raw := bytes.Repeat([]byte("weights "), 4096)
	store := NewMemObjects()
	root := store.Add([][]byte{raw, []byte{1, 2, 3}})
	leaves, _ := store.Leaves(root)
	for i, want := range [][]byte{raw, {1, 2, 3}} {
		codec, data, err := store.Chunk(root, i)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && codec != CodecZstd {
			t.Fatal("repetitive chunk stored raw")
		}
		got, err := ExpandChunk(&Chunk{Codec: codec, Data: data}, leaves[i])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: %v", i, err)
		}
		bad := append([]byte(nil), data...)
		bad[len(bad)-1] ^= 1
		if _, err := ExpandChunk(&Chunk{Codec: codec, Data: bad}, leaves[i]); !errors.Is(err, ErrBadChunk) {
			t.Fatalf("chunk %d corrupted: %v", i, err)
		}
		if _, err := ExpandChunk(&Chunk{Codec: codec, Data: data}, leaves[1-i]); !errors.Is(err, ErrBadChunk) {
			t.Fatalf("chunk %d against the wrong leaf: %v", i, err)
		}
	}
	// A zstd bomb: a tiny frame that expands past MaxChunkSize.
	bomb := zstdBomb(t, MaxChunkSize+1)
	if _, err := ExpandChunk(&Chunk{Codec: CodecZstd, Data: bomb}, leaves[0]); !errors.Is(err, ErrBadChunk) {
		t.Fatalf("bomb: %v", err)
	}
}

func zstdBomb(t *testing.T, n int) []byte {
	t.Helper()
	store := NewMemObjects()
	root := store.Add([][]byte{make([]byte, n)})
	codec, data, _ := store.Chunk(root, 0)
	if codec != CodecZstd || len(data) > 4096 {
		t.Fatalf("bomb of %d bytes", len(data))
	}
	return data
}

func FuzzGetChunk(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&GetChunk{Index: 1}).Encode()}, DecodeGetChunk, encGetChunk)
}

func FuzzChunk(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Chunk{Data: []byte("x")}).Encode()}, DecodeChunk, encChunk)
}

// FuzzExpandChunk: no input expands to something other than its leaf, and
// nothing panics or expands without bound.
func FuzzExpandChunk(f *testing.F) {
	store := NewMemObjects()
	root := store.Add([][]byte{bytes.Repeat([]byte("ab"), 1000)})
	_, data, _ := store.Chunk(root, 0)
	leaves, _ := store.Leaves(root)
	f.Add(uint8(CodecZstd), data)
	f.Add(uint8(CodecRaw), []byte("ab"))
	f.Fuzz(func(t *testing.T, codec uint8, b []byte) {
		raw, err := ExpandChunk(&Chunk{Codec: Codec(codec), Data: b}, leaves[0])
		if err == nil && merkle.LeafHash(raw) != leaves[0] {
			t.Fatal("accepted a chunk that does not match its leaf")
		}
	})
}
