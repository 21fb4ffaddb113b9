package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime/internal/meter"
)

// Model is a loaded bundle: its inference module compiled once, its weights
// on the backend, ready to instantiate per job. It is safe for concurrent
// use; each Session is one instance.
type Model struct {
	rt       *Runtime
	b        *bundle.Bundle
	m        *bundle.Manifest
	wz       wazero.Runtime
	compiled wazero.CompiledModule
	weights  map[string]kernels.Tensor
	pages    uint32
	limits   hostfuncs.Limits

	filesMu sync.Mutex
	files   map[string]kernels.Tensor
}

type instanceKey struct{}

// required guest exports and their signatures (all i32).
var guestExports = map[string][2]int{ // name → (params, results)
	"dna_init":       {0, 1},
	"dna_alloc":      {1, 1},
	"dna_tokenize":   {4, 1},
	"dna_detokenize": {4, 1},
	"dna_forward":    {4, 1},
}

// Load compiles a bundle's inference module and loads its weights.
func (r *Runtime) Load(ctx context.Context, b *bundle.Bundle) (*Model, error) {
	m := b.Manifest()
	res := m.Resources
	pages := res.MemoryPages
	if pages == 0 {
		pages = r.cfg.MaxMemoryPages
	}
	if pages > r.cfg.MaxMemoryPages {
		return nil, fmt.Errorf("%w: %d memory pages, node allows %d", ErrLimits, pages, r.cfg.MaxMemoryPages)
	}
	tb := res.TensorBytes
	if tb == 0 {
		tb = r.cfg.MaxTensorBytes
	}
	if tb > r.cfg.MaxTensorBytes {
		return nil, fmt.Errorf("%w: %d tensor bytes per instance, node allows %d", ErrLimits, tb, r.cfg.MaxTensorBytes)
	}
	code, err := b.File(m.Entry.Inference)
	if err != nil {
		return nil, err
	}
	md := &Model{rt: r, b: b, m: m, pages: pages, files: map[string]kernels.Tensor{},
		limits: hostfuncs.Limits{MaxHandles: res.Handles, MaxTensorBytes: tb, MaxPositions: m.Model.ContextLength}}
	md.wz = wazero.NewRuntimeWithConfig(ctx, r.wazeroConfig(pages))
	ok := false
	defer func() {
		if !ok {
			md.Close(ctx)
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, md.wz); err != nil {
		return nil, err
	}
	if err := instantiateHost(ctx, md.wz); err != nil {
		return nil, err
	}
	if err := instantiateMeter(ctx, md.wz); err != nil {
		return nil, err
	}
	if code, err = r.instrument(code); err != nil {
		return nil, err
	}
	md.compiled, err = md.wz.CompileModule(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModule, err)
	}
	if err := checkModule(md.compiled); err != nil {
		return nil, err
	}
	if err := md.loadWeights(); err != nil {
		return nil, err
	}
	ok = true
	return md, nil
}

func valueType(t hostfuncs.ValueType) api.ValueType {
	switch t {
	case hostfuncs.I64:
		return api.ValueTypeI64
	case hostfuncs.F32:
		return api.ValueTypeF32
	}
	return api.ValueTypeI32
}

func valueTypes(ts []hostfuncs.ValueType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = valueType(t)
	}
	return out
}

// instantiateHost binds the engine-neutral ABI table to wazero.
func instantiateHost(ctx context.Context, wz wazero.Runtime) error {
	hb := wz.NewHostModuleBuilder(hostfuncs.ModuleName)
	for _, f := range hostfuncs.Functions() {
		call := f.Call
		hb.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				in, _ := ctx.Value(instanceKey{}).(*hostfuncs.Instance)
				if in == nil {
					panic(hostfuncs.Trap{Err: ErrNoInstance})
				}
				call(in, mod.Memory(), stack)
			}), valueTypes(f.Params), valueTypes(f.Results)).
			WithName(f.Name).
			Export(f.Name)
	}
	_, err := hb.Instantiate(ctx)
	return err
}

// checkModule rejects modules that import anything but the ABI and WASI,
// or that lack the guest exports.
func checkModule(cm wazero.CompiledModule) error {
	abi := map[string]hostfuncs.Function{}
	for _, f := range hostfuncs.Functions() {
		abi[f.Name] = f
	}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case hostfuncs.ModuleName:
			f, ok := abi[name]
			if !ok {
				return fmt.Errorf("%w: imports unknown function dna.%s", ErrBadModule, name)
			}
			if !slices.Equal(def.ParamTypes(), valueTypes(f.Params)) || !slices.Equal(def.ResultTypes(), valueTypes(f.Results)) {
				return fmt.Errorf("%w: dna.%s imported with the wrong signature", ErrBadModule, name)
			}
		case wasi_snapshot_preview1.ModuleName:
		case meter.ImportModule: // added by instrument; a guest's own import of it is refused there
		default:
			return fmt.Errorf("%w: imports %s.%s (only %q and %q are provided)", ErrBadModule, mod, name,
				hostfuncs.ModuleName, wasi_snapshot_preview1.ModuleName)
		}
	}
	if len(cm.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: imports a memory", ErrBadModule)
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: exports no memory", ErrBadModule)
	}
	exports := cm.ExportedFunctions()
	var missing []string
	for name, sig := range guestExports {
		def, ok := exports[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if len(def.ParamTypes()) != sig[0] || len(def.ResultTypes()) != sig[1] || !allI32(def.ParamTypes()) || !allI32(def.ResultTypes()) {
			return fmt.Errorf("%w: export %s has the wrong signature", ErrBadModule, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing exports %s", ErrBadModule, strings.Join(missing, ", "))
	}
	return nil
}

func allI32(ts []api.ValueType) bool {
	for _, t := range ts {
		if t != api.ValueTypeI32 {
			return false
		}
	}
	return true
}

// loadWeights puts every tensor of the weights file on the backend.
func (md *Model) loadWeights() error {
	md.weights = map[string]kernels.Tensor{}
	if md.m.Weights == "" {
		return nil
	}
	data, err := md.b.File(md.m.Weights)
	if err != nil {
		return err
	}
	tf, err := bundle.ParseTensors(data)
	if err != nil {
		return err
	}
	be := md.rt.backend
	for _, ti := range tf.Infos() {
		_, raw, _ := tf.Lookup(ti.Name)
		t, err := be.Load(ti.DType, ti.Rows, ti.Cols, raw)
		if err != nil {
			return fmt.Errorf("runtime: loading weight %s: %w", ti.Name, err)
		}
		md.weights[ti.Name] = t
	}
	return nil
}

// Bundle is the loaded bundle.
func (md *Model) Bundle() *bundle.Bundle { return md.b }

// Manifest is the bundle's manifest.
func (md *Model) Manifest() *bundle.Manifest { return md.m }

// Runtime is the runtime the model was loaded into.
func (md *Model) Runtime() *Runtime { return md.rt }

// Close frees the weights and the compiled module.
func (md *Model) Close(ctx context.Context) error {
	var err error
	if md.wz != nil {
		err = md.wz.Close(ctx)
	}
	for _, t := range md.weights {
		md.rt.backend.Free(t)
	}
	md.filesMu.Lock()
	for _, t := range md.files {
		md.rt.backend.Free(t)
	}
	md.files = nil
	md.filesMu.Unlock()
	md.weights = nil
	return err
}

// source is the hostfuncs.Source of a model.
type source struct{ md *Model }

func (s source) Weight(name string) (kernels.Tensor, error) {
	t, ok := s.md.weights[name]
	if !ok {
		return nil, hostfuncs.ErrNotFound
	}
	return t, nil
}

func (s source) File(name string) (kernels.Tensor, error) {
	md := s.md
	md.filesMu.Lock()
	defer md.filesMu.Unlock()
	if t, ok := md.files[name]; ok {
		return t, nil
	}
	data, err := md.b.File(name)
	if err != nil {
		return nil, hostfuncs.ErrNotFound
	}
	if len(data) == 0 || len(data) > kernels.MaxDim {
		return nil, errors.New("file is empty or too large to open")
	}
	t, err := md.rt.backend.Load(kernels.U8, 1, len(data), data)
	if err != nil {
		return nil, err
	}
	md.files[name] = t
	return t, nil
}

func (s source) Config(key string) (string, bool) {
	v, ok := s.md.m.Config[key]
	return v, ok
}
