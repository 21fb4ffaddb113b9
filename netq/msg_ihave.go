package netq

// MaxIHaveIDs bounds the IDs in one IHave or IWant.
const MaxIHaveIDs = 2048

// IHave advertises recent messages of a topic (lazy push): a peer that
// lacks one asks for it with IWant.
type IHave struct {
	Topic Topic
	IDs   []MessageID
}

// IWant asks for messages by ID.
type IWant struct {
	IDs []MessageID
}

// Encode writes u8 topic ‖ u16 n ‖ n × id[32].
func (m *IHave) Encode() []byte {
	var w wbuf
	w.u8(uint8(m.Topic))
	encodeIDs(&w, m.IDs)
	return w
}

// Encode writes u16 n ‖ n × id[32].
func (m *IWant) Encode() []byte {
	var w wbuf
	encodeIDs(&w, m.IDs)
	return w
}

func encodeIDs(w *wbuf, ids []MessageID) {
	n := min(len(ids), MaxIHaveIDs)
	w.u16(uint16(n))
	for _, id := range ids[:n] {
		w.hash(id)
	}
}

func decodeIDs(r *rbuf) []MessageID {
	n := int(r.u16())
	if n > MaxIHaveIDs || n*32 > len(r.b) {
		if r.err == nil {
			r.err = frameErr("%d message IDs", n)
		}
		return nil
	}
	ids := make([]MessageID, n)
	for i := range ids {
		ids[i] = r.hash()
	}
	return ids
}

// DecodeIHave parses an IHave payload.
func DecodeIHave(b []byte) (*IHave, error) {
	r := &rbuf{b: b}
	m := &IHave{Topic: Topic(r.u8())}
	m.IDs = decodeIDs(r)
	if _, ok := TopicCap[m.Topic]; !ok && r.err == nil {
		return nil, frameErr("ihave on unknown topic %d", m.Topic)
	}
	return m, r.done()
}

// DecodeIWant parses an IWant payload.
func DecodeIWant(b []byte) (*IWant, error) {
	r := &rbuf{b: b}
	m := &IWant{IDs: decodeIDs(r)}
	return m, r.done()
}
