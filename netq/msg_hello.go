package netq

// Services a node offers, announced in Hello and peer exchange.
const (
	ServiceCompute uint64 = 1 << iota // runs jobs
	ServiceVerify                     // answers verification requests
	ServiceStore                      // serves bundle chunks
	ServiceChain                      // serves headers and blocks
)

// Hello opens a control stream, in both directions: what the node offers,
// where it listens, and its status.
type Hello struct {
	Services    uint64
	ListenAddrs []string // at most 8 "host:port", each at most 64 bytes
	Height      uint64   // chain height
	// Session is chosen at random each time the node starts: a second
	// connection from a peer with a new session means the peer restarted
	// and the first connection is dead.
	Session uint64
	// Conn numbers the sender's connections within its session: between
	// two connections one node dialled to the same peer, both sides keep
	// the later.
	Conn  uint64
	Agent string // at most 64 bytes
}

const (
	maxListenAddrs = 8
	maxAddrLen     = 64
	maxAgentLen    = 64
)

// Encode writes the payload: u64 services ‖ u8 n ‖ n × str ‖ u64 height ‖
// u64 session ‖ u64 conn ‖ str agent.
func (m *Hello) Encode() []byte {
	var w wbuf
	w.u64(m.Services)
	n := min(len(m.ListenAddrs), maxListenAddrs)
	w.u8(uint8(n))
	for _, a := range m.ListenAddrs[:n] {
		w.str(truncate(a, maxAddrLen))
	}
	w.u64(m.Height)
	w.u64(m.Session)
	w.u64(m.Conn)
	w.str(truncate(m.Agent, maxAgentLen))
	return w
}

// DecodeHello parses a Hello payload.
func DecodeHello(b []byte) (*Hello, error) {
	r := &rbuf{b: b}
	m := &Hello{Services: r.u64()}
	n := int(r.u8())
	if n > maxListenAddrs {
		return nil, frameErr("hello with %d addresses", n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		m.ListenAddrs = append(m.ListenAddrs, r.str(maxAddrLen))
	}
	m.Height = r.u64()
	m.Session = r.u64()
	m.Conn = r.u64()
	m.Agent = r.str(maxAgentLen)
	return m, r.done()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
