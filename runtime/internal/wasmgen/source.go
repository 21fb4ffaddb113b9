package wasmgen

import "encoding/binary"

// Source hands out a fuzzer's bytes as decisions. Past the end every
// decision is 0, and every generator makes 0 its simplest choice, so any
// input gives a finite module.
type Source struct {
	b []byte
	i int
}

// NewSource reads decisions from b.
func NewSource(b []byte) *Source { return &Source{b: b} }

// Byte is the next byte, or 0.
func (s *Source) Byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	c := s.b[s.i]
	s.i++
	return c
}

// Intn is a number in [0, n).
func (s *Source) Intn(n int) int {
	if n <= 1 {
		return 0
	}
	if n <= 256 {
		return int(s.Byte()) % n
	}
	return int(s.U32() % uint32(n))
}

// Chance is true one time in n (never past the end).
func (s *Source) Chance(n int) bool { return s.Intn(n) == n-1 }

// U32 is four bytes.
func (s *Source) U32() uint32 {
	var b [4]byte
	for i := range b {
		b[i] = s.Byte()
	}
	return binary.LittleEndian.Uint32(b[:])
}

// U64 is eight bytes.
func (s *Source) U64() uint64 { return uint64(s.U32()) | uint64(s.U32())<<32 }

// Done reports whether the bytes are used up.
func (s *Source) Done() bool { return s.i >= len(s.b) }
