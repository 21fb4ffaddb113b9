package netq_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/netq/netqtest"
)

// crash stops a node as a killed process would: nothing it sends on the
// way out (Goodbye, QUIC's close) reaches its peers.
func crash(n *netq.Node, peers ...*netq.Node) {
	for _, p := range peers {
		n.Faults().Block(p.Addr())
	}
	n.Close()
}

// A peer that crashed and came back with the same identity is admitted at
// once (its new session replaces the dead connection) rather than refused
// as a duplicate until the dead one times out.
func TestRestartedPeerReplacesDeadConnection(t *testing.T) {
	c := netqtest.Start(t, 2, func(i int, cfg *netq.Config) {
		cfg.Seeds = nil
		cfg.IdleTimeout = time.Minute // far beyond the test: only replacement can clear the dead connection
	})
	a, b := c.Nodes[0], c.Nodes[1]
	ctx := context.Background()
	if _, err := b.Connect(ctx, a.Addr().String(), a.ID()); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, a, 1)
	scoreBefore := a.Score(b.ID())
	a.Penalize(b.ID(), -3, "test")
	crash(b, a)

	b2 := netqtest.StartNode(t, netq.Config{Key: c.Keys[1], ListenAddr: "127.0.0.1:0", MaxPerIP: -1})
	start := time.Now()
	if _, err := b2.Connect(ctx, a.Addr().String(), a.ID()); err != nil {
		t.Fatalf("restarted peer refused: %v", err)
	}
	ps := waitPeers(t, a, 1)
	if ps[0].ID != b.ID() || ps[0].Addr != b2.Addr().String() {
		t.Fatalf("a's peer is %s at %s, want %s at %s", ps[0].ID, ps[0].Addr, b.ID(), b2.Addr())
	}
	if _, err := a.Ping(ctx, b2.ID()); err != nil {
		t.Fatalf("ping over the new connection: %v", err)
	}
	t.Logf("restarted peer admitted and answering %v after its restart", time.Since(start))
	// The replacement keeps the peer's score: a restart sheds no penalty.
	if got := a.Score(b.ID()); got >= scoreBefore-2 {
		t.Fatalf("score after replacement %v, want the penalty kept (before %v)", got, scoreBefore)
	}
	// The replaced connection's end does not mark the peer disconnected.
	time.Sleep(200 * time.Millisecond)
	if len(a.Peers()) != 1 {
		t.Fatalf("a has %d peers after the old connection closed", len(a.Peers()))
	}
}

// A node that crashed and came back on the same address resets its peers'
// dead connections (the stateless reset key follows the identity), so they
// notice within a keep-alive period although the new node never dials them.
func TestRestartOnSameAddressResetsDeadConnections(t *testing.T) {
	c := netqtest.Start(t, 2, func(i int, cfg *netq.Config) {
		cfg.Seeds = nil
		cfg.IdleTimeout = time.Minute
		cfg.KeepAlive = 200 * time.Millisecond
	})
	a, b := c.Nodes[0], c.Nodes[1]
	if _, err := b.Connect(context.Background(), a.Addr().String(), a.ID()); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, a, 1)
	addr := b.Addr().String()
	crash(b, a)
	start := time.Now()
	netqtest.StartNode(t, netq.Config{Key: c.Keys[1], ListenAddr: addr, MaxPerIP: -1})
	for len(a.Peers()) > 0 {
		if time.Since(start) > 15*time.Second {
			t.Fatal("the dead connection was not reset")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("dead connection reset %v after the restart", time.Since(start))
}

// Two nodes that dial each other at the same moment end with one
// connection, the same one on both sides.
func TestSimultaneousDial(t *testing.T) {
	for round := 0; round < 8; round++ {
		c := netqtest.Start(t, 2, func(i int, cfg *netq.Config) { cfg.Seeds = nil })
		a, b := c.Nodes[0], c.Nodes[1]
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a.Connect(context.Background(), b.Addr().String(), b.ID()) }()
		go func() { defer wg.Done(); b.Connect(context.Background(), a.Addr().String(), a.ID()) }()
		wg.Wait()
		time.Sleep(100 * time.Millisecond)
		pa, pb := waitPeers(t, a, 1), waitPeers(t, b, 1)
		if pa[0].Outbound == pb[0].Outbound {
			t.Fatalf("round %d: both sides kept different connections (outbound %v and %v)", round, pa[0].Outbound, pb[0].Outbound)
		}
		if _, err := a.Ping(context.Background(), b.ID()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := b.Ping(context.Background(), a.ID()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		c.Close()
	}
}

// waitPeers waits until n has exactly want peers and returns them.
func waitPeers(t *testing.T, n *netq.Node, want int) []netq.PeerStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps := n.Peers()
		if len(ps) == want {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d peers, want %d", len(ps), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A node that dials a peer again (it gave the first connection up, or
// found it under another address) ends with one connection, the later, on
// both sides.
func TestRedialKeepsOneConnection(t *testing.T) {
	c := netqtest.Start(t, 2, func(i int, cfg *netq.Config) { cfg.Seeds = nil })
	a, b := c.Nodes[0], c.Nodes[1]
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if _, err := a.Connect(ctx, b.Addr().String(), netq.PeerID{}); err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		time.Sleep(100 * time.Millisecond)
		pa, pb := waitPeers(t, a, 1), waitPeers(t, b, 1)
		if !pa[0].Outbound || pb[0].Outbound {
			t.Fatalf("dial %d: a outbound %v, b outbound %v", i, pa[0].Outbound, pb[0].Outbound)
		}
		if _, err := b.Ping(ctx, a.ID()); err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	// Dialling a connected peer by its ID does nothing.
	before := a.Peers()[0].BytesSent
	if _, err := a.Connect(ctx, b.Addr().String(), b.ID()); err != nil {
		t.Fatal(err)
	}
	if after := a.Peers()[0].BytesSent; after < before {
		t.Fatalf("a connected peer was dialled again (bytes sent %d, then %d)", before, after)
	}
}
