package meter

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/dnahost/dnahost/internal/testmodels"
)

var repoRoot = filepath.Join("..", "..", "..")

func llama(tb testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(repoRoot, "guests", "llama.wasm"))
	if err != nil {
		tb.Skip(err)
	}
	return b
}

// instantiateGuest runs a Go reactor with WASI, the meter host (if given)
// and every other import stubbed to return zeros.
func instantiateGuest(tb testing.TB, r wazero.Runtime, wasm []byte, h *meterHost) api.Module {
	tb.Helper()
	ctx := context.Background()
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	if h != nil {
		h.instantiate(tb, r)
	}
	c, err := r.CompileModule(ctx, wasm)
	if err != nil {
		tb.Fatal(err)
	}
	stubs := map[string]wazero.HostModuleBuilder{}
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == wasi_snapshot_preview1.ModuleName || mod == ImportModule {
			continue
		}
		if stubs[mod] == nil {
			stubs[mod] = r.NewHostModuleBuilder(mod)
		}
		nres := len(f.ResultTypes())
		stubs[mod].NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			clear(stack[:nres])
		}), f.ParamTypes(), f.ResultTypes()).Export(name)
	}
	for _, b := range stubs {
		if _, err := b.Instantiate(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	mod, err := r.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName("guest").WithStartFunctions("_initialize"))
	if err != nil {
		tb.Fatal(err)
	}
	return mod
}

// session calls a guest's exports the way the host does and returns the
// results, with fuel used after each step when metered.
func session(tb testing.TB, mod api.Module, h *meterHost, guest string) []string {
	ctx := context.Background()
	var log []string
	step := func(name string, args ...uint64) uint64 {
		var cnt counter
		if h != nil {
			cnt = h.begin(mod, InitialFuel)
		}
		res, err := mod.ExportedFunction(name).Call(ctx, args...)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		s := fmt.Sprintf("%s%v=%v", name, args, res)
		if h != nil {
			s += fmt.Sprintf(" fuel %d", cnt.used())
		}
		log = append(log, s)
		if len(res) == 0 {
			return 0
		}
		return res[0]
	}
	step("dna_init")
	text := []byte("hello, metered world")
	p := step("dna_alloc", uint64(len(text)))
	if guest != "testguest" { // llama has no model behind the stubs to tokenize with
		step("dna_free", p)
		return log
	}
	out := step("dna_alloc", 256)
	if !mod.Memory().Write(uint32(p), text) {
		tb.Fatal("write failed")
	}
	step("dna_tokenize", p, uint64(len(text)), out, 64)
	step("dna_detokenize", 1, 5, out, 64)
	return log
}

func TestGoGuests(t *testing.T) {
	guests := map[string]func(testing.TB) []byte{
		"testguest": func(tb testing.TB) []byte {
			return testmodels.BuildGuest(tb, filepath.Join(repoRoot, "runtime", "testdata", "testguest"))
		},
		"llama": llama,
	}
	for name, load := range guests {
		t.Run(name, func(t *testing.T) {
			orig := load(t)
			start := time.Now()
			inst, err := Instrument(orig)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("instrumented %d -> %d bytes in %v", len(orig), len(inst), time.Since(start))
			logCensus(t, orig)
			var want []string
			fuelLog := map[string][]string{}
			for _, e := range engines {
				if e.name == "interpreter" && testing.Short() {
					continue
				}
				mo := instantiateGuest(t, newRuntime(t, e), orig, nil)
				got := session(t, mo, nil, name)
				if want == nil {
					want = got
				} else if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: original %v, want %v", e.name, got, want)
				}
				h := &meterHost{amount: 1 << 20}
				mi := instantiateGuest(t, newRuntime(t, e), inst, h)
				initFuel := InitialFuel - int64(fuel(mi).Get())
				fl := session(t, mi, h, name)
				fl = append(fl, fmt.Sprintf("_initialize fuel %d", initFuel))
				for i, s := range fl[:len(want)] {
					if !strings.HasPrefix(s, want[i]+" ") {
						t.Errorf("%s: instrumented %q, original %q", e.name, s, want[i])
					}
				}
				fuelLog[e.name] = fl
				t.Logf("%s: %v", e.name, fl)
			}
			if c, i := fuelLog["compiler"], fuelLog["interpreter"]; i != nil && fmt.Sprint(c) != fmt.Sprint(i) {
				t.Errorf("fuel differs: compiler %v, interpreter %v", c, i)
			}
		})
	}
}

// logCensus logs the opcodes a module's code uses, most frequent first.
func logCensus(t *testing.T, wasm []byte) {
	m, err := split(wasm)
	if err == nil {
		err = m.scan()
	}
	if err != nil {
		t.Fatal(err)
	}
	m.w.census = map[uint32]int{}
	if _, err := m.code(nil); err != nil {
		t.Fatal(err)
	}
	var ops []uint32
	for o := range m.w.census {
		ops = append(ops, o)
	}
	sort.Slice(ops, func(i, j int) bool { return m.w.census[ops[i]] > m.w.census[ops[j]] })
	var b strings.Builder
	for _, o := range ops {
		if o >= 0xfc00 {
			fmt.Fprintf(&b, " fc.%d:%d", o&0xff, m.w.census[o])
		} else {
			fmt.Fprintf(&b, " %02x:%d", o, m.w.census[o])
		}
	}
	t.Logf("%d functions, %d opcodes:%s", m.definedFuncs, len(ops), b.String())
}
