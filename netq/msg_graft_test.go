package netq

import (
	"errors"
	"testing"
)

func encGraft(m *Graft) []byte { return m.Encode() }
func encPrune(m *Prune) []byte { return m.Encode() }

func TestGraftPrune(t *testing.T) {
	roundTrip(t, &Graft{Topic: TopicBundles}, encGraft, DecodeGraft, false)
	roundTrip(t, &Prune{Topic: TopicJobs, Backoff: 60}, encPrune, DecodePrune, false)
	if _, err := DecodeGraft([]byte{0}); !errors.Is(err, ErrFrame) {
		t.Fatal("graft on topic 0 accepted")
	}
	if _, err := DecodePrune([]byte{200, 0, 0}); !errors.Is(err, ErrFrame) {
		t.Fatal("prune on topic 200 accepted")
	}
}

func FuzzGraft(f *testing.F) {
	fuzzDecoder(f, [][]byte{{1}}, DecodeGraft, encGraft)
}

func FuzzPrune(f *testing.F) {
	fuzzDecoder(f, [][]byte{{1, 10, 0}}, DecodePrune, encPrune)
}
