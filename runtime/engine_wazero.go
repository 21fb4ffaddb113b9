package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/dnahost/dnahost/runtime/internal/meter"
)

func init() {
	engineFactories[EngineWazero] = newWazero
	engineFactories[EngineWazeroInterp] = newWazero
}

// wazeroEngine is wazero's compiler or interpreter, with wazero's own
// compilation cache (on disk under the runtime's cache directory).
type wazeroEngine struct {
	interp bool
	cache  wazero.CompilationCache
	mem    *memPool
}

func newWazero(r *Runtime) (engine, error) {
	e := &wazeroEngine{interp: r.engine == EngineWazeroInterp, mem: newMemPool()}
	if r.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(r.cacheDir)
		if err != nil {
			r.log.Warn("compilation cache unavailable; compiling in memory", "dir", r.cacheDir, "err", err)
			r.cacheDir = ""
		} else {
			e.cache = cache
		}
	}
	if e.cache == nil {
		e.cache = wazero.NewCompilationCache()
	}
	return e, nil
}

// defaultCacheDir is where compiled modules go when Config.CacheDir is "".
func defaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "dnahost", "wazero")
}

func (e *wazeroEngine) close(ctx context.Context) error { return e.cache.Close(ctx) }

type envKey struct{}

func (e *wazeroEngine) config(pages uint32) wazero.RuntimeConfig {
	var rc wazero.RuntimeConfig
	if e.interp {
		rc = wazero.NewRuntimeConfigInterpreter()
	} else {
		rc = wazero.NewRuntimeConfig() // the compiler where supported
	}
	// No WithCloseOnContextDone: it costs a check at every loop header
	// (20x on tight loops); the fuel meter's refill checks the deadline
	// instead, every fuelSlice units.
	return rc.WithMemoryLimitPages(pages).
		WithCompilationCache(e.cache).
		WithDebugInfoEnabled(false)
}

func (e *wazeroEngine) compile(ctx context.Context, code []byte, pages uint32) (compiled, error) {
	wz := wazero.NewRuntimeWithConfig(ctx, e.config(pages))
	if err := bindWazeroHost(ctx, wz); err != nil {
		wz.Close(ctx)
		return nil, err
	}
	cm, err := wz.CompileModule(ctx, code)
	if err != nil {
		wz.Close(ctx)
		return nil, fmt.Errorf("%w: %v", ErrBadModule, err)
	}
	return &wazeroModule{e: e, wz: wz, cm: cm}, nil
}

// wazeroBuiltinWASI makes the wazero engine bind wazero's own WASI, under
// the closed configuration the runtime used before it had its own, instead
// of the host table's: only for the test that compares the two.
var wazeroBuiltinWASI bool

// bindWazeroHost instantiates the host table as wazero host modules. Each
// function finds its instance's env in the call's context.
func bindWazeroHost(ctx context.Context, wz wazero.Runtime) error {
	builders := map[string]wazero.HostModuleBuilder{}
	var order []string
	if wazeroBuiltinWASI {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, wz); err != nil {
			return err
		}
	}
	for _, f := range hostTable() {
		if wazeroBuiltinWASI && f.module == wasiModule {
			continue
		}
		hb, ok := builders[f.module]
		if !ok {
			hb = wz.NewHostModuleBuilder(f.module)
			builders[f.module] = hb
			order = append(order, f.module)
		}
		var fn api.GoModuleFunc
		if abi := f.abi; abi != nil {
			fn = func(ctx context.Context, mod api.Module, stack []uint64) {
				env, _ := ctx.Value(envKey{}).(*instanceEnv)
				if env == nil || env.in == nil {
					panic(hostTrap(ErrNoInstance))
				}
				abi(env.in, mod.Memory(), stack)
			}
		} else {
			sys := f.sys
			fn = func(ctx context.Context, mod api.Module, stack []uint64) {
				env, _ := ctx.Value(envKey{}).(*instanceEnv)
				if env == nil {
					panic(hostTrap(ErrNoInstance))
				}
				c, _ := env.engine.(*wazeroCaller)
				if c == nil || c.mod != mod {
					c = &wazeroCaller{mod: mod}
					env.engine = c
				}
				sys(env, c, stack)
			}
		}
		hb.NewFunctionBuilder().
			WithGoModuleFunction(fn, mapTypes(f.params, wazeroType), mapTypes(f.results, wazeroType)).
			WithName(f.name).
			Export(f.name)
	}
	for _, m := range order {
		if _, err := builders[m].Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

// wazero's value types have the same binary encoding as valType.
func wazeroType(t valType) api.ValueType     { return api.ValueType(t) }
func fromWazeroType(t api.ValueType) valType { return valType(t) }

// wazeroCaller is the calling module, as host functions see it.
type wazeroCaller struct{ mod api.Module }

func (c *wazeroCaller) Read(off, n uint32) ([]byte, bool) { return c.mod.Memory().Read(off, n) }
func (c *wazeroCaller) getFuel() int64                    { return int64(c.mod.ExportedGlobal(meter.ExportFuel).Get()) }
func (c *wazeroCaller) setFuel(v int64) {
	g, ok := c.mod.ExportedGlobal(meter.ExportFuel).(api.MutableGlobal)
	if !ok {
		panic(hostTrap(fmt.Errorf("%w: fuel global missing", ErrBadModule)))
	}
	g.Set(uint64(v))
}

type wazeroModule struct {
	e  *wazeroEngine
	wz wazero.Runtime
	cm wazero.CompiledModule
}

func (m *wazeroModule) close(ctx context.Context) error { return m.wz.Close(ctx) }

func (m *wazeroModule) imports() []externInfo {
	var out []externInfo
	for _, def := range m.cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		out = append(out, externInfo{module: mod, name: name, kind: kindFunc,
			params: mapTypes(def.ParamTypes(), fromWazeroType), results: mapTypes(def.ResultTypes(), fromWazeroType)})
	}
	return out
}

func (m *wazeroModule) exports() []externInfo {
	var out []externInfo
	for name, def := range m.cm.ExportedFunctions() {
		out = append(out, externInfo{name: name, kind: kindFunc,
			params: mapTypes(def.ParamTypes(), fromWazeroType), results: mapTypes(def.ResultTypes(), fromWazeroType)})
	}
	for name := range m.cm.ExportedMemories() {
		out = append(out, externInfo{name: name, kind: kindMemory})
	}
	return out
}

func (m *wazeroModule) instantiate(ctx context.Context, env *instanceEnv) (instance, error) {
	ctx = context.WithValue(ctx, envKey{}, env)
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithStdout(io.Discard).
		WithStderr(io.Discard)
	if w := env.wasi; wazeroBuiltinWASI && w != nil {
		cfg = cfg.WithStderr(w.stderr).
			WithWalltime(w.clock.walltime, 1).
			WithNanotime(w.clock.nanotime, 1).
			WithNanosleep(w.clock.sleep).
			WithOsyield(func() {}).
			WithRandSource(w.rand)
	}
	mod, err := m.wz.InstantiateModule(experimental.WithMemoryAllocator(ctx, m.e.mem), m.cm, cfg)
	if err != nil {
		return nil, err
	}
	return &wazeroInstance{mod: mod}, nil
}

type wazeroInstance struct{ mod api.Module }

type wazeroFunc struct{ f api.Function }

func (f wazeroFunc) call(ctx context.Context, stack []uint64) error {
	return f.f.CallWithStack(ctx, stack)
}

func (i *wazeroInstance) export(name string) guestFunc {
	f := i.mod.ExportedFunction(name)
	if f == nil {
		return nil
	}
	return wazeroFunc{f}
}

func (i *wazeroInstance) memory() guestMemory { return i.mod.Memory() }
func (i *wazeroInstance) engineFuel() uint64  { return 0 }
func (i *wazeroInstance) close()              { i.mod.Close(context.Background()) }
func (i *wazeroInstance) getFuel() int64      { return (&wazeroCaller{i.mod}).getFuel() }
func (i *wazeroInstance) setFuel(v int64)     { (&wazeroCaller{i.mod}).setFuel(v) }
