package netq

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/dnahost/dnahost/merkle"
)

var (
	// ErrNotFound is what an ObjectStore returns for an object or chunk it
	// does not hold.
	ErrNotFound = errors.New("netq: object not found")
	// ErrBadChunk reports a chunk that does not expand to its leaf.
	ErrBadChunk = errors.New("netq: chunk does not match its leaf")
)

// ObjectStore holds Merkle-rooted objects (bundles) for peers to fetch.
// Implementations must be safe for concurrent use.
type ObjectStore interface {
	// Leaves returns an object's leaf hashes (ErrNotFound if absent).
	Leaves(root merkle.Hash) ([]merkle.Hash, error)
	// Chunk returns chunk i in its stored form (ErrNotFound if absent).
	Chunk(root merkle.Hash, i int) (Codec, []byte, error)
}

// ServeObjects answers GetLeaves and GetChunk from store.
func (n *Node) ServeObjects(store ObjectStore) {
	n.Handle(KindGetLeaves, func(_ context.Context, _ PeerID, b []byte) (Status, []byte) {
		req, err := DecodeGetLeaves(b)
		if err != nil {
			return StatusBadInput, []byte(err.Error())
		}
		leaves, err := store.Leaves(req.Root)
		if err != nil {
			return statusOf(err)
		}
		return StatusOK, (&Leaves{Hashes: leaves}).Encode()
	})
	n.Handle(KindGetChunk, func(_ context.Context, _ PeerID, b []byte) (Status, []byte) {
		req, err := DecodeGetChunk(b)
		if err != nil {
			return StatusBadInput, []byte(err.Error())
		}
		codec, data, err := store.Chunk(req.Root, int(req.Index))
		if err != nil {
			return statusOf(err)
		}
		n.count(func(s *Stats) { s.ChunksServed++ })
		return StatusOK, (&Chunk{Codec: codec, Data: data}).Encode()
	})
}

func statusOf(err error) (Status, []byte) {
	if errors.Is(err, ErrNotFound) {
		return StatusNotFound, nil
	}
	return StatusError, []byte(err.Error())
}

var (
	chunkDecOnce sync.Once
	chunkDec     *zstd.Decoder
)

// ExpandChunk returns a chunk's raw bytes after checking them against its
// leaf hash. Expansion is bounded by MaxChunkSize.
func ExpandChunk(c *Chunk, leaf merkle.Hash) ([]byte, error) {
	var raw []byte
	switch c.Codec {
	case CodecRaw:
		raw = c.Data
	case CodecZstd:
		chunkDecOnce.Do(func() {
			chunkDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
				zstd.WithDecoderMaxMemory(MaxChunkSize), zstd.WithDecoderMaxWindow(MaxChunkSize))
		})
		out, err := chunkDec.DecodeAll(c.Data, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrBadChunk, err)
		}
		raw = out
	default:
		return nil, fmt.Errorf("%w: codec %d", ErrBadChunk, c.Codec)
	}
	if len(raw) > MaxChunkSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadChunk, len(raw))
	}
	if merkle.LeafHash(raw) != leaf {
		return nil, ErrBadChunk
	}
	return raw, nil
}

// MemObjects is an in-memory ObjectStore.
type MemObjects struct {
	mu      sync.RWMutex
	objects map[merkle.Hash]*memObject
}

type memObject struct {
	leaves []merkle.Hash
	codecs []Codec
	stored [][]byte
}

// NewMemObjects returns an empty store.
func NewMemObjects() *MemObjects { return &MemObjects{objects: map[merkle.Hash]*memObject{}} }

var (
	chunkEncOnce sync.Once
	chunkEnc     *zstd.Encoder
)

// Add stores an object made of chunks (zstd-compressed where that is
// smaller) and returns its root.
func (s *MemObjects) Add(chunks [][]byte) merkle.Hash {
	chunkEncOnce.Do(func() {
		chunkEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	})
	o := &memObject{}
	for _, c := range chunks {
		o.leaves = append(o.leaves, merkle.LeafHash(c))
		if z := chunkEnc.EncodeAll(c, nil); len(z) < len(c) {
			o.codecs, o.stored = append(o.codecs, CodecZstd), append(o.stored, z)
		} else {
			o.codecs, o.stored = append(o.codecs, CodecRaw), append(o.stored, c)
		}
	}
	root := merkle.Root(o.leaves)
	s.mu.Lock()
	s.objects[root] = o
	s.mu.Unlock()
	return root
}

// Put stores an object already in stored form.
func (s *MemObjects) Put(root merkle.Hash, leaves []merkle.Hash, codecs []Codec, stored [][]byte) {
	s.mu.Lock()
	s.objects[root] = &memObject{leaves: leaves, codecs: codecs, stored: stored}
	s.mu.Unlock()
}

// Leaves implements ObjectStore.
func (s *MemObjects) Leaves(root merkle.Hash) ([]merkle.Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[root]
	if o == nil {
		return nil, ErrNotFound
	}
	return o.leaves, nil
}

// Chunk implements ObjectStore.
func (s *MemObjects) Chunk(root merkle.Hash, i int) (Codec, []byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[root]
	if o == nil || i < 0 || i >= len(o.stored) {
		return 0, nil, ErrNotFound
	}
	return o.codecs[i], o.stored[i], nil
}
