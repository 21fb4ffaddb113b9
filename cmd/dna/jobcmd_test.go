package main

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/api"
	"github.com/dnahost/dnahost/runtime"
)

// startNodes starts an in-process devnet of n computing, mining nodes
// sharing a compilation cache warmed with b.
func startNodes(t *testing.T, n int, b *bundle.Bundle) []*node.Node {
	t.Helper()
	cache := t.TempDir()
	rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	md, err := rt.Load(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	md.Close(context.Background())
	rt.Close(context.Background())
	var nodes []*node.Node
	var seeds []string
	for range n {
		dir := t.TempDir()
		if _, _, err := node.Init(dir); err != nil {
			t.Fatal(err)
		}
		nd, err := node.New(node.Config{DataDir: dir, Listen: "127.0.0.1:0", Seeds: seeds, Compute: true, Mine: true,
			MineInterval: 400 * time.Millisecond, MinerThreads: 1, Threads: 1, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if err := nd.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nd.Close() })
		nodes = append(nodes, nd)
		seeds = append(seeds, nd.Net().Addr().String())
	}
	return nodes
}

// dna publish and dna job submit --watch / status against a real node's API.
func TestPublishAndJobAgainstNode(t *testing.T) {
	dir := setup(t)
	t.Setenv("DNA_API_KEY", "")
	t.Setenv("DNA_NODE", "")
	b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	path := filepath.Join(dir, "tiny.dna")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	nodes := startNodes(t, 2, b)
	srv := httptest.NewServer(api.New(nodes[0], api.Config{APIKeys: []string{"secret"}}))
	defer srv.Close()

	code, _, errOut := dna(t, "publish", path, "--node", srv.URL, "--api-key", "wrong")
	if code != 1 || !strings.Contains(errOut, "invalid API key") {
		t.Fatalf("publish with a wrong key: exit %d, %q", code, errOut)
	}
	out := mustDNA(t, "publish", path, "--node", srv.URL, "--api-key", "secret")
	if f := strings.Fields(out); len(f) != 2 || f[0] != b.ID().String() || f[1] != b.Manifest().Name {
		t.Fatalf("publish printed %q", out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := true
		for _, n := range nodes {
			a, err := n.Chain().Account(n.Account())
			ready = ready && err == nil && a.Balance >= 2*chain.Coin &&
				slices.ContainsFunc(n.KnownBundles(), func(v node.BundleView) bool { return v.Root == b.ID() })
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nodes not funded or the bundle not announced after a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Replication 2: both nodes stake, and the job goes to settlement.
	t.Setenv("DNA_API_KEY", "secret")
	out = mustDNA(t, "job", "submit", "--node", strings.TrimPrefix(srv.URL, "http://"), "--model", b.Manifest().Name,
		"-p", "Once upon a time", "-n", "4", "--temp", "0.5", "--seed", "3", "--replication", "2", "--watch")
	t.Logf("dna job submit --watch:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := lines[0]
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("submit printed %q first", id)
	}
	at := 0
	for _, stage := range []string{"submitted", "escrowed", "accepted", "committed", "revealed", "decided", "recorded", "settled"} {
		i := slices.IndexFunc(lines[at:], func(l string) bool { return len(l) > 14 && strings.HasPrefix(l[14:], stage+" ") })
		if i < 0 {
			t.Fatalf("no %s line after line %d:\n%s", stage, at, out)
		}
		at += i
	}
	if !strings.Contains(out, "text   \"") {
		t.Errorf("no decided text:\n%s", out)
	}
	out = mustDNA(t, "job", "status", "--node", srv.URL, id)
	t.Logf("dna job status:\n%s", out)
	for _, want := range []string{"job      " + id, "stage    settled", "terms    4 tokens, temperature 0.5", "replication 2", "agrees", "history"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := dna(t, "job", "status", "--node", srv.URL, strings.Repeat("0", 64)); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("status of an unknown job: exit %d, %q", code, errOut)
	}
}

func TestProgressLine(t *testing.T) {
	p := &progressBar{total: 4 << 20, start: time.Now().Add(-time.Second)}
	if l := p.line(1 << 20); !strings.HasPrefix(l, "[=======>                      ]  25% 1.0 MiB / 4.0 MiB") {
		t.Errorf("line %q", l)
	}
	if l := p.line(4 << 20); !strings.Contains(l, "100%") || !strings.Contains(l, "verifying") {
		t.Errorf("line %q", l)
	}
	cr := &countingReader{r: strings.NewReader("hello world")}
	if b, _ := io.ReadAll(cr); string(b) != "hello world" || cr.n.Load() != 11 {
		t.Errorf("counted %d", cr.n.Load())
	}
}
