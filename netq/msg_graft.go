package netq

// Graft asks a peer to add the sender to its mesh for a topic: full
// messages will flow both ways.
type Graft struct{ Topic Topic }

// Prune removes the sender from a peer's mesh for a topic; the peer should
// not graft back for Backoff seconds.
type Prune struct {
	Topic   Topic
	Backoff uint16
}

func (m *Graft) Encode() []byte { return []byte{byte(m.Topic)} }

func (m *Prune) Encode() []byte {
	var w wbuf
	w.u8(uint8(m.Topic))
	w.u16(m.Backoff)
	return w
}

// DecodeGraft parses a Graft payload.
func DecodeGraft(b []byte) (*Graft, error) {
	r := &rbuf{b: b}
	m := &Graft{Topic: Topic(r.u8())}
	if err := r.done(); err != nil {
		return nil, err
	}
	if _, ok := TopicCap[m.Topic]; !ok {
		return nil, frameErr("graft on unknown topic %d", m.Topic)
	}
	return m, nil
}

// DecodePrune parses a Prune payload.
func DecodePrune(b []byte) (*Prune, error) {
	r := &rbuf{b: b}
	m := &Prune{Topic: Topic(r.u8()), Backoff: r.u16()}
	if err := r.done(); err != nil {
		return nil, err
	}
	if _, ok := TopicCap[m.Topic]; !ok {
		return nil, frameErr("prune on unknown topic %d", m.Topic)
	}
	return m, nil
}
