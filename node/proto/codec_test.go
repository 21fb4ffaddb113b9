package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

// Shared helpers of the message tests, and tests of the reader itself.

// testKey is a deterministic private key for test node i (i > 0).
func testKey(t testing.TB, i byte) *keys.PrivateKey {
	t.Helper()
	b := make([]byte, keys.PrivateKeySize)
	b[0], b[31] = 0x5a, i
	k, err := keys.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// badKeys are 33-byte strings that are not compressed public keys: an
// uncompressed prefix, a bad prefix, x ≥ p, x off the curve, and zeros.
func badKeys(t testing.TB) map[string][]byte {
	t.Helper()
	uncompressed := append([]byte{0x04}, bytes.Repeat([]byte{1}, 32)...)
	prefix := append([]byte{0x05}, testKey(t, 1).Public().Bytes()[1:]...)
	overflow := append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)
	offCurve := make([]byte, 33)
	offCurve[0] = 0x02
	// Find an x with no point: x³+7 must not be a square mod p.
	for x := byte(1); ; x++ {
		offCurve[32] = x
		if _, err := keys.ParsePublicKey(offCurve); err != nil {
			break
		}
	}
	m := map[string][]byte{"uncompressed prefix": uncompressed, "prefix 5": prefix,
		"x over p": overflow, "x off the curve": offCurve, "zeros": make([]byte, 33)}
	for name, b := range m {
		if _, err := keys.ParsePublicKey(b); err == nil {
			t.Fatalf("bad key %q parses", name)
		}
	}
	return m
}

// mustMessageErr fails unless err wraps ErrMessage.
func mustMessageErr(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf(format+": accepted", args...)
	}
	if !errors.Is(err, ErrMessage) {
		t.Fatalf(format+": %v does not wrap ErrMessage", append(args, err)...)
	}
}

// checkTruncated decodes every proper prefix of b (each must fail with
// ErrMessage) and b with trailing bytes (which must fail too).
func checkTruncated(t *testing.T, b []byte, decode func([]byte) error) {
	t.Helper()
	if err := decode(b); err != nil {
		t.Fatalf("the full message does not decode: %v", err)
	}
	for n := range len(b) {
		mustMessageErr(t, decode(b[:n:n]), "%d of %d bytes", n, len(b))
	}
	for _, tail := range [][]byte{{0}, {1}, {0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 100)} {
		long := append(append([]byte(nil), b...), tail...)
		err := decode(long)
		mustMessageErr(t, err, "%d trailing bytes", len(tail))
	}
	if err := decode(nil); !errors.Is(err, ErrMessage) {
		t.Fatalf("nil input: %v", err)
	}
}

// diffOffset is the one offset where a and b differ.
func diffOffset(t testing.TB, a, b []byte) int {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	at := -1
	for i := range a {
		if a[i] != b[i] {
			if at >= 0 {
				t.Fatalf("differ at %d and %d", at, i)
			}
			at = i
		}
	}
	if at < 0 {
		t.Fatal("no difference")
	}
	return at
}

// checkFlag sets the byte at off (a bool) to values over 1: each must fail.
func checkFlag(t *testing.T, b []byte, off int, name string, decode func([]byte) error) {
	t.Helper()
	if b[off] > 1 {
		t.Fatalf("%s: byte %d is %d, not a flag", name, off, b[off])
	}
	for _, v := range []byte{2, 3, 0x80, 0xff} {
		bad := bytes.Clone(b)
		bad[off] = v
		mustMessageErr(t, decode(bad), "%s flag %d", name, v)
	}
}

// checkBadKey replaces the key pub, found in b, with each bad key.
func checkBadKey(t *testing.T, b, pub []byte, name string, decode func([]byte) error) {
	t.Helper()
	off := bytes.Index(b, pub)
	if off < 0 || len(pub) != keys.PublicKeySize {
		t.Fatalf("%s: key not in the message", name)
	}
	for what, k := range badKeys(t) {
		bad := bytes.Clone(b)
		copy(bad[off:], k)
		err := decode(bad)
		mustMessageErr(t, err, "%s: %s", name, what)
		if !strings.Contains(err.Error(), "public key") {
			t.Fatalf("%s: %s: %v is not about the key", name, what, err)
		}
	}
}

// setU32 overwrites a little-endian u32 at off.
func setU32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

// checkSame fails unless got and want are deeply equal.
func checkSame(t testing.TB, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

// allocated is the bytes f allocates (the least of a few runs, so that a
// collection or a stray goroutine does not count).
func allocated(f func()) uint64 {
	least := uint64(1 << 63)
	var before, after runtime.MemStats
	for range 5 {
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// checkSmallAlloc decodes small inputs that claim large lengths or counts:
// each must fail without allocating more than a few KiB.
func checkSmallAlloc(t *testing.T, inputs map[string][]byte, decode func([]byte) error) {
	t.Helper()
	for name, in := range inputs {
		if len(in) > 512 {
			t.Fatalf("%s: %d bytes is not a small input", name, len(in))
		}
		var err error
		n := allocated(func() { err = decode(in) })
		mustMessageErr(t, err, "%s", name)
		if n > 8<<10 {
			t.Errorf("%s: %d bytes of input allocated %d bytes", name, len(in), n)
		}
	}
}

// u32s is a little-endian u32 ‖ the given bytes.
func u32s(n uint32, rest ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, n)
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

// fuzzSeeds adds each valid encoding, and the empty input.
func fuzzSeeds(f *testing.F, encs ...[]byte) {
	for _, b := range encs {
		f.Add(b)
	}
	f.Add([]byte{})
}

func TestReader(t *testing.T) {
	var w writer
	w.u8(7)
	w.u32(0xdeadbeef)
	w.u64(1 << 60)
	w.hash(keys.SHA256([]byte("h")))
	w.bytes([]byte("abc"))
	w.tokens([]int32{-1, 0, 1 << 30})
	r := &reader{b: w, what: "test"}
	if r.u8() != 7 || r.u32() != 0xdeadbeef || r.u64() != 1<<60 || r.hash() != keys.SHA256([]byte("h")) ||
		r.str(3) != "abc" || !reflect.DeepEqual(r.tokens(3), []int32{-1, 0, 1 << 30}) || r.done() != nil {
		t.Fatal("round trip")
	}

	// The first failure sticks: later reads return zeros and do not move.
	r = &reader{b: []byte{1, 2, 3}, what: "test"}
	if r.u32() != 0 || r.err == nil || r.u8() != 0 || len(r.b) != 3 {
		t.Fatal("short u32")
	}
	first := r.err
	r.fail("later")
	if r.done() != first || !errors.Is(first, ErrMessage) || !strings.Contains(first.Error(), "test:") {
		t.Fatalf("error %v", r.done())
	}

	// Caps and the bytes present are checked before a length is used.
	for name, c := range map[string]struct {
		in   []byte
		read func(r *reader)
	}{
		"bytes over cap":       {u32s(4, []byte("abcd")), func(r *reader) { r.bytes(3) }},
		"bytes over input":     {u32s(5, []byte("abcd")), func(r *reader) { r.bytes(10) }},
		"bytes 4 GiB":          {u32s(0xffffffff), func(r *reader) { r.bytes(1 << 40) }},
		"tokens over cap":      {u32s(2, make([]byte, 8)), func(r *reader) { r.tokens(1) }},
		"tokens over input":    {u32s(2, make([]byte, 7)), func(r *reader) { r.tokens(10) }},
		"tokens 4 G":           {u32s(0xffffffff), func(r *reader) { r.tokens(1 << 40) }},
		"negative take":        {nil, func(r *reader) { r.take(-1) }},
		"trailing":             {[]byte{1, 2}, func(r *reader) { r.u8() }},
		"short key":            {make([]byte, 32), func(r *reader) { r.pubKey() }},
		"short signature":      {make([]byte, 63), func(r *reader) { r.sig() }},
		"short hash":           {make([]byte, 31), func(r *reader) { r.hash() }},
		"invalid key":          {make([]byte, 33), func(r *reader) { r.pubKey() }},
		"short u64":            {make([]byte, 7), func(r *reader) { r.u64() }},
		"empty u8":             {nil, func(r *reader) { r.u8() }},
		"bytes length cut off": {[]byte{1, 0, 0}, func(r *reader) { r.bytes(10) }},
	} {
		r := &reader{b: c.in, what: name}
		c.read(r)
		mustMessageErr(t, r.done(), "%s", name)
	}

	// Zero-length fields decode to nil, so that decoded values compare
	// equal to ones built without them.
	r = &reader{b: u32s(0, u32s(0)), what: "empty"}
	if b := r.bytes(10); b != nil {
		t.Fatalf("empty bytes %#v", b)
	}
	if ts := r.tokens(10); len(ts) != 0 || r.done() != nil {
		t.Fatal("empty tokens")
	}
}
