package netq

import "github.com/dnahost/dnahost/merkle"

// MaxChunkSize bounds one chunk, stored or expanded (bundle.MaxChunkSize).
const MaxChunkSize = 1 << 24

// Codec says how a chunk's bytes are stored and sent.
type Codec uint8

const (
	CodecRaw  Codec = 0
	CodecZstd Codec = 1 // klauspost/compress zstd, one frame
)

// GetChunk asks for one chunk of a Merkle-rooted object (KindGetChunk).
type GetChunk struct {
	Root  merkle.Hash
	Index uint32 // leaf index
}

// Chunk answers GetChunk with the chunk in its stored form; the asker
// expands it and checks it against the leaf.
type Chunk struct {
	Codec Codec
	Data  []byte
}

// Encode writes root[32] ‖ u32 index.
func (m *GetChunk) Encode() []byte {
	var w wbuf
	w.hash(m.Root)
	w.u32(m.Index)
	return w
}

// DecodeGetChunk parses a GetChunk payload.
func DecodeGetChunk(b []byte) (*GetChunk, error) {
	r := &rbuf{b: b}
	m := &GetChunk{Root: r.hash(), Index: r.u32()}
	return m, r.done()
}

// Encode writes u8 codec ‖ data.
func (m *Chunk) Encode() []byte {
	return append([]byte{byte(m.Codec)}, m.Data...)
}

// DecodeChunk parses a Chunk payload; Data aliases b.
func DecodeChunk(b []byte) (*Chunk, error) {
	if len(b) < 1 {
		return nil, frameErr("empty chunk")
	}
	if b[0] > byte(CodecZstd) {
		return nil, frameErr("chunk codec %d", b[0])
	}
	if len(b)-1 > MaxChunkSize {
		return nil, frameErr("chunk of %d bytes, cap %d", len(b)-1, MaxChunkSize)
	}
	return &Chunk{Codec: Codec(b[0]), Data: b[1:]}, nil
}
