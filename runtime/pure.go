package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/runtime/internal/meter"
)

// PureLimits bound one call of a pure module. The zero value means the
// defaults.
type PureLimits struct {
	MemoryPages uint32        // guest memory (default 1024 pages, 64 MiB)
	Timeout     time.Duration // wall clock per call (default 2 s)
	Fuel        uint64        // function entries and loop iterations per call (default 2^30)
	MaxOutput   int           // bytes a call may return (default 1 MiB)
}

func (l PureLimits) withDefaults() PureLimits {
	if l.MemoryPages == 0 {
		l.MemoryPages = 1024
	}
	if l.Fuel == 0 {
		l.Fuel = 1 << 30
	}
	if l.Timeout == 0 {
		l.Timeout = 2 * time.Second
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = 1 << 20
	}
	return l
}

// ErrOutput reports a pure module whose result is out of bounds.
var ErrOutput = errors.New("module returned an invalid result")

// PureModule runs a WebAssembly module as a pure function from bytes to
// bytes — a bundle's consensus rule. It imports nothing but the closed,
// deterministic WASI of inference guests; every call gets a fresh instance,
// so no state survives from one call to the next. It exports dna_alloc
// (size) → ptr and entry points (ptr, len) → i64, where a non-negative
// result is ptr<<32 | len of the output in its memory.
type PureModule struct {
	rt  *Runtime
	cm  compiled
	lim PureLimits
}

// LoadPure compiles a pure module.
func (r *Runtime) LoadPure(ctx context.Context, code []byte, lim PureLimits, entries ...string) (*PureModule, error) {
	lim = lim.withDefaults()
	if lim.MemoryPages > r.cfg.MaxMemoryPages {
		return nil, fmt.Errorf("%w: %d memory pages, node allows %d", ErrLimits, lim.MemoryPages, r.cfg.MaxMemoryPages)
	}
	code, err := r.instrument(code)
	if err != nil {
		return nil, err
	}
	if err := checkDeclared(code, lim.MemoryPages); err != nil {
		return nil, err
	}
	cm, err := r.eng.compile(ctx, code, lim.MemoryPages)
	if err != nil {
		return nil, err
	}
	p := &PureModule{rt: r, lim: lim, cm: cm}
	if err := checkImports(cm, code, wasiModule, meter.ImportModule); err != nil {
		p.Close(ctx)
		return nil, err
	}
	exports := exportedFuncs(cm)
	if def, ok := exports["dna_alloc"]; !ok || len(def.params) != 1 || len(def.results) != 1 {
		p.Close(ctx)
		return nil, fmt.Errorf("%w: no dna_alloc(size) export", ErrBadModule)
	}
	for _, e := range entries {
		def, ok := exports[e]
		if !ok || len(def.params) != 2 || len(def.results) != 1 || def.results[0] != valI64 {
			p.Close(ctx)
			return nil, fmt.Errorf("%w: no %s(ptr, len) → i64 export", ErrBadModule, e)
		}
	}
	return p, nil
}

// Call runs entry on input in a fresh instance.
func (p *PureModule) Call(ctx context.Context, entry string, input []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.lim.Timeout)
	defer cancel()
	fuel := newFuelMeter(p.lim.Fuel)
	stderr := &tailBuffer{max: 2048}
	seed := keys.SHA256([]byte("dna-pure-random"), input)
	env := &instanceEnv{fuel: fuel, wasi: &wasiState{clock: &fakeClock{}, rand: rand.NewChaCha8(seed), stderr: stderr}}
	ctx = context.WithValue(ctx, envKey{}, env)
	env.ctx = ctx
	inst, err := p.cm.instantiate(ctx, env)
	if err != nil {
		return nil, classify(ctx, err, stderr.String(), "instantiate")
	}
	defer inst.close()
	if err := fuel.start(inst); err != nil {
		return nil, fmt.Errorf("%s: %w", entry, err)
	}
	fail := func(err error) ([]byte, error) { return nil, classify(ctx, err, stderr.String(), entry) }
	stack := []uint64{uint64(max(len(input), 1)), 0}
	if err := inst.export("dna_alloc").call(ctx, stack); err != nil {
		return fail(err)
	}
	ptr := uint32(stack[0])
	if ptr == 0 || !inst.memory().Write(ptr, input) {
		return nil, fmt.Errorf("%s: %w: dna_alloc gave no room for %d bytes", entry, ErrOutput, len(input))
	}
	stack[0], stack[1] = uint64(ptr), uint64(len(input))
	if err := inst.export(entry).call(ctx, stack); err != nil {
		return fail(err)
	}
	v := int64(stack[0])
	if v < 0 {
		return nil, fmt.Errorf("%s: %w (code %d): %s", entry, ErrGuest, v, guestReport(stderr.String()))
	}
	optr, olen := uint32(uint64(v)>>32), uint32(v)
	if int(olen) > p.lim.MaxOutput {
		return nil, fmt.Errorf("%s: %w: %d bytes, limit %d", entry, ErrOutput, olen, p.lim.MaxOutput)
	}
	out, ok := inst.memory().Read(optr, olen)
	if !ok {
		return nil, fmt.Errorf("%s: %w: [%#x,+%d) outside memory", entry, ErrOutput, optr, olen)
	}
	return append([]byte(nil), out...), nil
}

// Close frees the compiled module.
func (p *PureModule) Close(ctx context.Context) error { return p.cm.close(ctx) }
