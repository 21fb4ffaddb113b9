package netq

// Goodbye announces a graceful disconnect and why.
type Goodbye struct{ Reason string }

func (m *Goodbye) Encode() []byte {
	var w wbuf
	w.str(truncate(m.Reason, 200))
	return w
}

// DecodeGoodbye parses a Goodbye payload.
func DecodeGoodbye(b []byte) (*Goodbye, error) {
	r := &rbuf{b: b}
	m := &Goodbye{Reason: r.str(200)}
	return m, r.done()
}
