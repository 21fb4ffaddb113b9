package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/runtime/internal/meter"
)

// Engine selects how WebAssembly runs.
type Engine string

const (
	// EngineWazero compiles modules to machine code with wazero (the
	// default; wazero falls back to its interpreter where it has no
	// compiler).
	EngineWazero Engine = "wazero"
	// EngineWazeroInterp interprets modules with wazero: slower to run,
	// faster to start.
	EngineWazeroInterp Engine = "wazero-interp"
	// EngineWasmtime compiles modules with wasmtime (Cranelift). It needs
	// cgo and a build with -tags wasmtime; it adds the engine's own
	// instruction-level fuel (Job.EngineFuel).
	EngineWasmtime Engine = "wasmtime"

	// EngineCompiler and EngineInterpreter are the wazero engines' former
	// names, still accepted by ParseEngine.
	EngineCompiler    = EngineWazero
	EngineInterpreter = EngineWazeroInterp
)

// engineFactories holds the engines this build has; wasmtime registers
// itself when built with its tag.
var engineFactories = map[Engine]func(r *Runtime) (engine, error){}

// ParseEngine accepts wazero, wazero-interp and wasmtime, and the former
// names compiler and interpreter. "" is the default, wazero.
func ParseEngine(s string) (Engine, error) {
	switch s {
	case "", "wazero", "compiler":
		return EngineWazero, nil
	case "wazero-interp", "interpreter", "interp":
		return EngineWazeroInterp, nil
	case "wasmtime":
		if _, ok := engineFactories[EngineWasmtime]; !ok {
			return "", fmt.Errorf("runtime: engine wasmtime is not in this build: build with CGO_ENABLED=1 go build -tags wasmtime")
		}
		return EngineWasmtime, nil
	}
	names := make([]string, 0, 3)
	for _, e := range Engines() {
		names = append(names, string(e))
	}
	return "", fmt.Errorf("runtime: unknown engine %q (%s)", s, strings.Join(names, ", "))
}

// Engines lists the engines this build has, the default first.
func Engines() []Engine {
	out := []Engine{EngineWazero, EngineWazeroInterp}
	if _, ok := engineFactories[EngineWasmtime]; ok {
		out = append(out, EngineWasmtime)
	}
	return out
}

// --- what every engine implements ----------------------------------------

// engine is one WebAssembly implementation behind a Runtime. Everything the
// guest can observe — the host ABI, WASI, fuel metering, limits — is
// defined once, engine-neutrally, in this package and hostfuncs; an engine
// only compiles, binds the host table (hostTable), instantiates and calls.
type engine interface {
	// compile compiles a fuel-instrumented module for instances of at most
	// pages memory pages. A module the engine refuses is ErrBadModule.
	compile(ctx context.Context, code []byte, pages uint32) (compiled, error)
	close(ctx context.Context) error
}

// compiled is a compiled module.
type compiled interface {
	imports() []externInfo
	exports() []externInfo
	// instantiate makes an instance bound to env, runs its start function
	// and then its _initialize export, if it has one.
	instantiate(ctx context.Context, env *instanceEnv) (instance, error)
	close(ctx context.Context) error
}

// instance is one instance of a compiled module.
type instance interface {
	fuelGlobal
	// export is an exported function, or nil.
	export(name string) guestFunc
	memory() guestMemory
	// engineFuel is the fuel the engine's own metering counted (wasmtime),
	// or 0.
	engineFuel() uint64
	close()
}

// guestFunc is an exported function: params in stack, result in stack[0].
type guestFunc interface {
	call(ctx context.Context, stack []uint64) error
}

// guestMemory is an instance's linear memory.
type guestMemory interface {
	hostfuncs.Memory
	Write(offset uint32, b []byte) bool
}

// fuelGlobal reads and sets the meter's fuel global of an instance.
type fuelGlobal interface {
	getFuel() int64
	setFuel(int64)
}

// caller is the instance calling a host function: its memory and fuel.
type caller interface {
	hostfuncs.Memory
	fuelGlobal
}

type externKind byte

const (
	kindFunc externKind = iota
	kindTable
	kindMemory
	kindGlobal
	kindOther
)

// valType is a WebAssembly value type, in its binary encoding.
type valType byte

const (
	valI32       valType = 0x7f
	valI64       valType = 0x7e
	valF32       valType = 0x7d
	valF64       valType = 0x7c
	valV128      valType = 0x7b
	valFuncref   valType = 0x70
	valExternref valType = 0x6f
)

func fromABIType(t hostfuncs.ValueType) valType {
	switch t {
	case hostfuncs.I64:
		return valI64
	case hostfuncs.F32:
		return valF32
	}
	return valI32
}

// mapTypes converts a list of value types between encodings.
func mapTypes[T, U any](ts []T, f func(T) U) []U {
	out := make([]U, len(ts))
	for i, t := range ts {
		out[i] = f(t)
	}
	return out
}

// externInfo describes an imported function or an export.
type externInfo struct {
	module, name    string // module: imports only
	kind            externKind
	params, results []valType // functions
}

// instanceEnv is one instance's host state, which every host function
// reaches through the engine's binding.
type instanceEnv struct {
	ctx  context.Context
	in   *hostfuncs.Instance // nil for a pure module
	fuel *fuelMeter
	wasi *wasiState
	// engineFuelLimit bounds the engine's own fuel (wasmtime; 0: none).
	engineFuelLimit uint64
	// engine is the engine's own per-instance state.
	engine any
}

// hostFunc is one import the runtime provides, defined once for every
// engine. Exactly one of abi (the dna ABI: hostfuncs' table) and sys (WASI
// and the fuel meter's refill) is set; either reads its parameters from
// stack and writes its result to stack[0], and stops the guest by
// panicking with a hostfuncs.Trap.
type hostFunc struct {
	module, name    string
	params, results []valType
	abi             func(in *hostfuncs.Instance, mem hostfuncs.Memory, stack []uint64)
	sys             func(env *instanceEnv, c caller, stack []uint64)
}

func hostTrap(err error) hostfuncs.Trap { return hostfuncs.Trap{Err: err} }

// hostTable is every import a guest may use: the dna ABI, WASI and the
// fuel meter's refill.
var hostTable = sync.OnceValue(func() []hostFunc {
	var fs []hostFunc
	for _, f := range hostfuncs.Functions() {
		fs = append(fs, hostFunc{module: hostfuncs.ModuleName, name: f.Name,
			params: mapTypes(f.Params, fromABIType), results: mapTypes(f.Results, fromABIType), abi: f.Call})
	}
	fs = append(fs, wasiFunctions()...)
	fs = append(fs, hostFunc{module: meter.ImportModule, name: meter.ImportName,
		sys: func(env *instanceEnv, c caller, _ []uint64) {
			if env.fuel == nil {
				panic(hostTrap(ErrNoInstance))
			}
			env.fuel.refill(env.ctx, c)
		}})
	return fs
})

// hostIndex finds a host function by module and name.
var hostIndex = sync.OnceValue(func() map[[2]string]*hostFunc {
	idx := map[[2]string]*hostFunc{}
	fs := hostTable()
	for i := range fs {
		idx[[2]string{fs[i].module, fs[i].name}] = &fs[i]
	}
	return idx
})

// checkImports refuses any import but functions of the given host modules
// with their exact signatures, and requires an exported memory named
// "memory": the same rule, checked the same way, on every engine. code is
// the module the engine compiled (its import section lists every kind).
func checkImports(c compiled, code []byte, allowed ...string) error {
	all, err := meter.Imports(code)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadModule, err)
	}
	for _, im := range all {
		if !slices.Contains(allowed, im.Module) {
			if im.Module == hostfuncs.ModuleName {
				return fmt.Errorf("%w: imports %s.%s (a pure module may import only WASI)", ErrBadModule, im.Module, im.Name)
			}
			return fmt.Errorf("%w: imports %s.%s (only %s are provided)", ErrBadModule, im.Module, im.Name,
				strings.Join(quoted(allowed), " and "))
		}
		switch im.Kind {
		case 0x00:
		case 0x02:
			return fmt.Errorf("%w: imports a memory", ErrBadModule)
		default:
			return fmt.Errorf("%w: imports %s.%s, which is not a function", ErrBadModule, im.Module, im.Name)
		}
		if _, ok := hostIndex()[[2]string{im.Module, im.Name}]; !ok {
			return fmt.Errorf("%w: imports unknown function %s.%s", ErrBadModule, im.Module, im.Name)
		}
	}
	for _, im := range c.imports() {
		f := hostIndex()[[2]string{im.module, im.name}]
		if f == nil || !slices.Equal(im.params, f.params) || !slices.Equal(im.results, f.results) {
			return fmt.Errorf("%w: %s.%s imported with the wrong signature", ErrBadModule, im.module, im.name)
		}
	}
	for _, ex := range c.exports() {
		if ex.name == "memory" && ex.kind == kindMemory {
			return nil
		}
	}
	return fmt.Errorf("%w: exports no memory", ErrBadModule)
}

func quoted(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != meter.ImportModule {
			out = append(out, fmt.Sprintf("%q", s))
		}
	}
	return out
}

// exportedFuncs maps the module's exported functions to their signatures.
func exportedFuncs(c compiled) map[string]externInfo {
	out := map[string]externInfo{}
	for _, ex := range c.exports() {
		if ex.kind == kindFunc {
			out[ex.name] = ex
		}
	}
	return out
}

// maxTableElements is wazero's bound on a table's declared minimum.
const maxTableElements = 1 << 27

// checkDeclared refuses, on every engine alike, what wazero refuses when it
// compiles under this limit: a memory whose minimum exceeds pages, or a
// table declaring more than 2^27 elements. (wasmtime would find the first
// only when instantiating, and has no bound of its own for the second.)
func checkDeclared(code []byte, pages uint32) error {
	mems, tables, err := meter.Declared(code)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadModule, err)
	}
	for _, l := range mems {
		if l.Min > pages {
			return fmt.Errorf("%w: memory min %d pages over the limit of %d pages", ErrBadModule, l.Min, pages)
		}
	}
	for _, l := range tables {
		if l.Min > maxTableElements {
			return fmt.Errorf("%w: table min %d elements over the limit of %d", ErrBadModule, l.Min, maxTableElements)
		}
	}
	return nil
}
