package netq

import (
	"errors"
	"testing"
)

func encGossip(m *Gossip) []byte { return m.Encode() }

func TestGossipMessage(t *testing.T) {
	roundTrip(t, &Gossip{Topic: TopicBlocks, Hops: 3, Payload: []byte("block")}, encGossip, DecodeGossip, true)
	roundTrip(t, &Gossip{Topic: TopicJobs, Payload: []byte{}}, encGossip, DecodeGossip, true)
	if _, err := DecodeGossip([]byte{99, 0, 1}); !errors.Is(err, ErrFrame) {
		t.Fatal("unknown topic accepted")
	}
	over := &Gossip{Topic: TopicCommitments, Payload: make([]byte, TopicCap[TopicCommitments]+1)}
	if _, err := DecodeGossip(over.Encode()); !errors.Is(err, ErrFrame) {
		t.Fatal("payload over its topic's cap accepted")
	}
	if IDOf(TopicJobs, []byte("a")) == IDOf(TopicResults, []byte("a")) {
		t.Fatal("message ID ignores the topic")
	}
}

func FuzzGossip(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Gossip{Topic: TopicJobs, Payload: []byte("x")}).Encode()}, DecodeGossip, encGossip)
}
