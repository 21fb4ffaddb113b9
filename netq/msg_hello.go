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
	Agent       string   // at most 64 bytes
}

const (
	maxListenAddrs = 8
	maxAddrLen     = 64
	maxAgentLen    = 64
)

// Encode writes the payload: u64 services ‖ u8 n ‖ n × str ‖ u64 height ‖ str agent.
func (m *Hello) Encode() []byte {
	var w wbuf
	w.u64(m.Services)
	n := min(len(m.ListenAddrs), maxListenAddrs)
	w.u8(uint8(n))
	for _, a := range m.ListenAddrs[:n] {
		w.str(truncate(a, maxAddrLen))
	}
	w.u64(m.Height)
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
	m.Agent = r.str(maxAgentLen)
	return m, r.done()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
