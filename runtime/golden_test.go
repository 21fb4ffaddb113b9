package runtime_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

// cacheDir is a compilation cache shared by the package's tests, so each
// engine compiles a module once per test run.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dna-runtime-test-cache")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newRuntime(tb testing.TB, c runtime.Config) *runtime.Runtime {
	tb.Helper()
	if c.CacheDir == "" {
		c.CacheDir = cacheDir
	}

	rt, err := runtime.New(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// testEngines are the engines the engine-dependent tests run on: every
// engine this build has (wasmtime only with -tags wasmtime), or the one
// DNA_TEST_ENGINE names.
func testEngines(tb testing.TB) []runtime.Engine {
	if s := os.Getenv("DNA_TEST_ENGINE"); s != "" {
		e, err := runtime.ParseEngine(s)
		if err != nil {
			tb.Fatal(err)
		}
		return []runtime.Engine{e}
	}
	return runtime.Engines()
}

// forEachEngine runs f as a subtest per engine.
func forEachEngine(t *testing.T, f func(t *testing.T, e runtime.Engine)) {
	for _, e := range testEngines(t) {
		t.Run(string(e), func(t *testing.T) { f(t, e) })
	}
}

// TestGolden: greedy stories260K reproduces llama2.c's run.c byte for byte,
// for both recorded lengths, on every engine. llama2.c's -n counts prompt
// positions, so -n N generates N+1−len(prompt) tokens.
func TestGolden(t *testing.T) {
	b := testmodels.Stories260K(t, kernels.F32)
	forEachEngine(t, func(t *testing.T, e runtime.Engine) { golden(t, b, e) })
}

func golden(t *testing.T, b *bundle.Bundle, e runtime.Engine) {
	rt := newRuntime(t, runtime.Config{Engine: e})
	md, err := rt.Load(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close(context.Background())
	for _, g := range testmodels.GoldenRuns(t) {
		var out strings.Builder
		cb := runtime.Callbacks{
			Prompt: func(text string, _ []int32) error { out.WriteString(text); return nil },
			Token:  func(tk runtime.Token) error { out.WriteString(tk.Text); return nil },
		}
		promptLen := 5
		res, err := md.Generate(context.Background(), runtime.Job{Prompt: "Once upon a time", MaxTokens: g.Steps + 1 - promptLen}, cb)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n")
		ids := append(append([]int32{}, res.PromptTokens...), res.Tokens...)
		if !slices.Equal(ids, g.IDs) {
			t.Errorf("-n %d: ids differ\n got  %v\n want %v", g.Steps, ids, g.IDs)
		}
		if out.String() != g.Stdout {
			t.Errorf("-n %d: text differs\n got  %q\n want %q", g.Steps, out.String(), g.Stdout)
		}
		if res.PromptText+res.Text+"\n" != g.Stdout {
			t.Errorf("-n %d: result text differs from the stream", g.Steps)
		}
	}
}
