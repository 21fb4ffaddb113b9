package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime/internal/meter"
)

// Model is a loaded bundle: its inference module compiled once, its weights
// on the backend, ready to instantiate per job. It is safe for concurrent
// use; each Session is one instance.
type Model struct {
	rt      *Runtime
	b       *bundle.Bundle
	m       *bundle.Manifest
	cm      compiled
	weights map[string]kernels.Tensor
	pages   uint32
	limits  hostfuncs.Limits

	filesMu sync.Mutex
	files   map[string]kernels.Tensor
}

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
	ok := false
	defer func() {
		if !ok {
			md.Close(ctx)
		}
	}()
	if code, err = r.instrument(code); err != nil {
		return nil, err
	}
	if err := checkDeclared(code, pages); err != nil {
		return nil, err
	}
	if md.cm, err = r.eng.compile(ctx, code, pages); err != nil {
		return nil, err
	}
	if err := checkModule(md.cm, code); err != nil {
		return nil, err
	}
	if err := md.loadWeights(); err != nil {
		return nil, err
	}
	ok = true
	return md, nil
}

// checkModule rejects modules that import anything but the ABI and WASI,
// or that lack the guest exports.
func checkModule(cm compiled, code []byte) error {
	if err := checkImports(cm, code, hostfuncs.ModuleName, wasiModule, meter.ImportModule); err != nil {
		return err
	}
	exports := exportedFuncs(cm)
	var missing []string
	names := slices.Sorted(maps.Keys(guestExports))
	for _, name := range names {
		sig := guestExports[name]
		def, ok := exports[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if len(def.params) != sig[0] || len(def.results) != sig[1] || !allI32(def.params) || !allI32(def.results) {
			return fmt.Errorf("%w: export %s has the wrong signature", ErrBadModule, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing exports %s", ErrBadModule, strings.Join(missing, ", "))
	}
	return nil
}

func allI32(ts []valType) bool {
	for _, t := range ts {
		if t != valI32 {
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
	if md.cm != nil {
		err = md.cm.close(ctx)
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
