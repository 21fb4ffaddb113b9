package meter

import "fmt"

// reader decodes a byte slice that came from outside: every read is bounds
// checked and LEB128 is decoded strictly (length and unused bits), as the
// spec and wazero do, so both agree on where each instruction ends.
type reader struct {
	b   []byte
	off int
}

func (r *reader) eof() bool { return r.off >= len(r.b) }

func (r *reader) errorf(format string, args ...any) error {
	return malformed("offset %d: %s", r.off, fmt.Sprintf(format, args...))
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.errorf("unexpected end")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)-r.off) {
		return nil, r.errorf("length %d exceeds the %d bytes left", n, len(r.b)-r.off)
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// uleb decodes an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits int) (uint64, error) {
	var v uint64
	n := (bits + 6) / 7
	for i := 0; i < n; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == n-1 && c>>(bits-7*i) != 0 { // continuation or unused bits set
			return 0, r.errorf("integer overflows %d bits", bits)
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	panic("unreachable")
}

// sleb decodes a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits int) (int64, error) {
	var v int64
	n := (bits + 6) / 7
	for i := 0; i < n; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == n-1 {
			// The unused bits must repeat the sign bit; no continuation.
			used := bits - 7*i
			if hi := c >> (used - 1); c >= 0x80 || (hi != 0 && hi != 0x7f>>(used-1)) {
				return 0, r.errorf("integer overflows %d bits", bits)
			}
		}
		v |= int64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if s := 7 * (i + 1); s < 64 && c&0x40 != 0 {
				v |= -1 << s
			}
			return v, nil
		}
	}
	panic("unreachable")
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// name skips a vec(byte) and returns it.
func (r *reader) name() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	return r.bytes(n)
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
