package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/kernels/cpu"
	"github.com/dnahost/dnahost/runtime"
)

func cmdRun(args []string, out, errOut io.Writer) error {
	fs := newFlags("run", errOut)
	prompt := fs.String("p", "", "prompt text")
	n := fs.Int("n", 256, "tokens to generate at most")
	temp := fs.Float64("temp", 0, "temperature (0: greedy)")
	topk := fs.Int("topk", 0, "sample only from the k most likely tokens (0: all)")
	seed := fs.Uint64("seed", 0, "seed of the job's fixed Gumbel noise")
	threads := fs.Int("threads", 0, "kernel threads (0: all cores); results do not depend on it")
	engine := fs.String("engine", "wazero", "WebAssembly engine: "+engineNames())
	backend := fs.String("backend", "auto", "kernel backend: auto or cpu")
	generic := fs.Bool("generic", false, "use the portable kernel loops instead of SIMD (same results)")
	asJSON := fs.Bool("json", false, "print the claim as JSON instead of streaming text")
	budget := fs.Uint64("budget", 0, "work-unit budget (0: 4× the bundle's estimate)")
	timeout := fs.Duration("timeout", 0, "wall-clock limit (0: none)")
	fuel := fs.Uint64("fuel", 0, "guest fuel limit: function entries and loop iterations, counted alike on every engine (0: none)")
	engineFuel := fs.Uint64("engine-fuel", 0, "limit of wasmtime's own instruction fuel (0: none; --engine wasmtime only)")
	chunk := fs.Int("prefill-chunk", 0, "prompt positions per forward call (0: 256; 1: token by token)")
	noCache := fs.Bool("no-cache", false, "do not use the on-disk compilation cache")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna run B.dna -p PROMPT [-n N] [--temp T] [--topk K] [--seed S] [--json]")
	}
	if *backend != "auto" && *backend != "cpu" {
		return usagef("--backend %q is not available in this build (auto or cpu)", *backend)
	}
	eng, err := runtime.ParseEngine(*engine)
	if err != nil {
		return usagef("%v", err)
	}
	if *engineFuel > 0 && eng != runtime.EngineWasmtime {
		return usagef("--engine-fuel needs --engine wasmtime (the engine is %s)", eng)
	}
	job := runtime.Job{Prompt: *prompt, MaxTokens: *n, Temperature: float32(*temp), TopK: *topk, Seed: *seed,
		Budget: *budget, Timeout: *timeout, Fuel: *fuel, EngineFuel: *engineFuel, PrefillChunk: *chunk}
	if err := job.Validate(); err != nil {
		return usagef("%v", err)
	}
	b, err := bundle.ReadFile(pos[0], bundle.ReadOptions{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	be, err := cpu.New(cpu.Options{Threads: *threads, Generic: *generic})
	if err != nil {
		return usagef("%v", err)
	}
	defer be.Close()
	rt, err := runtime.New(ctx, runtime.Config{Engine: eng, Backend: be, NoDiskCache: *noCache})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	md, err := rt.Load(ctx, b)
	if err != nil {
		return err
	}
	defer md.Close(ctx)

	w := bufio.NewWriter(out)
	var cb runtime.Callbacks
	if !*asJSON {
		// Stream as llama2.c does: the prompt's text, then each token's.
		cb.Prompt = func(text string, _ []int32) error {
			w.WriteString(text)
			return w.Flush()
		}
		cb.Token = func(t runtime.Token) error {
			w.WriteString(t.Text)
			return w.Flush()
		}
	}
	res, err := md.Generate(ctx, job, cb)
	if err != nil {
		w.WriteString("\n")
		w.Flush()
		return err
	}
	if *asJSON {
		o := verify.NewClaim(b.ID(), *prompt, job, res)
		o.Engine, o.Backend = string(rt.Engine()), be.Name()
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(o); err != nil {
			return err
		}
		return w.Flush()
	}
	w.WriteString("\n")
	if err := w.Flush(); err != nil {
		return err
	}
	fuelNote := fmt.Sprintf("%d fuel", res.Fuel)
	if rt.Engine() == runtime.EngineWasmtime {
		fuelNote += fmt.Sprintf(", %d engine fuel", res.EngineFuel)
	}
	fmt.Fprintf(errOut, "achieved tok/s: %.1f (%d tokens, stop: %s, digest %s, %d work units, %s, %s, %s)\n",
		res.TokensPerSecond(), len(res.Tokens), res.Stop, res.Digest, res.WorkUnits, fuelNote, rt.Engine(), be.Name())
	return nil
}

// engineNames lists the --engine values of this build.
func engineNames() string {
	var names []string
	for _, e := range runtime.Engines() {
		names = append(names, string(e))
	}
	s := strings.Join(names, ", ")
	if len(names) == 2 {
		s += " (wasmtime needs a build with CGO_ENABLED=1 -tags wasmtime)"
	}
	return s + "; compiler and interpreter name the wazero engines"
}
