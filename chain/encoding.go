package chain

import (
	"encoding/binary"

	"github.com/dnahost/dnahost/keys"
)

// reader decodes canonical little-endian bytes; the first failure sticks
// and every length is checked against the bytes left before use.
type reader struct {
	b    []byte
	err  error
	what string
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = ruleErr(ErrEncoding, r.what+": "+format, args...)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("%d bytes wanted, %d left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) hash() (h keys.Hash) {
	copy(h[:], r.take(32))
	return h
}

func (r *reader) addr() (a keys.Address) {
	copy(a[:], r.take(20))
	return a
}

// bytes reads u32 length ‖ bytes, refusing lengths over max.
func (r *reader) bytes(max int) []byte {
	n := r.u32()
	if r.err == nil && int64(n) > int64(max) {
		r.err = ruleErr(ErrFieldTooLarge, "%s: field of %d bytes, cap %d", r.what, n, max)
		return nil
	}
	b := r.take(int(n))
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// done fails if bytes remain.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

type writer []byte

func (w *writer) u8(v uint8)          { *w = append(*w, v) }
func (w *writer) u16(v uint16)        { *w = binary.LittleEndian.AppendUint16(*w, v) }
func (w *writer) u32(v uint32)        { *w = binary.LittleEndian.AppendUint32(*w, v) }
func (w *writer) u64(v uint64)        { *w = binary.LittleEndian.AppendUint64(*w, v) }
func (w *writer) hash(h keys.Hash)    { *w = append(*w, h[:]...) }
func (w *writer) addr(a keys.Address) { *w = append(*w, a[:]...) }
func (w *writer) bytes(b []byte) {
	w.u32(uint32(len(b)))
	*w = append(*w, b...)
}
