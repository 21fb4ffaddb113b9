package netq

import "testing"

func encHello(m *Hello) []byte { return m.Encode() }

func TestHello(t *testing.T) {
	roundTrip(t, &Hello{Services: ServiceCompute | ServiceStore, ListenAddrs: []string{"127.0.0.1:4000", "[::1]:4000"},
		Height: 42, Session: 0x0123456789abcdef, Conn: 7, Agent: "dnahost/0.1"}, encHello, DecodeHello, false)
	roundTrip(t, &Hello{}, encHello, DecodeHello, false)
	// Over-long fields are cut on encode, refused on decode.
	long := &Hello{ListenAddrs: make([]string, maxListenAddrs+3), Agent: string(make([]byte, 500))}
	m, err := DecodeHello(long.Encode())
	if err != nil || len(m.ListenAddrs) != maxListenAddrs || len(m.Agent) != maxAgentLen {
		t.Fatalf("%v %v", m, err)
	}
	b := (&Hello{Agent: "x"}).Encode()
	b[len(b)-3] = 0xff // agent length 0xff01
	if _, err := DecodeHello(b); err == nil {
		t.Fatal("long agent accepted")
	}
}

func FuzzHello(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Hello{ListenAddrs: []string{"1.2.3.4:5"}, Agent: "a"}).Encode()}, DecodeHello, encHello)
}
