package netq_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/netq/netqtest"
)

func TestTwoNodes(t *testing.T) {
	c := netqtest.Start(t, 2, nil)
	c.WaitConnected(t, 1, 10*time.Second)
	a, b := c.Nodes[0], c.Nodes[1]
	got := make(chan []byte, 1)
	b.Subscribe(netq.TopicJobs, nil, func(from netq.PeerID, payload []byte) {
		if from != a.ID() {
			t.Errorf("from %s", from)
		}
		got <- payload
	})
	if err := a.Publish(netq.TopicJobs, []byte("hello job")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p) != "hello job" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("gossip not delivered")
	}
	b.Handle(netq.KindGetChunk, func(_ context.Context, from netq.PeerID, p []byte) (netq.Status, []byte) {
		return netq.StatusOK, append([]byte("echo:"), p...)
	})
	resp, err := a.Request(context.Background(), b.ID(), netq.KindGetChunk, []byte("x"))
	if err != nil || string(resp) != "echo:x" {
		t.Fatalf("request: %q %v", resp, err)
	}
	if _, err := a.Request(context.Background(), b.ID(), netq.KindGetBlocks, nil); err == nil {
		t.Fatal("a kind without a handler answered")
	}
	rtt, err := a.Ping(context.Background(), b.ID())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("request round trip %v", rtt)
}

// Inbound and per-IP limits hold; a node that closes says goodbye, so its
// peers drop it at once rather than at the idle timeout.
func TestConnectionLimitsAndShutdown(t *testing.T) {
	c := netqtest.Start(t, 5, func(i int, cfg *netq.Config) {
		cfg.Seeds = nil
		if i == 0 {
			cfg.MaxInbound = 2
		}
	})
	hub := c.Nodes[0]
	ctx := context.Background()
	admitted := 0
	for _, n := range c.Nodes[1:] {
		if _, err := n.Connect(ctx, hub.Addr().String(), hub.ID()); err == nil {
			admitted++
		}
	}
	time.Sleep(200 * time.Millisecond)
	if admitted > 2 || len(hub.Peers()) != 2 {
		t.Fatalf("MaxInbound 2: %d dials succeeded, hub has %d peers", admitted, len(hub.Peers()))
	}

	perIP := netqtest.Start(t, 3, func(i int, cfg *netq.Config) {
		cfg.Seeds = nil
		cfg.MaxPerIP = 1
	})
	if _, err := perIP.Nodes[1].Connect(ctx, perIP.Nodes[0].Addr().String(), perIP.Nodes[0].ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := perIP.Nodes[2].Connect(ctx, perIP.Nodes[0].Addr().String(), perIP.Nodes[0].ID()); err == nil {
		time.Sleep(200 * time.Millisecond)
		if len(perIP.Nodes[0].Peers()) > 1 {
			t.Fatal("a second connection from 127.0.0.1 was admitted with MaxPerIP 1")
		}
	}
	// Dialling an address that proves another identity fails.
	if _, err := perIP.Nodes[1].Connect(ctx, hub.Addr().String(), perIP.Nodes[2].ID()); err == nil {
		t.Fatal("connected to the wrong peer ID")
	}

	peer := perIP.Nodes[1]
	start := time.Now()
	peer.Close()
	for len(perIP.Nodes[0].Peers()) > 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the closed node's peer still listed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("peer gone %v after Close", time.Since(start))
}

// Nodes seeded only with one hub find each other by peer exchange; a node
// restarted without seeds finds the network again from its address book.
func TestDiscovery(t *testing.T) {
	hub := netqtest.Start(t, 1, func(int, *netq.Config) {}).Nodes[0]
	book := filepath.Join(t.TempDir(), "peers.json")
	const N = 6
	c := netqtest.Start(t, N, func(i int, cfg *netq.Config) {
		cfg.Seeds = []string{hub.Addr().String()}
		if i == 0 {
			cfg.AddressBook = book
		}
	})
	// Everyone learns of everyone and connects beyond the hub.
	deadline := time.Now().Add(20 * time.Second)
	for {
		worst := N
		for _, n := range c.Nodes {
			worst = min(worst, len(n.Peers()))
		}
		if worst >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s some node has %d peers", worst)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c.Nodes[0].AddressBook().Len() < N-1 {
		t.Fatalf("node 0 knows %d peers", c.Nodes[0].AddressBook().Len())
	}
	key := c.Keys[0]
	c.Nodes[0].Close()
	hub.Close()

	// Restarted with its book and no seeds (the hub is gone too).
	n, err := netq.New(netq.Config{Key: key, ListenAddr: "127.0.0.1:0", MaxPerIP: -1, AddressBook: book})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	deadline = time.Now().Add(20 * time.Second)
	for len(n.Peers()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a restarted node did not reconnect from its address book")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("restarted node reconnected to %d peers from its book", len(n.Peers()))
}

// A peer's reported height follows what it has shown since its Hello, and
// never goes down.
func TestSetPeerHeight(t *testing.T) {
	c := netqtest.Start(t, 2, func(i int, cfg *netq.Config) {
		h := uint64(10 * (i + 1))
		cfg.Height = func() uint64 { return h }
	})
	c.WaitConnected(t, 1, 10*time.Second)
	a, b := c.Nodes[0], c.Nodes[1]
	height := func() uint64 { return a.Peers()[0].Height }
	if got := height(); got != 20 {
		t.Fatalf("height from Hello %d, want 20", got)
	}
	a.SetPeerHeight(b.ID(), 35)
	a.SetPeerHeight(b.ID(), 30)
	if got := height(); got != 35 {
		t.Fatalf("height %d, want 35", got)
	}
	a.SetPeerHeight(netq.PeerID{1}, 99) // not connected: nothing happens
}
