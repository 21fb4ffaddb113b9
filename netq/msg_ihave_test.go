package netq

import (
	"errors"
	"testing"
)

func encIHave(m *IHave) []byte { return m.Encode() }
func encIWant(m *IWant) []byte { return m.Encode() }

func TestIHaveIWant(t *testing.T) {
	ids := []MessageID{{1}, {2}, {3}}
	roundTrip(t, &IHave{Topic: TopicResults, IDs: ids}, encIHave, DecodeIHave, false)
	roundTrip(t, &IWant{IDs: ids}, encIWant, DecodeIWant, false)
	roundTrip(t, &IWant{IDs: []MessageID{}}, encIWant, DecodeIWant, false)
	if _, err := DecodeIHave((&IHave{Topic: 77, IDs: ids}).Encode()); !errors.Is(err, ErrFrame) {
		t.Fatal("unknown topic accepted")
	}
	many := &IWant{IDs: make([]MessageID, MaxIHaveIDs+5)}
	if m, err := DecodeIWant(many.Encode()); err != nil || len(m.IDs) != MaxIHaveIDs {
		t.Fatalf("cap on encode: %v", err)
	}
}

func FuzzIHave(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&IHave{Topic: TopicJobs, IDs: []MessageID{{1}}}).Encode()}, DecodeIHave, encIHave)
}

func FuzzIWant(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&IWant{IDs: []MessageID{{1}}}).Encode()}, DecodeIWant, encIWant)
}
