package node_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/runtime"
)

// warmCache compiles a bundle once into a cache directory the cluster's
// nodes share, as nodes on one machine do.
func warmCache(t *testing.T, b *bundle.Bundle) string {
	dir := t.TempDir()
	rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	md, err := rt.Load(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	md.Close(context.Background())
	rt.Close(context.Background())
	return dir
}

func startCluster(t *testing.T, cache string, behaviors ...string) []*node.Node {
	t.Helper()
	var nodes []*node.Node
	var seeds []string
	for i, b := range behaviors {
		dir := t.TempDir()
		if _, _, err := node.Init(dir); err != nil {
			t.Fatal(err)
		}
		var log *slog.Logger
		if os.Getenv("DNA_NODE_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
		}
		n, err := node.New(node.Config{DataDir: dir, Listen: "127.0.0.1:0", Seeds: seeds, Compute: true, Mine: true,
			MineInterval: 400 * time.Millisecond, MinerThreads: 1, Threads: 1, Behavior: b, CacheDir: cache,
			Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
		seeds = append(seeds, n.Net().Addr().String())
	}
	return nodes
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestJobEndToEnd(t *testing.T) {
	b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	nodes := startCluster(t, warmCache(t, b), "", "", "")
	if _, err := nodes[0].PublishBundle(b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "funds", func() bool {
		for _, n := range nodes {
			a, err := n.Chain().Account(n.Account())
			if err != nil || a.Balance < chain.Coin {
				return false
			}
		}
		return true
	})
	rec, err := nodes[0].Submit(context.Background(), node.SubmitRequest{Bundle: b.ID(), Prompt: "hello", MaxTokens: 12, Replication: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for i, n := range nodes {
			r, _ := n.Job(rec.ID)
			if r == nil {
				t.Logf("node %d: no record", i)
				continue
			}
			for _, e := range r.History {
				t.Logf("node %d %s %-10s %s", i, e.Time.Format("15:04:05.000"), e.Stage, e.What)
			}
		}
	}()
	waitFor(t, 60*time.Second, "settlement", func() bool {
		r, err := nodes[0].Job(rec.ID)
		return err == nil && r.Stage.Final()
	})
	r, _ := nodes[0].Job(rec.ID)
	if r.Stage != node.StageSettled {
		t.Fatalf("stage %s", r.Stage)
	}
}
