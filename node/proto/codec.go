package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/dnahost/dnahost/keys"
)

// ErrMessage reports bytes that are not a valid message.
var ErrMessage = errors.New("proto: malformed message")

type writer []byte

func (w *writer) u8(v uint8)      { *w = append(*w, v) }
func (w *writer) u32(v uint32)    { *w = binary.LittleEndian.AppendUint32(*w, v) }
func (w *writer) u64(v uint64)    { *w = binary.LittleEndian.AppendUint64(*w, v) }
func (w *writer) hash(h [32]byte) { *w = append(*w, h[:]...) }
func (w *writer) raw(b []byte)    { *w = append(*w, b...) }
func (w *writer) bytes(b []byte) {
	w.u32(uint32(len(b)))
	*w = append(*w, b...)
}
func (w *writer) tokens(ts []int32) {
	w.u32(uint32(len(ts)))
	for _, t := range ts {
		w.u32(uint32(t))
	}
}

// reader decodes; the first failure sticks, and every length is checked
// against the bytes left before anything is allocated.
type reader struct {
	b    []byte
	err  error
	what string
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrMessage, r.what, fmt.Sprintf(format, args...))
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

// fixed reads exactly n bytes into a new slice.
func (r *reader) fixed(n int) []byte {
	b := r.take(n)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// bytes reads u32 length ‖ bytes, refusing lengths over max.
func (r *reader) bytes(max int) []byte {
	n := r.u32()
	if r.err == nil && int64(n) > int64(max) {
		r.fail("field of %d bytes, cap %d", n, max)
		return nil
	}
	return r.fixed(int(n))
}

func (r *reader) str(max int) string { return string(r.bytes(max)) }

// tokens reads u32 n ‖ n × i32, with n checked against max and the bytes left.
func (r *reader) tokens(max int) []int32 {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if int64(n) > int64(max) || int64(n)*4 > int64(len(r.b)) {
		r.fail("%d tokens in %d bytes, cap %d", n, len(r.b), max)
		return nil
	}
	ts := make([]int32, n)
	for i := range ts {
		ts[i] = int32(binary.LittleEndian.Uint32(r.b[4*i:]))
	}
	r.b = r.b[4*n:]
	return ts
}

func (r *reader) f32() float32 { return math.Float32frombits(r.u32()) }

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

// pubKey checks a compressed public key.
func (r *reader) pubKey() []byte {
	b := r.fixed(33)
	if r.err == nil {
		if _, err := keys.ParsePublicKey(b); err != nil {
			r.fail("bad public key: %v", err)
		}
	}
	return b
}

func (r *reader) sig() []byte { return r.fixed(keys.SignatureSize) }
