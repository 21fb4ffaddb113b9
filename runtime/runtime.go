package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/kernels/cpu"
)

// Node-wide caps. A bundle asking for more is refused.
const (
	DefaultMaxMemoryPages = 4096    // 256 MiB of guest memory
	DefaultMaxTensorBytes = 8 << 30 // host tensor memory per instance
)

// Config configures a Runtime. The zero value means: the wazero compiler, a
// compilation cache in the user cache directory, a CPU backend on all cores,
// and the default caps.
type Config struct {
	Engine Engine
	// CacheDir holds compiled modules between runs (every engine's, each
	// under its own names); "" means $XDG_CACHE_HOME/dnahost/wazero (or the
	// platform's equivalent).
	CacheDir string
	// NoDiskCache disables the on-disk compilation cache.
	NoDiskCache bool
	// Backend computes the host kernels; nil means a CPU backend.
	Backend kernels.Backend
	// MaxMemoryPages caps any bundle's guest memory (0: default).
	MaxMemoryPages uint32
	// MaxTensorBytes caps any instance's host tensor memory (0: default).
	MaxTensorBytes int64
	// Logger receives runtime and guest logs (nil: discard).
	Logger *slog.Logger
}

// Validate reports a config that cannot be used.
func (c Config) Validate() error {
	if _, err := ParseEngine(string(c.Engine)); err != nil {
		return err
	}
	if c.MaxMemoryPages > 65536 {
		return fmt.Errorf("runtime: max memory pages %d exceeds 65536", c.MaxMemoryPages)
	}
	if c.MaxTensorBytes < 0 {
		return errors.New("runtime: negative max tensor bytes")
	}
	return nil
}

// Runtime compiles and runs bundles. It is safe for concurrent use.
type Runtime struct {
	cfg      Config
	eng      engine
	backend  kernels.Backend
	ownsBE   bool
	log      *slog.Logger
	engine   Engine
	cacheDir string
}

// New makes a Runtime.
func New(ctx context.Context, c Config) (*Runtime, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Runtime{cfg: c, backend: c.Backend, log: c.Logger}
	r.engine, _ = ParseEngine(string(c.Engine))
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.cfg.MaxMemoryPages == 0 {
		r.cfg.MaxMemoryPages = DefaultMaxMemoryPages
	}
	if r.cfg.MaxTensorBytes == 0 {
		r.cfg.MaxTensorBytes = DefaultMaxTensorBytes
	}
	if !c.NoDiskCache {
		r.cacheDir = c.CacheDir
		if r.cacheDir == "" {
			r.cacheDir = defaultCacheDir()
		}
	}
	eng, err := engineFactories[r.engine](r)
	if err != nil {
		return nil, err
	}
	r.eng = eng
	if r.backend == nil {
		be, err := cpu.New(cpu.Options{})
		if err != nil {
			eng.close(ctx)
			return nil, err
		}
		r.backend, r.ownsBE = be, true
	}
	return r, nil
}

// Backend is the kernel backend in use.
func (r *Runtime) Backend() kernels.Backend { return r.backend }

// Engine is the engine in use.
func (r *Runtime) Engine() Engine { return r.engine }

// CacheDir is the on-disk compilation cache, or "" when there is none.
func (r *Runtime) CacheDir() string { return r.cacheDir }

// Close releases the engine and, if the runtime made it, the backend.
// Models loaded from it must be closed first.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.eng.close(ctx)
	if r.ownsBE {
		err = errors.Join(err, r.backend.Close())
	}
	return err
}

// engineFuel reports whether the engine meters its own fuel.
func (r *Runtime) engineFuel() bool { return r.engine == EngineWasmtime }
