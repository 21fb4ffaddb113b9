package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

// hostileBundle packs the hostile guest with a config that selects its attack.
func hostileBundle(t testing.TB, code []byte, attack string) *bundle.Bundle {
	t.Helper()
	w, err := bundle.EncodeTensors([]bundle.Tensor{{Name: "w", DType: kernels.F32, Rows: 1, Cols: 16, Data: make([]byte, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Build(bundle.Manifest{
		Name: "hostile-" + attack, Version: "1", ABI: 1, Arch: "hostile",
		Config:    map[string]string{"attack": attack},
		Model:     bundle.Model{VocabSize: 16, ContextLength: 64, StopTokens: []int32{15}},
		Entry:     bundle.Entry{Inference: "model.wasm"},
		Weights:   "weights.dnt",
		Resources: bundle.Resources{MemoryPages: 512, TensorBytes: 1 << 20, Handles: 64},
	}, []bundle.Source{{Name: "model.wasm", Data: code}, {Name: "weights.dnt", Data: w}}, testmodels.Key())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileGuests runs real malicious WebAssembly modules on every
// engine. Each must end with the same clear error within its limit on every
// engine, and the host must stay healthy: the next job on the same runtime
// runs normally.
func TestHostileGuests(t *testing.T) {
	dir := testmodels.RepoRoot(t) + "/runtime/testdata/testguest"
	code := testmodels.BuildGuest(t, dir)
	forEachEngine(t, func(t *testing.T, e runtime.Engine) { hostileGuests(t, code, e) })
}

func hostileGuests(t *testing.T, code []byte, e runtime.Engine) {
	ctx := context.Background()
	rt := newRuntime(t, runtime.Config{Engine: e})

	// A well-behaved run on the same module, for comparison after each attack.
	good := hostileBundle(t, code, "none")
	goodModel, err := rt.Load(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	defer goodModel.Close(ctx)
	wantTokens := []int32{3, 4, 5, 6, 7, 8, 9, 10} // prompt [1 1 2]: position p predicts p+1
	healthy := func(t *testing.T) {
		t.Helper()
		res, err := goodModel.Generate(ctx, runtime.Job{Prompt: "ab", MaxTokens: 8}, runtime.Callbacks{})
		if err != nil {
			t.Fatalf("the next job failed: %v", err)
		}
		if !slices.Equal(res.Tokens, wantTokens) {
			t.Fatalf("the next job gave %v, want %v", res.Tokens, wantTokens)
		}
	}
	healthy(t)

	guestCode := func(code hostfuncs.Code) func(t *testing.T, err error) {
		return func(t *testing.T, err error) {
			var ge *runtime.GuestError
			if !errors.As(err, &ge) || ge.Code != -int32(code) {
				t.Fatalf("want the host to answer %s (code %d), got %v", code, -int32(code), err)
			}
			if ge.Msg == "" {
				t.Fatal("the error carries no message")
			}
		}
	}
	is := func(target error) func(t *testing.T, err error) {
		return func(t *testing.T, err error) {
			if !errors.Is(err, target) {
				t.Fatalf("want %v, got %v", target, err)
			}
		}
	}
	cases := []struct {
		attack string
		budget uint64
		limit  time.Duration // the job's wall-clock limit
		check  func(t *testing.T, err error)
		fuel   uint64
	}{
		{"spin", 0, 300 * time.Millisecond, is(runtime.ErrTimeout), 0},
		{"spin", 0, 20 * time.Second, is(runtime.ErrFuel), 5_000_000},
		{"membomb", 0, 20 * time.Second, is(runtime.ErrMemory), 0},
		{"flood", 1_000_000, 20 * time.Second, is(runtime.ErrBudget), 0},
		{"logflood", 1_000_000, 20 * time.Second, is(runtime.ErrBudget), 0},
		{"badptr", 0, 0, guestCode(hostfuncs.CodePointer), 0},
		{"hugelen", 0, 0, guestCode(hostfuncs.CodePointer), 0},
		{"forged", 0, 0, guestCode(hostfuncs.CodeHandle), 0},
		{"freed", 0, 0, guestCode(hostfuncs.CodeHandle), 0},
		{"oversized", 0, 0, guestCode(hostfuncs.CodeQuota), 0},
		{"handles", 0, 0, guestCode(hostfuncs.CodeQuota), 0},
		{"readonly", 0, 0, guestCode(hostfuncs.CodeReadOnly), 0},
		{"readonly-file", 0, 0, guestCode(hostfuncs.CodeReadOnly), 0},
		{"trap", 0, 0, is(runtime.ErrTrap), 0},
		{"fail", 0, 0, is(runtime.ErrGuest), 0},
		{"badtokens", 0, 0, is(runtime.ErrBadTokens), 0},
		{"badalloc", 0, 0, is(runtime.ErrBadTokens), 0},
		{"init-panic", 0, 0, is(runtime.ErrTrap), 0},
	}
	for _, c := range cases {
		name := c.attack
		if c.fuel > 0 {
			name += "-fuel"
		}
		t.Run(name, func(t *testing.T) {
			md, err := rt.Load(ctx, hostileBundle(t, code, c.attack))
			if err != nil {
				t.Fatal(err)
			}
			defer md.Close(ctx)
			start := time.Now()
			limit := c.limit
			if limit == 0 {
				limit = 20 * time.Second
			}
			_, err = md.Generate(ctx, runtime.Job{Prompt: "ab", MaxTokens: 8, Budget: c.budget, Timeout: limit, Fuel: c.fuel}, runtime.Callbacks{})
			if err == nil {
				t.Fatal("the attack went unnoticed")
			}
			t.Logf("%s: %v (after %v)", c.attack, err, time.Since(start).Round(time.Millisecond))
			c.check(t, err)
			if c.attack == "spin" && time.Since(start) > 5*time.Second {
				t.Fatalf("a 300ms limit took %v to stop the guest", time.Since(start))
			}
			healthy(t)
		})
	}
}

// A module that imports a function the ABI does not have is refused at load.
func TestUnknownImportRefused(t *testing.T) {
	dir := testmodels.RepoRoot(t) + "/runtime/testdata/testguest"
	code := testmodels.BuildGuest(t, dir, "badimport")
	forEachEngine(t, func(t *testing.T, e runtime.Engine) {
		rt := newRuntime(t, runtime.Config{Engine: e})
		_, err := rt.Load(context.Background(), hostileBundle(t, code, "none"))
		if !errors.Is(err, runtime.ErrBadModule) {
			t.Fatalf("want ErrBadModule, got %v", err)
		}
		t.Log(err)
	})
}

// A bundle that asks for more than the node allows is refused at load.
func TestResourceCaps(t *testing.T) {
	b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	forEachEngine(t, func(t *testing.T, e runtime.Engine) {
		rt := newRuntime(t, runtime.Config{Engine: e, MaxTensorBytes: 1024})
		if _, err := rt.Load(context.Background(), b); !errors.Is(err, runtime.ErrLimits) {
			t.Fatalf("want ErrLimits, got %v", err)
		}
	})
}

// Fuel exhaustion stops a guest spinning without host calls at the same
// count on every run and every engine; on wasmtime the engine's own fuel
// does too, at exactly its limit.
func TestFuelStopsSpinExactly(t *testing.T) {
	code := testmodels.BuildGuest(t, testmodels.RepoRoot(t)+"/runtime/testdata/testguest")
	ctx := context.Background()
	const limit = 3_000_000
	var want uint64
	forEachEngine(t, func(t *testing.T, e runtime.Engine) {
		rt := newRuntime(t, runtime.Config{Engine: e})
		md, err := rt.Load(ctx, hostileBundle(t, code, "spin"))
		if err != nil {
			t.Fatal(err)
		}
		defer md.Close(ctx)
		spin := func(o runtime.SessionOptions) *runtime.Session {
			o.Timeout = 60 * time.Second
			s, err := md.NewSession(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		for run := 0; run < 3; run++ {
			s := spin(runtime.SessionOptions{Fuel: limit})
			err := s.Forward([]int32{1}, 0)
			if !errors.Is(err, runtime.ErrFuel) {
				t.Fatalf("run %d: want ErrFuel, got %v", run, err)
			}
			got := s.Fuel()
			s.Close()
			if want == 0 {
				want = got
				t.Logf("a %d-unit fuel limit stops the spinning guest after %d units", limit, got)
			} else if got != want {
				t.Fatalf("run %d: stopped after %d units, before %d", run, got, want)
			}
		}
		if e != runtime.EngineWasmtime {
			if _, err := md.NewSession(ctx, runtime.SessionOptions{EngineFuel: 1000}); !errors.Is(err, runtime.ErrJob) {
				t.Fatalf("engine fuel on %s: want ErrJob, got %v", e, err)
			}
			return
		}
		var first uint64
		for run := 0; run < 3; run++ {
			s := spin(runtime.SessionOptions{EngineFuel: 50_000_000})
			init := s.EngineFuel()
			err := s.Forward([]int32{1}, 0)
			if !errors.Is(err, runtime.ErrEngineFuel) {
				t.Fatalf("run %d: want ErrEngineFuel, got %v", run, err)
			}
			got := s.EngineFuel()
			s.Close()
			if got != 50_000_000 {
				t.Fatalf("run %d: engine fuel ran out after %d units, limit 50000000", run, got)
			}
			if first == 0 {
				first = init
			} else if init != first {
				t.Fatalf("run %d: start-up took %d engine fuel, before %d", run, init, first)
			}
		}
		t.Logf("engine fuel: start-up %d units, the spin stopped at exactly its 50000000-unit limit", first)
	})
}

// The guest's WASI is closed and deterministic: no environment, arguments
// or files, the clock reads the job's time, and randomness is a function of
// the job's seed.
func TestWASIClosedAndDeterministic(t *testing.T) {
	code := testmodels.BuildGuest(t, testmodels.RepoRoot(t)+"/runtime/testdata/testguest")
	var first string
	forEachEngine(t, func(t *testing.T, e runtime.Engine) {
		a := wasiReport(t, code, e)
		if first == "" {
			first = a
		} else if a != first {
			t.Fatalf("%s's guest sees\n%s\nthe first engine's\n%s", e, a, first)
		}
	})
}

func wasiReport(t *testing.T, code []byte, e runtime.Engine) string {
	ctx := context.Background()
	rt := newRuntime(t, runtime.Config{Engine: e})
	md, err := rt.Load(ctx, hostileBundle(t, code, "wasi"))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close(ctx)
	report := func(seed uint64, when time.Time) string {
		res, err := md.Generate(ctx, runtime.Job{Prompt: "ab", MaxTokens: 1, Seed: seed, Walltime: when}, runtime.Callbacks{})
		if err != nil {
			t.Fatal(err)
		}
		return res.PromptText
	}
	when := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
	a, b := report(1, when), report(1, when)
	t.Log(a)
	if a != b {
		t.Fatalf("same job, different views of the world:\n%s\n%s", a, b)
	}
	for _, want := range []string{"env=0 ", "args=0 ", "readdir=true", "open=true", "year=2031"} {
		if !strings.Contains(a, want) {
			t.Errorf("report %q lacks %q", a, want)
		}
	}
	if c := report(2, when); c == a {
		t.Error("the random source ignores the job's seed")
	}
	return a
}
