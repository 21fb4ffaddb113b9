package meter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/dnahost/dnahost/internal/testmodels"
)

// Loop variants: the original module, the original under
// WithCloseOnContextDone(true) (what metering replaces), and metered.
var variants = []struct {
	name    string
	closeOn bool
	meter   bool
}{{"plain", false, false}, {"closeOnDone", true, false}, {"metered", false, true}}

func benchRuntime(b *testing.B, e engine, closeOn bool) wazero.Runtime {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, e.cfg().WithCoreFeatures(features).WithCloseOnContextDone(closeOn))
	b.Cleanup(func() { r.Close(ctx) })
	return r
}

// BenchmarkLoop times one iteration of the hand-assembled loop (ns/op is
// ns per iteration).
func BenchmarkLoop(b *testing.B) {
	orig := loopModule()
	inst, err := Instrument(orig)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range engines {
		for _, v := range variants {
			b.Run(e.name+"/"+v.name, func(b *testing.B) {
				r := benchRuntime(b, e, v.closeOn)
				wasm := orig
				if v.meter {
					wasm = inst
					(&meterHost{amount: InitialFuel}).instantiate(b, r)
				}
				spin := instantiate(b, r, wasm).ExportedFunction("spin")
				b.ResetTimer()
				if _, err := spin.Call(context.Background(), uint64(b.N)); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkGoGuest times Go-compiled code: spin is a loop (ns/op per
// iteration), fib20 a recursion of 21891 calls (ns/op per fib(20)).
func BenchmarkGoGuest(b *testing.B) {
	orig := testmodels.BuildGuest(b, filepath.Join("testdata", "loopguest"))
	inst, err := Instrument(orig)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range engines {
		for _, v := range variants {
			b.Run(e.name+"/"+v.name, func(b *testing.B) {
				r := benchRuntime(b, e, v.closeOn)
				var mod api.Module
				if v.meter {
					mod = instantiateGuest(b, r, inst, &meterHost{amount: InitialFuel})
				} else {
					mod = instantiateGuest(b, r, orig, nil)
				}
				b.Run("spin", func(b *testing.B) {
					if _, err := mod.ExportedFunction("spin").Call(context.Background(), uint64(b.N)); err != nil {
						b.Fatal(err)
					}
				})
				b.Run("fib20", func(b *testing.B) {
					fib := mod.ExportedFunction("fib")
					for range b.N {
						if _, err := fib.Call(context.Background(), 20); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
