package consensus_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

func newRuntime(tb testing.TB) *runtime.Runtime { return newEngineRuntime(tb, "") }

func newEngineRuntime(tb testing.TB, e runtime.Engine) *runtime.Runtime {
	rt, err := runtime.New(context.Background(), runtime.Config{Engine: e, CacheDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func loadRule(tb testing.TB, rt *runtime.Runtime, dir string, params map[string]string, lim runtime.PureLimits) *consensus.WasmRule {
	tb.Helper()
	code := testmodels.BuildGuest(tb, dir)
	r, err := consensus.LoadWasmRule(context.Background(), rt, code, params, lim)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// randomCase makes a commitment set with repeats, equivocation, bad
// signatures, huge stakes and every verification state.
func randomCase(rng *rand.Rand) consensus.Case {
	c := consensus.Case{Job: fmt.Sprint("job", rng.Uint64()), Replication: rng.IntN(9)}
	nodes := 1 + rng.IntN(10)
	for i, n := 0, rng.IntN(14); i < n; i++ {
		cc := consensus.CaseCommitment{
			Node:   fmt.Sprint("node", rng.IntN(nodes)),
			Result: []string{"A", "A", "A", "B", "B", "C"}[rng.IntN(6)],
			Stake:  []uint64{0, 1, 10, 1000, 1 << 62, 1<<64 - 1}[rng.IntN(6)],
		}
		switch rng.IntN(6) {
		case 0:
			cc.Revealed, cc.Verification = true, "verified"
		case 1:
			cc.Revealed, cc.Verification = true, "refuted"
		case 2:
			cc.Revealed = true
		}
		cc.BadSignature = rng.IntN(20) == 0
		c.Commitments = append(c.Commitments, cc)
	}
	return c
}

func same(a, b consensus.Decision) bool {
	return a.Status == b.Status && a.Result == b.Result && slices.Equal(a.Agree, b.Agree) && slices.Equal(a.Penalize, b.Penalize)
}

// The presets and their independent WebAssembly re-implementation
// (examples/rules/presets) decide identically on thousands of random sets,
// on every engine.
func TestPresetsMatchWasmReimplementation(t *testing.T) {
	for i, e := range runtime.Engines() {
		t.Run(string(e), func(t *testing.T) {
			sets := 3000
			if testing.Short() || i > 0 {
				sets = 300
			}
			presetsMatch(t, newEngineRuntime(t, e), sets)
		})
	}
}

func presetsMatch(t *testing.T, rt *runtime.Runtime, sets int) {
	dir := filepath.Join(testmodels.RepoRoot(t), "examples", "rules", "presets")
	specs := []string{"majority", "supermajority", "quorum:k=1", "quorum:k=2", "quorum:k=3", "unanimous", "stake-majority", "first-verified"}
	wasm := map[string]*consensus.WasmRule{}
	host := map[string]consensus.Rule{}
	for _, s := range specs {
		r, err := consensus.ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		host[s] = r
		name, k, _ := strings.Cut(s, ":k=")
		params := map[string]string{"preset": name}
		if k != "" {
			params["k"] = k
		}
		wasm[s] = loadRule(t, rt, dir, params, runtime.PureLimits{})
	}
	rng := rand.New(rand.NewPCG(7, 11))
	decided := 0
	for i := 0; i < sets; i++ {
		c := randomCase(rng)
		s := specs[i%len(specs)]
		h := consensus.Evaluate(host[s], c.JobInfo(), c.Signed())
		w := consensus.Evaluate(wasm[s], c.JobInfo(), c.Signed())
		if !same(h, w) {
			t.Fatalf("set %d (%s, %+v):\n host %+v\n wasm %+v", i, s, c, c.Names(h), c.Names(w))
		}
		if h.Status == consensus.Accepted {
			decided++
		}
	}
	t.Logf("%d random sets, %d decided, identical decisions", sets, decided)
	if decided < sets/5 || decided > sets*4/5 {
		t.Fatalf("the random sets are lopsided: %d of %d decided", decided, sets)
	}
}

// A hostile rule module gets a clear reason and a safe Undecided, the same
// on every engine.
func TestHostileRule(t *testing.T) {
	for _, e := range runtime.Engines() {
		t.Run(string(e), func(t *testing.T) { hostileRule(t, newEngineRuntime(t, e)) })
	}
}

func hostileRule(t *testing.T, rt *runtime.Runtime) {
	dir := filepath.Join(testmodels.RepoRoot(t), "consensus", "testdata", "hostilerule")
	c := consensus.Case{Job: "j", Replication: 3, Commitments: []consensus.CaseCommitment{{Node: "a", Result: "A"}, {Node: "b", Result: "A"}}}
	for name, want := range map[string]string{
		"spin": "wall-clock", "spin-fuel": "fuel limit", "bomb": "out of memory", "garbage": "garbage", "trap": "trapped",
		"huge": "invalid result", "outside": "outside memory", "negative": "code -7", "forged": "invalid decision",
	} {
		t.Run(name, func(t *testing.T) {
			attack, lim := name, runtime.PureLimits{Timeout: 300 * time.Millisecond, MemoryPages: 512}
			switch name {
			case "spin": // fuel to spare: the clock stops it
				lim.Fuel = 1 << 62
			case "spin-fuel": // the fuel limit stops it, at the same point on every node
				attack, lim.Timeout, lim.Fuel = "spin", time.Minute, 10_000_000
			}
			r := loadRule(t, rt, dir, map[string]string{"attack": attack}, lim)
			start := time.Now()
			d := consensus.Evaluate(r, c.JobInfo(), c.Signed())
			if d.Status != consensus.Undecided || len(d.Agree) > 0 || len(d.Penalize) > 0 {
				t.Fatalf("hostile rule produced %+v", d)
			}
			if !strings.Contains(d.Reason, want) {
				t.Fatalf("reason %q does not say %q", d.Reason, want)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
			t.Log(d.Reason)
		})
	}
	// The runtime is still healthy.
	good := loadRule(t, rt, filepath.Join(testmodels.RepoRoot(t), "examples", "rules", "presets"), map[string]string{"preset": "majority"}, runtime.PureLimits{})
	if d := consensus.Evaluate(good, c.JobInfo(), c.Signed()); d.Status != consensus.Accepted {
		t.Fatalf("after the attacks: %+v", d)
	}
}

// A bundle's rule: its preset, or its own module.
func TestForBundle(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	base := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	r, err := consensus.ForBundle(ctx, rt, base, runtime.PureLimits{})
	if err != nil || r.Ref().Name != consensus.PresetMajority {
		t.Fatalf("an imported bundle's rule: %v %v", r, err)
	}
	m := *base.Manifest()
	m.Files = nil
	var files []bundle.Source
	for _, f := range base.Manifest().Files {
		data, _ := base.File(f.Name)
		files = append(files, bundle.Source{Name: f.Name, Data: data})
	}
	files = append(files, bundle.Source{Name: "rule.wasm", Data: testmodels.BuildGuest(t, filepath.Join(testmodels.RepoRoot(t), "examples", "rules", "minstake"))})
	m.Entry.Consensus = "rule.wasm"
	m.Consensus = bundle.Consensus{Rule: "minstake", Params: map[string]string{"min_stake": "50"}}
	withRule, err := bundle.Build(m, files, testmodels.Key())
	if err != nil {
		t.Fatal(err)
	}
	r, err = consensus.ForBundle(ctx, rt, withRule, runtime.PureLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref().Name != "wasm" || r.Ref().Params["min_stake"] != "50" {
		t.Fatalf("rule %s", r.Ref())
	}
	c := consensus.Case{Job: "j", Replication: 3, Commitments: []consensus.CaseCommitment{
		{Node: "a", Result: "A", Stake: 100}, {Node: "b", Result: "A", Stake: 100}, {Node: "c", Result: "B", Stake: 1}}}
	if d := consensus.Evaluate(r, c.JobInfo(), c.Signed()); d.Status != consensus.Accepted {
		t.Fatalf("%+v", d)
	}
	m.Entry.Consensus = ""
	m.Consensus = bundle.Consensus{Rule: "quorum", Params: map[string]string{"k": "2"}}
	m.Files = nil
	q, _ := bundle.Build(m, files, testmodels.Key())
	if r, err := consensus.ForBundle(ctx, rt, q, runtime.PureLimits{}); err != nil || r.Ref().String() != "quorum@1(k=2)" {
		t.Fatalf("%v %v", r, err)
	}
}
