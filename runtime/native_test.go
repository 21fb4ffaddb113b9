package runtime_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dnahost/dnahost/guest-sdk/inference"
	"github.com/dnahost/dnahost/guest-sdk/llama"
	"github.com/dnahost/dnahost/internal/nativeguest"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

func newLlama() inference.Model { return llama.New() }

// The llama model compiled natively and driven through the same import
// table gives the very same tokens, digest and work units as the sandbox:
// the benchmark's comparison measures the sandbox and nothing else.
func TestNativeMatchesSandbox(t *testing.T) {
	forEachEngine(t, nativeMatchesSandbox)
}

func nativeMatchesSandbox(t *testing.T, e runtime.Engine) {
	for _, q := range []kernels.DType{kernels.F32, kernels.Q8_0} {
		b := testmodels.Synthetic(t, "tiny", testmodels.Tiny, q)
		rt := newRuntime(t, runtime.Config{Engine: e})
		ctx := context.Background()
		md, err := rt.Load(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		job := runtime.Job{Prompt: "native or not", MaxTokens: 20, Temperature: 0.7, Seed: 3}
		wasm, err := md.Generate(ctx, job, runtime.Callbacks{})
		if err != nil {
			t.Fatal(err)
		}
		native, err := md.GenerateWith(ctx, job, runtime.SessionOptions{NewGuest: nativeguest.New(newLlama)}, runtime.Callbacks{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(wasm.Tokens, native.Tokens) || wasm.Digest != native.Digest || wasm.WorkUnits != native.WorkUnits {
			t.Fatalf("%s: sandbox %v %s %d, native %v %s %d", q, wasm.Tokens, wasm.Digest, wasm.WorkUnits,
				native.Tokens, native.Digest, native.WorkUnits)
		}
		md.Close(ctx)
	}
}
