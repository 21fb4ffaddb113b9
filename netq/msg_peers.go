package netq

// PeerInfo is one entry of a peer exchange.
type PeerInfo struct {
	ID       PeerID
	Addrs    []string // at most 4
	Services uint64
	LastSeen int64 // unix seconds
}

// Peers answers GetPeers, and is also sent unasked after a handshake.
type Peers struct {
	Entries []PeerInfo // at most MaxPeersPerMessage
}

// MaxPeersPerMessage bounds a peer exchange.
const MaxPeersPerMessage = 128

const maxPeerAddrs = 4

// Encode writes u16 n ‖ n × (id[32] ‖ u8 a ‖ a × str ‖ u64 services ‖ u64 last seen).
func (m *Peers) Encode() []byte {
	var w wbuf
	n := min(len(m.Entries), MaxPeersPerMessage)
	w.u16(uint16(n))
	for _, e := range m.Entries[:n] {
		w.hash(e.ID)
		k := min(len(e.Addrs), maxPeerAddrs)
		w.u8(uint8(k))
		for _, a := range e.Addrs[:k] {
			w.str(truncate(a, maxAddrLen))
		}
		w.u64(e.Services)
		w.u64(uint64(e.LastSeen))
	}
	return w
}

// DecodePeers parses a Peers payload.
func DecodePeers(b []byte) (*Peers, error) {
	r := &rbuf{b: b}
	n := int(r.u16())
	if n > MaxPeersPerMessage {
		return nil, frameErr("peers with %d entries", n)
	}
	m := &Peers{}
	for i := 0; i < n && r.err == nil; i++ {
		e := PeerInfo{ID: r.hash()}
		k := int(r.u8())
		if k > maxPeerAddrs {
			return nil, frameErr("peer with %d addresses", k)
		}
		for j := 0; j < k && r.err == nil; j++ {
			e.Addrs = append(e.Addrs, r.str(maxAddrLen))
		}
		e.Services = r.u64()
		e.LastSeen = int64(r.u64())
		m.Entries = append(m.Entries, e)
	}
	return m, r.done()
}
