package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
	"github.com/dnahost/dnahost/runtime/internal/wasmgen"
)

// The differential test of the engines: a random job on a random guest —
// a module generated from the input's bytes (integer and float arithmetic,
// memory, globals, loops, calls, host calls, traps, proc_exit), such a
// module with random bytes changed, the hostile test guest with a random
// attack, or
// the llama guest on a synthetic model — must end the same way on every
// engine of the build: the same tokens, text, digest, work units and fuel,
// or the same error kind at the same entry point.
//
// Every job has a fuel limit, so a guest that never stops is stopped
// deterministically. Two things are outside what is compared, by the
// WebAssembly specification's own allowance: NaN payloads (the generated
// guests canonicalize floats wherever their bits become observable) and the
// depth at which recursion exhausts the stack (the generated call graphs
// are acyclic).

// outcome is how a job ended, in engine-independent terms.
type outcome struct {
	load, run string // error kinds ("" for none)
	tokens    []int32
	text      string
	prompt    string
	stop      string
	digest    string
	work      uint64
	fuel      uint64
}

func (o outcome) String() string {
	if o.load != "" {
		return "load: " + o.load
	}
	if o.run != "" {
		return "run: " + o.run
	}
	return fmt.Sprintf("tokens %v %q stop %s digest %.16s work %d fuel %d", o.tokens, o.text, o.stop, o.digest, o.work, o.fuel)
}

// errKind names an error by the runtime's error it wraps and the entry
// point it happened in.
func errKind(err error) string {
	if err == nil {
		return ""
	}
	where, _, _ := strings.Cut(err.Error(), ":")
	var ge *runtime.GuestError
	if errors.As(err, &ge) {
		return fmt.Sprintf("%s: guest error %d", ge.Entry, ge.Code)
	}
	for _, k := range []struct {
		name string
		err  error
	}{
		{"timeout", runtime.ErrTimeout}, {"budget", runtime.ErrBudget}, {"memory", runtime.ErrMemory},
		{"fuel", runtime.ErrFuel}, {"engine fuel", runtime.ErrEngineFuel}, {"trap", runtime.ErrTrap},
		{"bad module", runtime.ErrBadModule}, {"limits", runtime.ErrLimits}, {"job", runtime.ErrJob},
		{"bad tokens", runtime.ErrBadTokens}, {"context", runtime.ErrContext},
	} {
		if errors.Is(err, k.err) {
			if k.err == runtime.ErrBadModule || k.err == runtime.ErrLimits {
				return k.name
			}
			return where + ": " + k.name
		}
	}
	return "other: " + err.Error()
}

// enginesHarness holds a runtime per engine and the guests the inputs
// choose from.
type enginesHarness struct {
	engines  []runtime.Engine
	rts      []*runtime.Runtime
	testg    []byte
	tiny     []*bundle.Bundle
	attacks  []string
	compared int
}

func newEnginesHarness(tb testing.TB) *enginesHarness {
	engines := testEngines(tb)
	if len(engines) < 2 {
		tb.Skip("one engine: nothing to compare")
	}
	return newEnginesHarnessFor(tb, engines)
}

func newEnginesHarnessFor(tb testing.TB, engines []runtime.Engine) *enginesHarness {
	h := &enginesHarness{engines: engines}
	for _, e := range h.engines {
		h.rts = append(h.rts, newRuntime(tb, runtime.Config{Engine: e}))
	}
	h.testg = testmodels.BuildGuest(tb, testmodels.RepoRoot(tb)+"/runtime/testdata/testguest")
	h.tiny = []*bundle.Bundle{
		testmodels.Synthetic(tb, "tiny", testmodels.Tiny, kernels.F32),
		testmodels.Synthetic(tb, "tiny", testmodels.Tiny, kernels.Q8_0),
	}
	h.attacks = []string{"none", "membomb", "flood", "logflood", "badptr", "hugelen", "forged", "freed",
		"oversized", "handles", "readonly", "readonly-file", "trap", "fail", "badtokens", "badalloc",
		"init-panic", "wasi", "spin", "calls", "calls-nop"}
	return h
}

// guestBundle packs a generated (or raw) module with a small model.
func guestBundle(tb testing.TB, code []byte, vocab, ctxLen int, pages uint32) *bundle.Bundle {
	w, err := bundle.EncodeTensors([]bundle.Tensor{{Name: "w", DType: kernels.F32, Rows: 1, Cols: 16, Data: make([]byte, 64)}})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := bundle.Build(bundle.Manifest{
		Name: "generated", Version: "1", ABI: 1, Arch: "generated",
		Config:    map[string]string{"attack": "generated"},
		Model:     bundle.Model{VocabSize: vocab, ContextLength: ctxLen, StopTokens: []int32{int32(vocab - 1)}},
		Entry:     bundle.Entry{Inference: "model.wasm"},
		Weights:   "weights.dnt",
		Resources: bundle.Resources{MemoryPages: pages, TensorBytes: 1 << 20, Handles: 64},
	}, []bundle.Source{{Name: "model.wasm", Data: code}, {Name: "weights.dnt", Data: w}}, testmodels.Key())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// randomJob draws a job; it always has a fuel limit.
func randomJob(s *wasmgen.Source) runtime.Job {
	prompt := make([]byte, s.Intn(14))
	for i := range prompt {
		prompt[i] = 'a' + byte(s.Intn(40))
	}
	j := runtime.Job{Prompt: string(prompt), MaxTokens: s.Intn(12), Seed: uint64(s.Intn(1000)),
		Fuel: 1000 + uint64(s.Intn(1<<22)), PrefillChunk: s.Intn(4), Timeout: 60 * time.Second}
	if s.Chance(2) {
		j.Temperature = float32(1+s.Intn(20)) / 10
		j.TopK = s.Intn(6)
	}
	if s.Chance(3) {
		j.Budget = uint64(1 + s.Intn(1<<20))
	}
	return j
}

func (h *enginesHarness) run(t testing.TB, in []byte) (string, outcome) {
	s := wasmgen.NewSource(in)
	var b *bundle.Bundle
	var what string
	job := randomJob(s)
	switch mode := s.Intn(10); mode {
	case 0: // a generated module with bytes changed: decoders and validators must agree
		code := wasmgen.Guest(s, 16)
		for k := 1 + s.Intn(4); k > 0; k-- {
			code[s.Intn(len(code))] = s.Byte()
		}
		b, what = guestBundle(t, code, 16, 64, 64), "mutated module"
	case 1:
		a := h.attacks[s.Intn(len(h.attacks))]
		b, what = hostileBundle(t, h.testg, a), "test guest, attack "+a
		if a == "spin" || a == "membomb" || a == "flood" || a == "logflood" {
			job.Fuel = min(job.Fuel, 200_000) // the interpreter spins slowly
		}
	case 2:
		if h.tiny != nil {
			b, what = h.tiny[s.Intn(2)], "llama guest"
			break
		}
		fallthrough
	default:
		vocab := 2 + s.Intn(30)
		code := wasmgen.Guest(s, vocab)
		b, what = guestBundle(t, code, vocab, 16+s.Intn(48), uint32(2+s.Intn(16))), "generated guest"
	}
	var ref outcome
	for i, rt := range h.rts {
		o := runJob(t, rt, b, job)
		if strings.HasSuffix(o.run, ": timeout") {
			t.Fatalf("%s timed out on %s (job %+v): a fuel limit should have stopped it", what, h.engines[i], job)
		}
		if i == 0 {
			ref = o
			continue
		}
		if o.String() != ref.String() || !slices.Equal(o.tokens, ref.tokens) || o.prompt != ref.prompt {
			t.Fatalf("%s, job %+v:\n %-14s %s\n %-14s %s", what, job, h.engines[0], ref, h.engines[i], o)
		}
	}
	h.compared++
	return what, ref
}

func runJob(t testing.TB, rt *runtime.Runtime, b *bundle.Bundle, job runtime.Job) outcome {
	ctx := context.Background()
	md, err := rt.Load(ctx, b)
	if err != nil {
		return outcome{load: errKind(err)}
	}
	defer md.Close(ctx)
	res, err := md.Generate(ctx, job, runtime.Callbacks{})
	if err != nil {
		return outcome{run: errKind(err)}
	}
	return outcome{tokens: res.Tokens, text: res.Text, prompt: res.PromptText, stop: res.Stop,
		digest: res.Digest.String(), work: res.WorkUnits, fuel: res.Fuel}
}

// TestEnginesAgree runs the differential test on a fixed set of random
// inputs; FuzzEngines explores further.
func TestEnginesAgree(t *testing.T) {
	h := newEnginesHarness(t)
	n := 60 // wazero's compiler against its interpreter
	if len(h.engines) > 2 {
		n = 100
	}
	if testing.Short() {
		n = 30
	}
	rng := rand.New(rand.NewPCG(9, 9))
	kinds := map[string]int{}
	for i := 0; i < n; i++ {
		in := make([]byte, 16+rng.IntN(1500))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		what, o := h.run(t, in)
		end := "finished"
		switch {
		case o.load != "":
			end = "refused: " + o.load
		case o.run != "":
			_, k, _ := strings.Cut(o.run, ": ")
			end = "failed: " + k
		}
		kinds[what+" → "+end]++
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		t.Logf("%4d × %s", kinds[k], k)
	}
	t.Logf("%d random jobs ended alike on %v", h.compared, h.engines)
}

// FuzzEngines leaves the llama guest out: under the fuzzer's coverage
// instrumentation compiling its 2.8 MB module takes minutes.
func FuzzEngines(f *testing.F) {
	h := newEnginesHarness(f)
	h.tiny = nil
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 8; i++ {
		in := make([]byte, 64+rng.IntN(600))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		f.Add(in)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, in []byte) { h.run(t, in) })
}

// Every guest sees the runtime's own WASI as it saw wazero's: each attack
// of the test guest and the llama guest end identically (tokens, digest,
// work units, fuel: the guest's own control flow) with either.
func TestGuestsSeeWazeroWASI(t *testing.T) {
	rt := newRuntime(t, runtime.Config{Engine: runtime.EngineWazero})
	h := newEnginesHarnessFor(t, nil)
	type item struct {
		what string
		b    *bundle.Bundle
		job  runtime.Job
	}
	var items []item
	for _, a := range h.attacks {
		items = append(items, item{"attack " + a, hostileBundle(t, h.testg, a),
			runtime.Job{Prompt: "ab", MaxTokens: 8, Fuel: 300_000, Timeout: 20 * time.Second}})
	}
	llama := runtime.Job{Prompt: "Once upon a time", MaxTokens: 20, Temperature: 0.8, Seed: 3}
	items = append(items, item{"llama tiny f32", h.tiny[0], llama}, item{"llama tiny q8", h.tiny[1], llama})
	items = append(items, item{"stories260K", testmodels.Stories260K(t, kernels.F32), llama})
	for _, it := range items {
		ours := runJob(t, rt, it.b, it.job)
		restore := runtime.UseWazeroWASI()
		theirs := runJob(t, rt, it.b, it.job)
		restore()
		if ours.String() != theirs.String() || ours.prompt != theirs.prompt {
			t.Fatalf("%s:\n runtime's WASI %s %q\n wazero's WASI  %s %q", it.what, ours, ours.prompt, theirs, theirs.prompt)
		}
		t.Logf("%s: %s", it.what, ours)
	}
}
