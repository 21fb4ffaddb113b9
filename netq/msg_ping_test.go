package netq

import (
	"errors"
	"testing"
)

func TestPing(t *testing.T) {
	for _, b := range [][]byte{(&Ping{Nonce: 77}).Encode(), (&Pong{Nonce: 77}).Encode()} {
		if n, err := DecodePing(b); err != nil || n != 77 {
			t.Fatal(n, err)
		}
		for i := range b {
			if _, err := DecodePing(b[:i]); !errors.Is(err, ErrFrame) {
				t.Fatal("truncated ping accepted")
			}
		}
	}
}

func FuzzPing(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Ping{Nonce: 1}).Encode()}, DecodePing, func(n uint64) []byte { return (&Ping{Nonce: n}).Encode() })
}
