package netq

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/dnahost/dnahost/merkle"
)

func encGetLeaves(m *GetLeaves) []byte { return m.Encode() }
func encLeaves(m *Leaves) []byte       { return m.Encode() }

func TestLeavesMessages(t *testing.T) {
	roundTrip(t, &GetLeaves{Root: merkle.Hash{9}}, encGetLeaves, DecodeGetLeaves, false)
	roundTrip(t, &Leaves{Hashes: []merkle.Hash{{1}, {2}}}, encLeaves, DecodeLeaves, false)
	// A count larger than the bytes present is refused before allocating.
	b := make([]byte, 4+32)
	binary.LittleEndian.PutUint32(b, MaxLeaves)
	if _, err := DecodeLeaves(b); !errors.Is(err, ErrFrame) {
		t.Fatal("inflated count accepted")
	}
	if _, err := DecodeLeaves((&Leaves{}).Encode()); !errors.Is(err, ErrFrame) {
		t.Fatal("an object without leaves accepted")
	}
}

func FuzzGetLeaves(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&GetLeaves{}).Encode()}, DecodeGetLeaves, encGetLeaves)
}

func FuzzLeaves(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Leaves{Hashes: []merkle.Hash{{1}}}).Encode()}, DecodeLeaves, encLeaves)
}
