package runtime_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/bundle/llama2c"
	"github.com/dnahost/dnahost/internal/nativeguest"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

type benchModel struct {
	name   string
	cfg    *llama2c.Config // nil: the shared stories260K
	tokens int
}

var benchModels = []benchModel{
	{"stories260K", nil, 128},
	{"synthetic-15M", &testmodels.Stories15M, 64},
	{"synthetic-110M", &testmodels.Stories110M, 24},
}

func benchBundle(b *testing.B, m benchModel, q kernels.DType) *bundle.Bundle {
	if m.cfg == nil {
		return testmodels.Stories260K(b, q)
	}
	return testmodels.Synthetic(b, m.name, *m.cfg, q)
}

// BenchmarkGenerate reports tokens/s (prefill and decode; start-up is
// reported on its own) for each model and weight format, in the sandbox and
// natively with the same kernels.
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	for _, m := range benchModels {
		for _, q := range []kernels.DType{kernels.F32, kernels.Q8_0} {
			for _, mode := range []string{"wasm", "native"} {
				b.Run(fmt.Sprintf("%s/%s/%s", m.name, q, mode), func(b *testing.B) {
					rt := newRuntime(b, runtime.Config{})
					md, err := rt.Load(ctx, benchBundle(b, m, q))
					if err != nil {
						b.Fatal(err)
					}
					defer md.Close(ctx)
					so := runtime.SessionOptions{}
					if mode == "native" {
						so.NewGuest = nativeguest.New(newLlama)
					}
					job := runtime.Job{Prompt: "Once upon a time", MaxTokens: m.tokens}
					var work, startup time.Duration
					var toks int
					for i := 0; i < b.N; i++ {
						res, err := md.GenerateWith(ctx, job, so, runtime.Callbacks{})
						if err != nil {
							b.Fatal(err)
						}
						work += res.Prefill + res.Decode
						startup += res.Startup
						toks += len(res.Tokens)
					}
					b.ReportMetric(float64(toks)/work.Seconds(), "tok/s")
					b.ReportMetric(float64(startup.Microseconds())/float64(b.N)/1000, "startup-ms")
				})
			}
		}
	}
}

// BenchmarkSandboxOverhead runs the same job natively and in the sandbox,
// alternating, and reports how much longer the sandboxed prefill+decode
// takes (start-up excluded: it is a fixed cost per job, reported by
// BenchmarkGenerate).
func BenchmarkSandboxOverhead(b *testing.B) {
	ctx := context.Background()
	for _, m := range benchModels {
		for _, q := range []kernels.DType{kernels.F32, kernels.Q8_0} {
			b.Run(fmt.Sprintf("%s/%s", m.name, q), func(b *testing.B) {
				rt := newRuntime(b, runtime.Config{})
				md, err := rt.Load(ctx, benchBundle(b, m, q))
				if err != nil {
					b.Fatal(err)
				}
				defer md.Close(ctx)
				job := runtime.Job{Prompt: "Once upon a time", MaxTokens: m.tokens}
				native := runtime.SessionOptions{NewGuest: nativeguest.New(newLlama)}
				// Pairs run back to back, and the median pair is reported: a
				// garbage collection or a noisy neighbour hits one pair, not
				// the figure.
				var ratios, tws, tns []float64
				for i := 0; i < b.N; i++ {
					rn, err := md.GenerateWith(ctx, job, native, runtime.Callbacks{})
					if err != nil {
						b.Fatal(err)
					}
					rw, err := md.Generate(ctx, job, runtime.Callbacks{})
					if err != nil {
						b.Fatal(err)
					}
					tn, tw := (rn.Prefill + rn.Decode).Seconds(), (rw.Prefill + rw.Decode).Seconds()
					ratios, tns, tws = append(ratios, tw/tn), append(tns, tn), append(tws, tw)
				}
				b.ReportMetric(100*(median(ratios)-1), "overhead-%")
				b.ReportMetric(1000*median(tns), "native-ms")
				b.ReportMetric(1000*median(tws), "wasm-ms")
			})
		}
	}
}

// BenchmarkHostCall measures one host-function call from a WebAssembly
// guest: abi_version (the boundary alone) and a 1×1 add (boundary, argument
// checks, metering and a kernel).
func BenchmarkHostCall(b *testing.B) {
	code := testmodels.BuildGuest(b, testmodels.RepoRoot(b)+"/runtime/testdata/testguest")
	for _, engine := range testEngines(b) {
		for _, mode := range []string{"calls-nop", "calls"} {
			b.Run(fmt.Sprintf("%s/%s", engine, mode), func(b *testing.B) { benchHostCalls(b, engine, code, mode) })
		}
	}
}

// benchHostCalls times the test guest's Forward in a host-call mode: each
// call makes 10,000 host calls (calls-nop: abi_version; calls: a 1×1 add).
func benchHostCalls(b *testing.B, engine runtime.Engine, code []byte, mode string) {
	ctx := context.Background()
	rt := newRuntime(b, runtime.Config{Engine: engine})
	md, err := rt.Load(ctx, hostileBundle(b, code, mode))
	if err != nil {
		b.Fatal(err)
	}
	defer md.Close(ctx)
	s, err := md.NewSession(ctx, runtime.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.Forward([]int32{1}, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/10000, "ns/call")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkEngines compares the engines of the build in one run: tokens/s
// (and instance start-up) on stories260K and the stories15M shape, the
// cost of a host call (the boundary alone, and a 1×1 add), and loading a
// bundle — its module compiled cold, and from the on-disk cache.
func BenchmarkEngines(b *testing.B) {
	ctx := context.Background()
	code := testmodels.BuildGuest(b, testmodels.RepoRoot(b)+"/runtime/testdata/testguest")
	for _, e := range testEngines(b) {
		for _, m := range []struct {
			bm benchModel
			q  kernels.DType
		}{{benchModels[0], kernels.F32}, {benchModels[1], kernels.Q8_0}} {
			b.Run(fmt.Sprintf("%s/generate/%s-%s", e, m.bm.name, m.q), func(b *testing.B) {
				rt := newRuntime(b, runtime.Config{Engine: e})
				md, err := rt.Load(ctx, benchBundle(b, m.bm, m.q))
				if err != nil {
					b.Fatal(err)
				}
				defer md.Close(ctx)
				job := runtime.Job{Prompt: "Once upon a time", MaxTokens: m.bm.tokens}
				var work, startup time.Duration
				var toks int
				for i := 0; i < b.N; i++ {
					res, err := md.Generate(ctx, job, runtime.Callbacks{})
					if err != nil {
						b.Fatal(err)
					}
					work += res.Prefill + res.Decode
					startup += res.Startup
					toks += len(res.Tokens)
				}
				b.ReportMetric(float64(toks)/work.Seconds(), "tok/s")
				b.ReportMetric(float64(startup.Microseconds())/float64(b.N)/1000, "startup-ms")
			})
		}
		for _, mode := range []string{"calls-nop", "calls"} {
			b.Run(fmt.Sprintf("%s/hostcall/%s", e, mode), func(b *testing.B) { benchHostCalls(b, e, code, mode) })
		}
		bun := testmodels.Stories260K(b, kernels.F32)
		for _, cached := range []bool{false, true} {
			name := "cold"
			if cached {
				name = "cached"
			}
			b.Run(fmt.Sprintf("%s/load/%s", e, name), func(b *testing.B) {
				dir := b.TempDir()
				if cached { // fill the cache
					rt := newRuntime(b, runtime.Config{Engine: e, CacheDir: dir})
					md, err := rt.Load(ctx, bun)
					if err != nil {
						b.Fatal(err)
					}
					md.Close(ctx)
				}
				var total time.Duration
				for i := 0; i < b.N; i++ {
					d := dir
					if !cached {
						d = b.TempDir()
					}
					rt, err := runtime.New(ctx, runtime.Config{Engine: e, CacheDir: d})
					if err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					md, err := rt.Load(ctx, bun)
					if err != nil {
						b.Fatal(err)
					}
					total += time.Since(start)
					md.Close(ctx)
					rt.Close(ctx)
				}
				b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "load-ms")
			})
		}
	}
}
