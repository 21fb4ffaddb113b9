package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/kernels/cpu"
	"github.com/dnahost/dnahost/runtime"
)

type variant struct {
	name    string
	threads int
	generic bool
	engine  runtime.Engine
	chunk   int
}

// The same job must give the same tokens and digest on every thread count,
// code path, engine and prefill split, and on every repetition: the wazero
// compiler's variants, then every other engine of the build with the SIMD
// kernels (and wasmtime token by token too).
func variants(tb testing.TB) []variant {
	vs := []variant{
		{"reference", 1, true, runtime.EngineWazero, 0},
		{"threads=2", 2, true, runtime.EngineWazero, 0},
		{"threads=4", 4, true, runtime.EngineWazero, 0},
		{"simd,threads=3", 3, false, runtime.EngineWazero, 0},
		{"token-by-token", 2, false, runtime.EngineWazero, 1},
		{"prefill-chunks-of-3", 2, false, runtime.EngineWazero, 3},
	}
	for _, e := range runtime.Engines()[1:] {
		vs = append(vs, variant{string(e), 2, false, e, 0})
		if e != runtime.EngineWazeroInterp { // the interpreter is slow; the wazero variants cover the split
			vs = append(vs, variant{string(e) + ",token-by-token", 2, false, e, 1})
		}
	}
	return vs
}

type sampling struct {
	name string
	temp float32
	topk int
	seed uint64
}

var samplings = []sampling{
	{"greedy", 0, 0, 0},
	{"t=0.8,seed=42", 0.8, 0, 42},
	{"t=0.8,topk=40,seed=7", 0.8, 40, 7},
}

func runVariant(t *testing.T, b *bundle.Bundle, v variant, job runtime.Job) *runtime.Result {
	t.Helper()
	be, err := cpu.New(cpu.Options{Threads: v.threads, Generic: v.generic})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	rt := newRuntime(t, runtime.Config{Engine: v.engine, Backend: be})
	ctx := context.Background()
	md, err := rt.Load(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close(ctx)
	job.PrefillChunk = v.chunk
	res, err := md.Generate(ctx, job, runtime.Callbacks{})
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	// Repeat on the same model: a fresh instance must not remember anything.
	again, err := md.Generate(ctx, job, runtime.Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Tokens, res.Tokens) || again.Digest != res.Digest || again.WorkUnits != res.WorkUnits || again.Fuel != res.Fuel || again.EngineFuel != res.EngineFuel {
		t.Fatalf("%s: a repeated run differs", v.name)
	}
	return res
}

func TestDeterminism(t *testing.T) {
	models := []struct {
		name string
		b    func(t *testing.T) *bundle.Bundle
		n    int
	}{
		{"stories260K-f32", func(t *testing.T) *bundle.Bundle { return testmodels.Stories260K(t, kernels.F32) }, 40},
		{"stories260K-q8", func(t *testing.T) *bundle.Bundle { return testmodels.Stories260K(t, kernels.Q8_0) }, 40},
		{"synthetic-f32", func(t *testing.T) *bundle.Bundle {
			return testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
		}, 30},
		{"synthetic-q8", func(t *testing.T) *bundle.Bundle {
			return testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.Q8_0)
		}, 30},
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			b := m.b(t)
			for _, s := range samplings {
				t.Run(s.name, func(t *testing.T) {
					job := runtime.Job{Prompt: "Once upon a time, the dog", MaxTokens: m.n, Temperature: s.temp, TopK: s.topk, Seed: s.seed}
					var ref *runtime.Result
					for _, v := range variants(t) {
						if testing.Short() && v.engine == runtime.EngineWazeroInterp {
							continue
						}
						res := runVariant(t, b, v, job)
						if ref == nil {
							ref = res
							if len(res.Tokens) == 0 {
								t.Fatal("no tokens generated")
							}
							continue
						}
						if !slices.Equal(res.Tokens, ref.Tokens) {
							t.Fatalf("%s: tokens differ from the reference\n got  %v\n want %v", v.name, res.Tokens, ref.Tokens)
						}
						if res.Digest != ref.Digest {
							t.Fatalf("%s: digest %s, reference %s", v.name, res.Digest, ref.Digest)
						}
						// Work units are priced by shapes, so they match too,
						// except that a different prefill split makes a
						// different number of calls.
						if v.chunk == 0 && res.WorkUnits != ref.WorkUnits {
							t.Fatalf("%s: %d work units, reference %d", v.name, res.WorkUnits, ref.WorkUnits)
						}
						// Guest fuel counts the guest's own code: the same on
						// every engine and backend.
						if v.chunk == 0 && res.Fuel != ref.Fuel {
							t.Fatalf("%s: %d fuel, reference %d", v.name, res.Fuel, ref.Fuel)
						}
					}
				})
			}
		})
	}
}

// Sampled runs really sample: a different seed gives a different output,
// and temperature changes the output of a given seed.
func TestSeedsMatter(t *testing.T) {
	b := testmodels.Stories260K(t, kernels.F32)
	rt := newRuntime(t, runtime.Config{})
	ctx := context.Background()
	md, err := rt.Load(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close(ctx)
	outs := map[string]bool{}
	for seed := uint64(1); seed <= 4; seed++ {
		res, err := md.Generate(ctx, runtime.Job{Prompt: "Once upon a time", MaxTokens: 30, Temperature: 1, Seed: seed}, runtime.Callbacks{})
		if err != nil {
			t.Fatal(err)
		}
		outs[fmt.Sprint(res.Tokens)] = true
	}
	if len(outs) < 3 {
		t.Fatalf("4 seeds gave only %d distinct outputs", len(outs))
	}
}

// Compiled modules land in the on-disk cache, and a second runtime loads
// from it, on every engine.
func TestCompilationCache(t *testing.T) {
	b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	forEachEngine(t, func(t *testing.T, e runtime.Engine) { compilationCache(t, b, e) })
}

func compilationCache(t *testing.T, b *bundle.Bundle, e runtime.Engine) {
	dir := t.TempDir()
	ctx := context.Background()
	load := func() time.Duration {
		rt, err := runtime.New(ctx, runtime.Config{Engine: e, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		if rt.CacheDir() != dir {
			t.Fatalf("cache dir %q", rt.CacheDir())
		}
		start := time.Now()
		md, err := rt.Load(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		md.Close(ctx)
		return d
	}
	cold := load()
	sub := dir
	if e == runtime.EngineWasmtime {
		sub = filepath.Join(dir, "dna-wasmtime")
	}
	entries, _ := os.ReadDir(sub)
	if len(entries) == 0 {
		t.Fatal("nothing was written to the compilation cache")
	}
	warm := load()
	t.Logf("cold load %v, cached load %v", cold, warm)
}

// A fuel limit binds exactly: the fuel a job used is enough, one unit less
// is ErrFuel, on every engine, which all count the same fuel. wasmtime's own
// engine fuel binds exactly too.
func TestFuelLimitExact(t *testing.T) {
	b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	ctx := context.Background()
	job := runtime.Job{Prompt: "Once upon a time", MaxTokens: 12}
	var fuel uint64
	for _, e := range testEngines(t) {
		rt := newRuntime(t, runtime.Config{Engine: e})
		md, err := rt.Load(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		defer md.Close(ctx)
		res, err := md.Generate(ctx, job, runtime.Callbacks{})
		if err != nil {
			t.Fatal(err)
		}
		if fuel == 0 {
			fuel = res.Fuel
		} else if res.Fuel != fuel {
			t.Fatalf("%s: %d fuel, compiler %d", e, res.Fuel, fuel)
		}
		for _, limit := range []uint64{fuel, fuel + 1, fuel - 1, fuel / 2, 1} {
			j := job
			j.Fuel = limit
			got, err := md.Generate(ctx, j, runtime.Callbacks{})
			if limit >= fuel {
				if err != nil || got.Fuel != fuel {
					t.Fatalf("%s: limit %d of %d: %v", e, limit, fuel, err)
				}
			} else if !errors.Is(err, runtime.ErrFuel) {
				t.Fatalf("%s: limit %d of %d: %v", e, limit, fuel, err)
			}
		}
		if e != runtime.EngineWasmtime {
			if res.EngineFuel != 0 {
				t.Fatalf("%s reports engine fuel %d", e, res.EngineFuel)
			}
			continue
		}
		used := res.EngineFuel
		if used == 0 {
			t.Fatal("wasmtime reports no engine fuel")
		}
		// wasmtime checks its fuel where control may loop or call, not at
		// every instruction: a limit binds at the first check past it, the
		// same check on every run. Find the smallest limit that lets the job
		// finish; it and everything above finish with the same count,
		// everything below stops with ErrEngineFuel, every time.
		outcome := func(limit uint64) (uint64, bool) {
			j := job
			j.EngineFuel = limit
			got, err := md.Generate(ctx, j, runtime.Callbacks{})
			if err != nil {
				if !errors.Is(err, runtime.ErrEngineFuel) {
					t.Fatalf("engine fuel limit %d: %v", limit, err)
				}
				return 0, false
			}
			if got.Fuel != fuel || !slices.Equal(got.Tokens, res.Tokens) {
				t.Fatalf("engine fuel limit %d changed the job's result", limit)
			}
			return got.EngineFuel, true
		}
		lo, hi := uint64(0), used // lo fails, hi passes
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if _, ok := outcome(mid); ok {
				hi = mid
			} else {
				lo = mid
			}
		}
		for run := 0; run < 2; run++ {
			for _, limit := range []uint64{hi, hi + 1, used, used + 1} {
				if got, ok := outcome(limit); !ok || got != min(used, limit) {
					t.Fatalf("run %d: limit %d: finished %v with %d engine fuel (unlimited: %d)", run, limit, ok, got, used)
				}
			}
			for _, limit := range []uint64{lo, lo - 1, used / 2, 1} {
				if _, ok := outcome(limit); ok {
					t.Fatalf("run %d: limit %d (below %d) let the job finish", run, limit, hi)
				}
			}
		}
		t.Logf("wasmtime engine fuel: the job counts %d units; limits from %d finish it (the last %d units are past the last check)", used, hi, used-hi)
	}
	t.Logf("a 12-token job on the tiny model: %d fuel on every engine", fuel)
}

// Sessions of one model run concurrently (a node's workers) without
// disturbing each other, on every engine.
func TestConcurrentSessions(t *testing.T) {
	b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
	forEachEngine(t, func(t *testing.T, e runtime.Engine) {
		rt := newRuntime(t, runtime.Config{Engine: e})
		ctx := context.Background()
		md, err := rt.Load(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		defer md.Close(ctx)
		job := func(seed uint64) runtime.Job {
			return runtime.Job{Prompt: "Once upon a time", MaxTokens: 16, Temperature: 0.9, Seed: seed, Timeout: time.Minute}
		}
		want := map[uint64]*runtime.Result{}
		for seed := uint64(0); seed < 4; seed++ {
			res, err := md.Generate(ctx, job(seed), runtime.Callbacks{})
			if err != nil {
				t.Fatal(err)
			}
			want[seed] = res
		}
		errs := make(chan error, 16)
		for w := 0; w < 8; w++ {
			go func(seed uint64) {
				for i := 0; i < 3; i++ {
					res, err := md.Generate(ctx, job(seed), runtime.Callbacks{})
					if err == nil && (!slices.Equal(res.Tokens, want[seed].Tokens) || res.Digest != want[seed].Digest || res.Fuel != want[seed].Fuel) {
						err = fmt.Errorf("seed %d: a concurrent run differs", seed)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}(uint64(w % 4))
		}
		for w := 0; w < 8; w++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}
