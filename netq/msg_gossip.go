package netq

import (
	"encoding/binary"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// Topic is a gossip topic.
type Topic uint8

const (
	TopicJobs         Topic = 1
	TopicCommitments  Topic = 2
	TopicResults      Topic = 3
	TopicTransactions Topic = 4
	TopicBlocks       Topic = 5
	TopicBundles      Topic = 6 // bundle announcements
)

// Topics lists every topic.
var Topics = []Topic{TopicJobs, TopicCommitments, TopicResults, TopicTransactions, TopicBlocks, TopicBundles}

var topicNames = map[Topic]string{TopicJobs: "jobs", TopicCommitments: "commitments", TopicResults: "results",
	TopicTransactions: "transactions", TopicBlocks: "blocks", TopicBundles: "bundles"}

func (t Topic) String() string {
	if s, ok := topicNames[t]; ok {
		return s
	}
	return fmt.Sprintf("topic(%d)", uint8(t))
}

// MaxGossipPayload bounds any gossip message; TopicCap bounds each topic.
const MaxGossipPayload = 4 << 20

// TopicCap is the largest payload a topic carries.
var TopicCap = map[Topic]int{
	TopicJobs: 256 << 10, TopicCommitments: 16 << 10, TopicResults: 1 << 20,
	TopicTransactions: 64 << 10, TopicBlocks: MaxGossipPayload, TopicBundles: 64 << 10,
}

// MessageID names a gossip message: SHA-256 of its topic and payload, so
// the same message published twice, or received from two peers, is one.
type MessageID = keys.Hash

// IDOf returns the ID of a message.
func IDOf(t Topic, payload []byte) MessageID {
	var hdr [5]byte
	hdr[0] = byte(t)
	binary.LittleEndian.PutUint32(hdr[1:], uint32(len(payload)))
	return keys.SHA256([]byte("netq-gossip"), hdr[:], payload)
}

// Gossip carries one published message.
type Gossip struct {
	Topic   Topic
	Hops    uint8 // relays so far
	Payload []byte
}

// Encode writes u8 topic ‖ u8 hops ‖ payload.
func (m *Gossip) Encode() []byte {
	b := make([]byte, 2, 2+len(m.Payload))
	b[0], b[1] = byte(m.Topic), m.Hops
	return append(b, m.Payload...)
}

// DecodeGossip parses a Gossip payload and checks its topic's cap.
func DecodeGossip(b []byte) (*Gossip, error) {
	if len(b) < 2 {
		return nil, frameErr("gossip of %d bytes", len(b))
	}
	m := &Gossip{Topic: Topic(b[0]), Hops: b[1], Payload: b[2:]}
	cap, ok := TopicCap[m.Topic]
	if !ok {
		return nil, frameErr("gossip on unknown topic %d", b[0])
	}
	if len(m.Payload) > cap {
		return nil, frameErr("%s message of %d bytes, cap %d", m.Topic, len(m.Payload), cap)
	}
	return m, nil
}
