package netqtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
)

// Cluster is N running nodes.
type Cluster struct {
	Nodes []*netq.Node
	Keys  []*keys.PrivateKey // node i's identity
}

var clusters atomic.Uint64 // distinct keys for every cluster in a process

// Key is the deterministic key of node i (distinct clusters use distinct
// names).
func Key(name string, i int) *keys.PrivateKey {
	for j := 0; ; j++ {
		seed := sha256.Sum256([]byte(fmt.Sprintf("netqtest %s %d %d", name, i, j)))
		if k, err := keys.ParsePrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

// Start runs n nodes on 127.0.0.1. Node 0 starts first; every other node
// is seeded with up to three earlier nodes. configure, if not nil, adjusts
// each node's config (Key, ListenAddr and Seeds are set already; per-IP
// limits are lifted since every node shares the address).
func Start(tb testing.TB, n int, configure func(i int, c *netq.Config)) *Cluster {
	tb.Helper()
	c := &Cluster{}
	tb.Cleanup(c.Close)
	name := fmt.Sprintf("%s#%d", tb.Name(), clusters.Add(1))
	for i := 0; i < n; i++ {
		cfg := netq.Config{Key: Key(name, i), ListenAddr: "127.0.0.1:0", MaxPerIP: -1,
			Faults: netq.NewFaults(uint64(i) + 1), Agent: fmt.Sprintf("node%d", i)}
		for j := max(0, i-3); j < i; j++ {
			cfg.Seeds = append(cfg.Seeds, c.Nodes[j].Addr().String())
		}
		if configure != nil {
			configure(i, &cfg)
		}
		nd := StartNode(tb, cfg)
		c.Nodes = append(c.Nodes, nd)
		c.Keys = append(c.Keys, cfg.Key)
	}
	return c
}

// StartNode makes and starts one node; the test's cleanup closes it
// (closing twice is harmless).
func StartNode(tb testing.TB, cfg netq.Config) *netq.Node {
	tb.Helper()
	nd, err := netq.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := nd.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nd.Close() })
	return nd
}

// WaitConnected waits until every node has at least min peers.
func (c *Cluster) WaitConnected(tb testing.TB, min int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		worst := 1 << 30
		for _, n := range c.Nodes {
			worst = minInt(worst, len(n.Peers()))
		}
		if worst >= min {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v some node has only %d peers (want %d)", timeout, worst, min)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitMesh waits until every node's mesh for topic t has at least min
// peers.
func (c *Cluster) WaitMesh(tb testing.TB, t netq.Topic, min int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		worst := 1 << 30
		for _, n := range c.Nodes {
			worst = minInt(worst, len(n.Mesh(t)))
		}
		if worst >= min {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v some node's %s mesh has %d peers (want %d)", timeout, t, worst, min)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// Addrs are the nodes' addresses, in order.
func (c *Cluster) Addrs(idx ...int) []net.Addr {
	var out []net.Addr
	for _, i := range idx {
		out = append(out, c.Nodes[i].Addr())
	}
	return out
}

// Partition splits the nodes into two groups that cannot exchange packets.
func (c *Cluster) Partition(a, b []int) {
	for _, i := range a {
		c.Nodes[i].Faults().Block(c.Addrs(b...)...)
	}
	for _, i := range b {
		c.Nodes[i].Faults().Block(c.Addrs(a...)...)
	}
}

// Heal removes every partition.
func (c *Cluster) Heal() {
	for _, n := range c.Nodes {
		n.Faults().Heal()
	}
}

// SetLoss sets every node's packet loss.
func (c *Cluster) SetLoss(p float64) {
	for _, n := range c.Nodes {
		n.Faults().SetLoss(p)
	}
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.Close()
	}
	c.Nodes = nil
}
