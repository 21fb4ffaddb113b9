package netq

import "github.com/dnahost/dnahost/merkle"

// MaxLeaves bounds the leaves of one object (a Leaves answer fits one
// response): at 1 MiB chunks, half a terabyte.
const MaxLeaves = (MaxResponsePayload - 4) / 32

// GetLeaves asks for the leaf hashes of a Merkle-rooted object
// (KindGetLeaves).
type GetLeaves struct {
	Root merkle.Hash
}

// Leaves answers GetLeaves. The asker checks merkle.Root(Hashes) == Root.
type Leaves struct {
	Hashes []merkle.Hash
}

// Encode writes root[32].
func (m *GetLeaves) Encode() []byte { return append([]byte(nil), m.Root[:]...) }

// DecodeGetLeaves parses a GetLeaves payload.
func DecodeGetLeaves(b []byte) (*GetLeaves, error) {
	r := &rbuf{b: b}
	m := &GetLeaves{Root: r.hash()}
	return m, r.done()
}

// Encode writes u32 n ‖ n × hash[32].
func (m *Leaves) Encode() []byte {
	w := make(wbuf, 0, 4+32*len(m.Hashes))
	w.u32(uint32(len(m.Hashes)))
	for _, h := range m.Hashes {
		w.hash(h)
	}
	return w
}

// DecodeLeaves parses a Leaves payload; the count is checked against the
// bytes present before the slice is allocated.
func DecodeLeaves(b []byte) (*Leaves, error) {
	r := &rbuf{b: b}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if n == 0 || n > MaxLeaves || int(n)*32 != len(r.b) {
		return nil, frameErr("leaves: %d hashes in %d bytes", n, len(r.b))
	}
	m := &Leaves{Hashes: make([]merkle.Hash, n)}
	for i := range m.Hashes {
		m.Hashes[i] = r.hash()
	}
	return m, r.done()
}
