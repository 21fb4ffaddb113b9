package netq

// Ping asks for a Pong with the same nonce (round-trip measurement).
type Ping struct{ Nonce uint64 }

// Pong answers a Ping.
type Pong struct{ Nonce uint64 }

func (m *Ping) Encode() []byte { var w wbuf; w.u64(m.Nonce); return w }
func (m *Pong) Encode() []byte { var w wbuf; w.u64(m.Nonce); return w }

// DecodePing parses a Ping (or Pong) payload.
func DecodePing(b []byte) (uint64, error) {
	r := &rbuf{b: b}
	n := r.u64()
	return n, r.done()
}
