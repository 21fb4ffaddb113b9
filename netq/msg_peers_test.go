package netq

import "testing"

func encPeers(m *Peers) []byte { return m.Encode() }

func TestPeers(t *testing.T) {
	roundTrip(t, &Peers{Entries: []PeerInfo{
		{ID: PeerID{1}, Addrs: []string{"10.0.0.1:9000"}, Services: ServiceCompute, LastSeen: 1_700_000_000},
		{ID: PeerID{2}, Services: ServiceChain},
	}}, encPeers, DecodePeers, false)
	roundTrip(t, &Peers{}, encPeers, DecodePeers, false)
	many := &Peers{Entries: make([]PeerInfo, MaxPeersPerMessage+10)}
	if m, err := DecodePeers(many.Encode()); err != nil || len(m.Entries) != MaxPeersPerMessage {
		t.Fatalf("cap on encode: %v", err)
	}
	b := (&Peers{}).Encode()
	b[0], b[1] = 0xff, 0xff
	if _, err := DecodePeers(b); err == nil {
		t.Fatal("65535 entries claimed in 2 bytes accepted")
	}
}

func FuzzPeers(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Peers{Entries: []PeerInfo{{Addrs: []string{"1.2.3.4:5"}}}}).Encode()}, DecodePeers, encPeers)
}
