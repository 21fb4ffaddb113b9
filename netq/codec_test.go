package netq

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// roundTrip checks that m encodes, decodes back to itself, and that every
// truncation and an extra trailing byte are rejected with ErrFrame (for
// formats that are not open-ended).
func roundTrip[T any](t *testing.T, m T, enc func(T) []byte, dec func([]byte) (T, error), openEnded bool) {
	t.Helper()
	b := enc(m)
	got, err := dec(b)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	if !bytes.Equal(enc(got), b) {
		t.Fatal("re-encoding differs")
	}
	if openEnded {
		return
	}
	for i := 0; i < len(b); i++ {
		if _, err := dec(b[:i]); !errors.Is(err, ErrFrame) {
			t.Fatalf("truncated to %d of %d bytes: %v", i, len(b), err)
		}
	}
	if _, err := dec(append(append([]byte(nil), b...), 0)); !errors.Is(err, ErrFrame) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
}

// fuzzDecoder feeds arbitrary bytes to a decoder: it must not panic, must
// fail only with ErrFrame, and what it accepts must re-encode to bytes that
// decode to the same message.
func fuzzDecoder[T any](f *testing.F, seeds [][]byte, dec func([]byte) (T, error), enc func(T) []byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := dec(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error without ErrFrame: %v", err)
			}
			return
		}
		again, err := dec(enc(m))
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding changed the message:\n%+v\n%+v", m, again)
		}
	})
}
