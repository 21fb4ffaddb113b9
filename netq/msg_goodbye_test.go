package netq

import "testing"

func encGoodbye(m *Goodbye) []byte { return m.Encode() }

func TestGoodbye(t *testing.T) {
	roundTrip(t, &Goodbye{Reason: "shutting down"}, encGoodbye, DecodeGoodbye, false)
	if m, err := DecodeGoodbye((&Goodbye{Reason: string(make([]byte, 1000))}).Encode()); err != nil || len(m.Reason) != 200 {
		t.Fatalf("long reason: %v", err)
	}
}

func FuzzGoodbye(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Goodbye{Reason: "bye"}).Encode()}, DecodeGoodbye, encGoodbye)
}
