//go:build wasmtime && cgo

package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"time"

	wasmtime "github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/dnahost/dnahost/runtime/internal/meter"
)

// The wasmtime engine: Cranelift-compiled code with wasmtime's own fuel
// (Config.SetConsumeFuel) and epoch interruption for the wall clock,
// compiled modules serialized into the cache directory. It binds the same
// host table as wazero (hostTable) and runs the same fuel-instrumented
// bytes, so a guest observes nothing that depends on the engine.

func init() { engineFactories[EngineWasmtime] = newWasmtime }

// wasmtimeVersion names the engine and its configuration in cached
// artifacts; wasmtime also refuses artifacts of another version or config.
const wasmtimeVersion = "wasmtime-go/v39.0.1;dna-config-1"

// epochTick is how often a running engine's epoch advances: the wall
// clock's resolution on wasmtime.
const epochTick = 2 * time.Millisecond

// trapOutOfFuel is WASMTIME_TRAP_CODE_OUT_OF_FUEL of the C API (12):
// wasmtime-go v39's OutOfFuel constant (11) is the C API's
// ALWAYS_TRAP_ADAPTER, one short since the C enum gained that code.
const trapOutOfFuel wasmtime.TrapCode = 12

// unlimitedEngineFuel is the fuel a store gets when its job sets no limit.
const unlimitedEngineFuel = 1 << 62

type wasmtimeEngine struct {
	eng      *wasmtime.Engine
	cacheDir string // serialized modules; "" when there is no disk cache
	log      interface{ Warn(string, ...any) }
	epoch    epochTicker
}

func newWasmtime(r *Runtime) (engine, error) {
	cfg := wasmtime.NewConfig()
	cfg.SetConsumeFuel(true)
	cfg.SetEpochInterruption(true)
	// The feature set of wazero's core features v2 (which the fuel
	// instrumenter further narrows): nothing later is enabled.
	cfg.SetWasmThreads(false)
	cfg.SetWasmTailCall(false)
	cfg.SetWasmMultiMemory(false)
	cfg.SetWasmMemory64(false)
	cfg.SetWasmRelaxedSIMD(false)
	cfg.SetWasmFunctionReferences(false)
	cfg.SetWasmGC(false)
	cfg.SetWasmWideArithmetic(false)
	cfg.SetWasmSIMD(true)
	cfg.SetWasmReferenceTypes(true)
	cfg.SetWasmBulkMemory(true)
	cfg.SetWasmMultiValue(true)
	cfg.SetDebugInfo(false)
	cfg.SetCraneliftOptLevel(wasmtime.OptLevelSpeed)
	e := &wasmtimeEngine{eng: wasmtime.NewEngineWithConfig(cfg), log: r.log}
	e.epoch.eng = e.eng
	if r.cacheDir != "" {
		e.cacheDir = filepath.Join(r.cacheDir, "dna-wasmtime")
	}
	return e, nil
}

func (e *wasmtimeEngine) close(context.Context) error {
	e.epoch.mu.Lock()
	e.epoch.closed = true
	e.epoch.mu.Unlock()
	e.eng.Close()
	return nil
}

// compile loads a serialized module from the cache, else compiles and
// caches it. The cache holds this node's own output only (the same trust
// as wazero's compilation cache): wasmtime maps it as trusted code.
func (e *wasmtimeEngine) compile(ctx context.Context, code []byte, pages uint32) (compiled, error) {
	var path string
	var mod *wasmtime.Module
	if e.cacheDir != "" {
		sum := sha256.Sum256(append([]byte(wasmtimeVersion), code...))
		path = filepath.Join(e.cacheDir, hex.EncodeToString(sum[:])+".cwasm")
		if m, err := wasmtime.NewModuleDeserializeFile(e.eng, path); err == nil {
			mod = m
		}
	}
	if mod == nil {
		m, err := wasmtime.NewModule(e.eng, code)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBadModule, wasmtimeMessage(err))
		}
		mod = m
		if path != "" {
			if b, err := mod.Serialize(); err != nil {
				e.log.Warn("compiled module not cached", "err", err)
			} else if err := writeFileAtomic(path, b); err != nil {
				e.log.Warn("compiled module not cached", "err", err)
			}
		}
	}
	m := &wasmtimeModule{e: e, mod: mod, pages: pages, linker: wasmtime.NewLinker(e.eng)}
	if err := m.bindHost(); err != nil {
		m.close(ctx)
		return nil, err
	}
	return m, nil
}

// wasmtimeMessage is an error's first paragraph, without wasmtime's
// backtraces.
func wasmtimeMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\n\nStack backtrace:"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(strings.ReplaceAll(msg, "\n\nCaused by:\n", ": "))
}

type wasmtimeModule struct {
	e      *wasmtimeEngine
	mod    *wasmtime.Module
	pages  uint32
	linker *wasmtime.Linker
}

func (m *wasmtimeModule) close(context.Context) error {
	m.linker.Close()
	m.mod.Close()
	return nil
}

func wasmtimeValType(t valType) *wasmtime.ValType {
	switch t {
	case valI64:
		return wasmtime.NewValType(wasmtime.KindI64)
	case valF32:
		return wasmtime.NewValType(wasmtime.KindF32)
	case valF64:
		return wasmtime.NewValType(wasmtime.KindF64)
	}
	return wasmtime.NewValType(wasmtime.KindI32)
}

func fromWasmtimeType(t *wasmtime.ValType) valType {
	switch t.Kind() {
	case wasmtime.KindI32:
		return valI32
	case wasmtime.KindI64:
		return valI64
	case wasmtime.KindF32:
		return valF32
	case wasmtime.KindF64:
		return valF64
	case wasmtime.KindFuncref:
		return valFuncref
	case wasmtime.KindExternref:
		return valExternref
	}
	return valV128
}

// bindHost defines the host table in the module's linker. Each function
// finds its instance's env in the store's data.
func (m *wasmtimeModule) bindHost() error {
	for _, f := range hostTable() {
		f := f
		ft := wasmtime.NewFuncType(mapTypes(f.params, wasmtimeValType), mapTypes(f.results, wasmtimeValType))
		err := m.linker.FuncNew(f.module, f.name, ft,
			func(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
				env, _ := c.Data().(*instanceEnv)
				if env == nil {
					return nil, wasmtime.NewTrap(ErrNoInstance.Error())
				}
				st := env.engine.(*wasmtimeState)
				return st.hostCall(env, &f, c, args)
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *wasmtimeModule) imports() []externInfo {
	var out []externInfo
	for _, im := range m.mod.Imports() {
		ft := im.Type().FuncType()
		if ft == nil {
			continue
		}
		name := ""
		if n := im.Name(); n != nil {
			name = *n
		}
		out = append(out, externInfo{module: im.Module(), name: name, kind: kindFunc,
			params: mapTypes(ft.Params(), fromWasmtimeType), results: mapTypes(ft.Results(), fromWasmtimeType)})
	}
	return out
}

func (m *wasmtimeModule) exports() []externInfo {
	var out []externInfo
	for _, ex := range m.mod.Exports() {
		t := ex.Type()
		switch {
		case t.FuncType() != nil:
			ft := t.FuncType()
			out = append(out, externInfo{name: ex.Name(), kind: kindFunc,
				params: mapTypes(ft.Params(), fromWasmtimeType), results: mapTypes(ft.Results(), fromWasmtimeType)})
		case t.MemoryType() != nil:
			out = append(out, externInfo{name: ex.Name(), kind: kindMemory})
		case t.GlobalType() != nil:
			out = append(out, externInfo{name: ex.Name(), kind: kindGlobal})
		case t.TableType() != nil:
			out = append(out, externInfo{name: ex.Name(), kind: kindTable})
		default:
			out = append(out, externInfo{name: ex.Name(), kind: kindOther})
		}
	}
	return out
}

// wasmtimeState is an instance's engine state, kept in its env.
type wasmtimeState struct {
	e         *wasmtimeEngine
	store     *wasmtime.Store
	inst      *wasmtime.Instance
	caller    *wasmtime.Caller // during a host call
	mem       *wasmtime.Memory
	fuel      *wasmtime.Global
	fuelGiven uint64
	hostErr   error           // what stopped the guest in a host call
	heavy     map[string]bool // imports whose last call had an operation worth offloading
	stack     [16]uint64
	result    [1]wasmtime.Val
}

func (s *wasmtimeState) storelike() wasmtime.Storelike {
	if s.caller != nil {
		return s.caller
	}
	return s.store
}

func (s *wasmtimeState) export(name string) *wasmtime.Extern {
	if s.caller != nil {
		return s.caller.GetExport(name)
	}
	if s.inst != nil {
		return s.inst.GetExport(s.store, name)
	}
	return nil
}

func (s *wasmtimeState) memory() *wasmtime.Memory {
	if s.mem == nil {
		if ext := s.export("memory"); ext != nil {
			s.mem = ext.Memory()
		}
	}
	return s.mem
}

// Read is wazero's api.Memory.Read over wasmtime's memory.
func (s *wasmtimeState) Read(off, n uint32) ([]byte, bool) {
	mem := s.memory()
	if mem == nil {
		return nil, false
	}
	data := mem.UnsafeData(s.storelike())
	if uint64(off)+uint64(n) > uint64(len(data)) {
		return nil, false
	}
	return data[off : off+n : off+n], true
}

func (s *wasmtimeState) Write(off uint32, b []byte) bool {
	if uint64(len(b)) > math.MaxUint32 {
		return false
	}
	dst, ok := s.Read(off, uint32(len(b)))
	if ok {
		copy(dst, b)
	}
	return ok
}

func (s *wasmtimeState) fuelGlobal() *wasmtime.Global {
	if s.fuel == nil {
		ext := s.export(meter.ExportFuel)
		if ext == nil || ext.Global() == nil {
			panic(hostTrap(fmt.Errorf("%w: fuel global missing", ErrBadModule)))
		}
		s.fuel = ext.Global()
	}
	return s.fuel
}

func (s *wasmtimeState) getFuel() int64 { return s.fuelGlobal().Get(s.storelike()).I64() }
func (s *wasmtimeState) setFuel(v int64) {
	if err := s.fuelGlobal().Set(s.storelike(), wasmtime.ValI64(v)); err != nil {
		panic(hostTrap(err))
	}
}

// hostCall runs one host function: wasmtime's values to and from the
// table's stack convention, and a host trap (or any panic, as wazero
// recovers them) into a wasmtime trap, its cause kept for the caller.
func (s *wasmtimeState) hostCall(env *instanceEnv, f *hostFunc, c *wasmtime.Caller, args []wasmtime.Val) (res []wasmtime.Val, trap *wasmtime.Trap) {
	s.caller = c
	defer func() {
		s.caller = nil
		if r := recover(); r != nil {
			err, ok := r.(error)
			if !ok {
				err = fmt.Errorf("host function %s.%s panicked: %v", f.module, f.name, r)
			}
			s.hostErr = err
			res, trap = nil, wasmtime.NewTrap(err.Error())
		}
	}()
	stack := s.stack[:max(len(args), len(f.results))]
	for i, a := range args {
		switch a.Kind() {
		case wasmtime.KindI32:
			stack[i] = uint64(uint32(a.I32()))
		case wasmtime.KindI64:
			stack[i] = uint64(a.I64())
		case wasmtime.KindF32:
			stack[i] = uint64(math.Float32bits(a.F32()))
		case wasmtime.KindF64:
			stack[i] = math.Float64bits(a.F64())
		}
	}
	switch {
	case f.abi == nil:
		f.sys(env, s, stack)
	case env.in == nil:
		panic(hostTrap(ErrNoInstance))
	case offloaded[f.name]:
		// Decide by the previous call's largest operation: the next call
		// of an import is usually of the same shapes (decoding steps).
		env.in.TakeLargestCharge()
		if s.heavy[f.name] {
			offload(func() { f.abi(env.in, s, stack) })
		} else {
			f.abi(env.in, s, stack)
		}
		if s.heavy == nil {
			s.heavy = map[string]bool{}
		}
		s.heavy[f.name] = env.in.TakeLargestCharge() >= offloadAfter
	default:
		f.abi(env.in, s, stack)
	}
	if len(f.results) == 0 {
		return nil, nil
	}
	switch f.results[0] {
	case valI64:
		s.result[0] = wasmtime.ValI64(int64(stack[0]))
	default:
		s.result[0] = wasmtime.ValI32(int32(uint32(stack[0])))
	}
	return s.result[:], nil
}

// offloaded are the imports that run kernels. A host function called from
// wasmtime runs in a cgo callback, on an OS thread locked to its
// goroutine; a kernel that forks work to other goroutines and joins them
// makes the scheduler wake that particular thread at every join (tens of
// microseconds each, per operation of an exec batch: the stories15M shape
// decoded 2.5x slower). When the previous call of such an import had an
// operation priced at offloadAfter work units or more (about where the CPU
// kernels start forking), the call runs on an ordinary goroutine, so the
// locked thread waits once per call; calls whose operations stay small
// (small models: nothing forks) run on the thread, where handing off would
// cost that one wait per call. Prices depend on shapes only, so the choice
// does too, and it changes no result.
const offloadAfter = 1 << 16

var offloaded = map[string]bool{
	"exec": true, "matmul": true, "embed": true, "rmsnorm": true, "rope": true, "attention": true,
	"softmax": true, "silu_mul": true, "add": true, "mul": true, "tensor_copy": true, "sample": true,
}

// offload runs f on another goroutine and waits, passing back its panic.
func offload(f func()) {
	var p any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { p = recover() }()
		f()
	}()
	<-done
	if p != nil {
		panic(p)
	}
}

// outcome turns what a call into wasm returned into the runtime's terms:
// host decisions (a host function's trap, the deadline, fuel) become
// hostfuncs.Trap, as wazero reports them.
func (s *wasmtimeState) outcome(err error, limit uint64) error {
	if err == nil {
		return nil
	}
	if s.hostErr != nil {
		herr := s.hostErr
		s.hostErr = nil
		return herr
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		if code := trap.Code(); code != nil {
			switch *code {
			case wasmtime.Interrupt:
				return hostTrap(ErrTimeout)
			case trapOutOfFuel:
				return hostTrap(fmt.Errorf("%w (%d units)", ErrEngineFuel, limit))
			}
		}
		return errors.New(trapReason(trap.Message()))
	}
	return errors.New(wasmtimeMessage(err))
}

// trapReason is the "wasm trap: ..." line of a trap's message (which
// otherwise holds wasm and native backtraces), else its first line.
func trapReason(msg string) string {
	if i := strings.Index(msg, "wasm trap: "); i >= 0 {
		msg = msg[i:]
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// setDeadline arms the store's epoch deadline from ctx; it reports whether
// the epoch ticker is needed.
func (s *wasmtimeState) setDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	if !ok {
		s.store.SetEpochDeadline(1 << 62)
		return false
	}
	left := time.Until(d)
	ticks := uint64(1)
	if left > 0 {
		ticks = uint64(left/epochTick) + 2
	}
	s.store.SetEpochDeadline(ticks)
	return true
}

func (m *wasmtimeModule) instantiate(ctx context.Context, env *instanceEnv) (instance, error) {
	store := wasmtime.NewStoreWithData(m.e.eng, env)
	// Memory as wazero's WithMemoryLimitPages; tables as wazero's own
	// bound (2^27 elements); instances, tables and memories as one module.
	store.Limiter(int64(m.pages)*65536, 1<<27, -1, -1, -1)
	st := &wasmtimeState{e: m.e, store: store}
	env.engine = st
	st.fuelGiven = unlimitedEngineFuel
	if env.engineFuelLimit > 0 {
		st.fuelGiven = env.engineFuelLimit
	}
	if err := store.SetFuel(st.fuelGiven); err != nil {
		store.Close()
		return nil, err
	}
	inst := &wasmtimeInstance{st: st, limit: env.engineFuelLimit}
	err := inst.enter(ctx, func() error {
		var err error
		st.inst, err = m.linker.Instantiate(store, m.mod)
		return err
	})
	if err == nil {
		// As wazero's WithStartFunctions("_initialize"): an exported
		// function of that name runs, with no arguments.
		if f := st.inst.GetFunc(store, "_initialize"); f != nil {
			err = inst.enter(ctx, func() error {
				_, err := f.Call(store)
				return err
			})
		}
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	return inst, nil
}

type wasmtimeInstance struct {
	st    *wasmtimeState
	limit uint64
}

// enter runs wasm under the context's deadline.
func (i *wasmtimeInstance) enter(ctx context.Context, run func() error) error {
	if i.st.setDeadline(ctx) {
		i.st.e.epoch.acquire()
		defer i.st.e.epoch.release()
	}
	return i.st.outcome(run(), i.limit)
}

type wasmtimeFunc struct {
	i      *wasmtimeInstance
	f      *wasmtime.Func
	params []valType
}

func (i *wasmtimeInstance) export(name string) guestFunc {
	f := i.st.inst.GetFunc(i.st.store, name)
	if f == nil {
		return nil
	}
	return &wasmtimeFunc{i: i, f: f, params: mapTypes(f.Type(i.st.store).Params(), fromWasmtimeType)}
}

func (f *wasmtimeFunc) call(ctx context.Context, stack []uint64) error {
	args := make([]any, len(f.params))
	for k, t := range f.params {
		switch t {
		case valI64:
			args[k] = int64(stack[k])
		case valF32:
			args[k] = math.Float32frombits(uint32(stack[k]))
		case valF64:
			args[k] = math.Float64frombits(stack[k])
		default:
			args[k] = int32(uint32(stack[k]))
		}
	}
	var res any
	err := f.i.enter(ctx, func() error {
		var err error
		res, err = f.f.Call(f.i.st.store, args...)
		return err
	})
	if err != nil {
		return err
	}
	switch v := res.(type) {
	case int32:
		stack[0] = uint64(uint32(v))
	case int64:
		stack[0] = uint64(v)
	case float32:
		stack[0] = uint64(math.Float32bits(v))
	case float64:
		stack[0] = math.Float64bits(v)
	}
	return nil
}

func (i *wasmtimeInstance) memory() guestMemory { return i.st }
func (i *wasmtimeInstance) getFuel() int64      { return i.st.getFuel() }
func (i *wasmtimeInstance) setFuel(v int64)     { i.st.setFuel(v) }
func (i *wasmtimeInstance) close()              { i.st.store.Close() }

func (i *wasmtimeInstance) engineFuel() uint64 {
	left, err := i.st.store.GetFuel()
	if err != nil {
		return 0
	}
	return i.st.fuelGiven - left
}

// epochTicker advances the engine's epoch while any call with a deadline
// runs, and stops when none has run for a while.
type epochTicker struct {
	eng     *wasmtime.Engine
	mu      sync.Mutex
	active  int
	running bool
	closed  bool
}

func (t *epochTicker) acquire() {
	t.mu.Lock()
	t.active++
	if !t.running {
		t.running = true
		go t.loop()
	}
	t.mu.Unlock()
}

func (t *epochTicker) release() {
	t.mu.Lock()
	t.active--
	t.mu.Unlock()
}

func (t *epochTicker) loop() {
	tick := time.NewTicker(epochTick)
	defer tick.Stop()
	idle := 0
	for range tick.C {
		t.mu.Lock()
		if t.closed {
			t.running = false
			t.mu.Unlock()
			return
		}
		t.eng.IncrementEpoch()
		if t.active == 0 {
			if idle++; idle >= 50 {
				t.running = false
				t.mu.Unlock()
				return
			}
		} else {
			idle = 0
		}
		t.mu.Unlock()
	}
}
