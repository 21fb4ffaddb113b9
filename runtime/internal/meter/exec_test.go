package meter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

type engine struct {
	name string
	cfg  func() wazero.RuntimeConfig
}

var engines = []engine{
	{"compiler", wazero.NewRuntimeConfigCompiler},
	{"interpreter", wazero.NewRuntimeConfigInterpreter},
}

const features = api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall

func newRuntime(t testing.TB, e engine) wazero.Runtime {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, e.cfg().WithCoreFeatures(features))
	t.Cleanup(func() { r.Close(ctx) })
	return r
}

var errOutOfFuel = errors.New("out of fuel")

// meterHost is a dna_meter host module. Its refill adds amount to the fuel
// (which is -1 when it is called, so no unit goes uncounted) and traps on
// call number limit.
type meterHost struct {
	amount  int64
	limit   int
	refills int // calls
	added   int // calls that added fuel
	check   func(context.Context)
}

func (h *meterHost) instantiate(t testing.TB, r wazero.Runtime) {
	t.Helper()
	_, err := r.NewHostModuleBuilder(ImportModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(h.refill), nil, nil).
		Export(ImportName).Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

func (h *meterHost) refill(ctx context.Context, mod api.Module, _ []uint64) {
	h.refills++
	if h.limit > 0 && h.refills >= h.limit {
		panic(errOutOfFuel)
	}
	if h.check != nil {
		h.check(ctx)
	}
	g := fuel(mod)
	g.Set(uint64(int64(g.Get()) + h.amount))
	h.added++
}

func fuel(mod api.Module) api.MutableGlobal {
	return mod.ExportedGlobal(ExportFuel).(api.MutableGlobal)
}

// counter measures fuel used between start and used.
type counter struct {
	h     *meterHost
	mod   api.Module
	start int64
	added int
}

func (h *meterHost) begin(mod api.Module, start int64) counter {
	fuel(mod).Set(uint64(start))
	return counter{h, mod, start, h.added}
}

func (c counter) used() int64 {
	return c.start - int64(fuel(c.mod).Get()) + int64(c.h.added-c.added)*c.h.amount
}

func instantiate(t testing.TB, r wazero.Runtime, wasm []byte) api.Module {
	t.Helper()
	mod, err := r.InstantiateWithConfig(context.Background(), wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

func TestFuelCounts(t *testing.T) {
	orig := countingModule()
	inst, err := Instrument(orig)
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		fn   string
		args []uint64
		want uint64
		cost int64
	}
	var cases []tc
	for _, n := range []uint64{0, 1, 2, 5, 100, 1000} {
		cases = append(cases, tc{"sumloop", []uint64{n}, n * (n + 1) / 2, int64(n) + 2})
		cases = append(cases, tc{"tailsum", []uint64{n, 7}, n + 7, int64(n) + 1})
		for _, m := range []uint64{0, 1, 3, 10} {
			cases = append(cases, tc{"nested", []uint64{n, m}, n * m, 1 + int64(n+1) + int64(n*(m+1))})
		}
	}
	f := uint64(1)
	for n := uint64(0); n < 12; n++ {
		cases = append(cases, tc{"fact", []uint64{n}, f, int64(n) + 1})
		f *= n + 1
	}
	for x, want := range []uint64{10, 20, 30, 30, 30} {
		cases = append(cases, tc{"dispatch", []uint64{uint64(x)}, want, 1})
	}
	ctx := context.Background()
	total := map[string]int64{}
	for _, e := range engines {
		ro, ri := newRuntime(t, e), newRuntime(t, e)
		h := &meterHost{}
		h.instantiate(t, ri)
		mo, mi := instantiate(t, ro, orig), instantiate(t, ri, inst)
		if got := int64(fuel(mi).Get()); got != InitialFuel {
			t.Fatalf("%s: initial fuel %d", e.name, got)
		}
		// A large, a small and no fuel budget; refills every unit at worst.
		for _, budget := range [][2]int64{{InitialFuel, 1000}, {10, 7}, {3, 2}, {0, 1}} {
			h.amount = budget[1]
			for _, c := range cases {
				want, err := mo.ExportedFunction(c.fn).Call(ctx, c.args...)
				if err != nil || want[0] != c.want {
					t.Fatalf("%s: original %s%v = %v, %v; want %d", e.name, c.fn, c.args, want, err, c.want)
				}
				cnt := h.begin(mi, budget[0])
				got, err := mi.ExportedFunction(c.fn).Call(ctx, c.args...)
				if err != nil || got[0] != c.want {
					t.Fatalf("%s: %s%v = %v, %v; want %d", e.name, c.fn, c.args, got, err, c.want)
				}
				if used := cnt.used(); used != c.cost {
					t.Errorf("%s: %s%v with fuel %d+%d: used %d, want %d", e.name, c.fn, c.args, budget[0], budget[1], used, c.cost)
				}
				total[e.name] += cnt.used()
			}
		}
		t.Logf("%s: %d refills", e.name, h.refills)
	}
	if total["compiler"] != total["interpreter"] {
		t.Errorf("fuel differs between engines: %v", total)
	}
}

// TestSpin: a guest spinning without host calls calls refill again and
// again, and the host stops it by trapping, after exactly the fuel given.
func TestSpin(t *testing.T) {
	inst, err := Instrument(countingModule())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range engines {
		r := newRuntime(t, e)
		h := &meterHost{amount: 1000, limit: 5}
		h.instantiate(t, r)
		mod := instantiate(t, r, inst)
		cnt := h.begin(mod, 100)
		_, err := mod.ExportedFunction("spin").Call(context.Background())
		if err == nil || !strings.Contains(err.Error(), errOutOfFuel.Error()) {
			t.Fatalf("%s: spin returned %v", e.name, err)
		}
		// Fuel 100 to -1, then four refills of 1000: 1 + 100 + 4000 units,
		// one per iteration, plus the entry.
		if h.refills != 5 || int64(fuel(mod).Get()) != -1 || cnt.used() != 4101 {
			t.Errorf("%s: %d refills, fuel %d, used %d", e.name, h.refills, int64(fuel(mod).Get()), cnt.used())
		}
	}
}

// TestDeadline: the refill hook enforces a context deadline, the job
// WithCloseOnContextDone does, without it.
func TestDeadline(t *testing.T) {
	inst, err := Instrument(countingModule())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range engines {
		r := newRuntime(t, e)
		// Fuel is checked against the deadline every amount units; the
		// host picks a slice below InitialFuel for a quicker check on the
		// interpreter (2^22 units: a few ms compiled, about 0.2 s
		// interpreted).
		h := &meterHost{amount: 1 << 16, check: func(ctx context.Context) {
			if err := ctx.Err(); err != nil {
				panic(err)
			}
		}}
		h.instantiate(t, r)
		mod := instantiate(t, r, inst)
		h.begin(mod, h.amount)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		_, err := mod.ExportedFunction("spin").Call(ctx)
		cancel()
		if !strings.Contains(fmt.Sprint(err), context.DeadlineExceeded.Error()) {
			t.Fatalf("%s: spin returned %v", e.name, err)
		}
		t.Logf("%s: stopped after %v, %d refills of %d", e.name, time.Since(start), h.refills, h.amount)
	}
}

// TestShifted runs every reference to a function (calls, call_indirect
// through each element segment form, ref.func in code and globals, the start
// function, exports) in the original and the instrumented module.
func TestShifted(t *testing.T) {
	orig := shiftedModule()
	inst, err := Instrument(orig)
	if err != nil {
		t.Fatal(err)
	}
	env := envModule()
	type tc struct {
		fn   string
		args []uint64
		want []uint64 // nil: compare with the original only
		trap bool
		cost int64
	}
	cases := []tc{
		{"a", nil, []uint64{100}, false, 1},
		{"h", nil, []uint64{800}, false, 1},
		{"add1", []uint64{1}, []uint64{2}, false, 0},
		{"callind", []uint64{0}, []uint64{100}, false, 2},
		{"callind", []uint64{1}, []uint64{200}, false, 2},
		{"callind", []uint64{2}, []uint64{500}, false, 2},
		{"callind", []uint64{3}, nil, true, 1},
		{"callind", []uint64{10}, nil, true, 1},
		{"callimp", []uint64{5}, []uint64{112}, false, 2},
		{"viaGlobalRef", nil, []uint64{700}, false, 2},
		{"viaCodeRef", nil, []uint64{800}, false, 2},
		{"initPassive", nil, []uint64{}, false, 1},
		{"callind", []uint64{10}, []uint64{300}, false, 2},
		{"callind", []uint64{11}, []uint64{600}, false, 2},
		{"callind1", []uint64{5, 41}, []uint64{42}, false, 1},
		{"callT1", []uint64{0}, []uint64{400}, false, 2},
		{"callT1", []uint64{1}, []uint64{200}, false, 2},
		{"readG3", nil, []uint64{77}, false, 1},
		{"memsum", nil, []uint64{8}, false, 1},
		{"dataInit", nil, []uint64{42}, false, 1},
		{"fillcopy", nil, []uint64{0x55555555}, false, 1},
		{"selT", []uint64{0}, []uint64{2}, false, 1},
		{"selT", []uint64{1}, []uint64{1}, false, 1},
		{"misc", nil, nil, false, 1},
	}
	ctx := context.Background()
	for _, e := range engines {
		var mods [2]api.Module
		var h meterHost
		for i, wasm := range [][]byte{orig, inst} {
			r := newRuntime(t, e)
			if _, err := r.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env")); err != nil {
				t.Fatal(err)
			}
			h.instantiate(t, r)
			mods[i] = instantiate(t, r, wasm)
		}
		mo, mi := mods[0], mods[1]
		for i, m := range mods {
			if got := m.ExportedGlobal("started").Get(); got != 200 {
				t.Errorf("%s %d: start function stored %d, want 200", e.name, i, got)
			}
		}
		if used := InitialFuel - int64(fuel(mi).Get()); used != 2 {
			t.Errorf("%s: start used %d fuel, want 2", e.name, used)
		}
		for _, c := range cases {
			want, werr := mo.ExportedFunction(c.fn).Call(ctx, c.args...)
			cnt := h.begin(mi, InitialFuel)
			got, gerr := mi.ExportedFunction(c.fn).Call(ctx, c.args...)
			if (werr != nil) != c.trap || (gerr != nil) != c.trap {
				t.Fatalf("%s: %s%v: errors %v (original) %v (instrumented)", e.name, c.fn, c.args, werr, gerr)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || (c.want != nil && fmt.Sprint(got) != fmt.Sprint(c.want)) {
				t.Errorf("%s: %s%v = %v, original %v, want %v", e.name, c.fn, c.args, got, want, c.want)
			}
			if used := cnt.used(); used != c.cost {
				t.Errorf("%s: %s%v used %d fuel, want %d", e.name, c.fn, c.args, used, c.cost)
			}
		}
	}
}

// TestCompile: every hand-assembled module compiles before and after.
func TestCompile(t *testing.T) {
	mods := minimalModules()
	mods["counting"], mods["shifted"], mods["env"], mods["loop"] = countingModule(), shiftedModule(), envModule(), loopModule()
	r := newRuntime(t, engines[1])
	ctx := context.Background()
	for name, wasm := range mods {
		if _, err := r.CompileModule(ctx, wasm); err != nil {
			t.Fatalf("%s: original: %v", name, err)
		}
		inst, err := Instrument(wasm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := r.CompileModule(ctx, inst)
		if err != nil {
			t.Fatalf("%s: instrumented: %v", name, err)
		}
		imps := c.ImportedFunctions()
		last := imps[len(imps)-1]
		if m, n, _ := last.Import(); m != ImportModule || n != ImportName || len(last.ParamTypes())+len(last.ResultTypes()) != 0 {
			t.Errorf("%s: last function import %s.%s %v -> %v", name, m, n, last.ParamTypes(), last.ResultTypes())
		}
	}
}
