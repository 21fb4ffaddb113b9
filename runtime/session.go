package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
)

// Guest is the inference code of one instance: the bundle's WebAssembly
// module normally, or a native Go model when comparing the sandbox's cost.
type Guest interface {
	Init() error
	Tokenize(text string) ([]int32, error)
	Detokenize(prev, tok int32) ([]byte, error)
	Forward(tokens []int32, pos int, logits hostfuncs.Handle) error
	Close() error
}

// SessionOptions configures one instance.
type SessionOptions struct {
	// Sample fixes the seed, temperature and top-k of canonical sampling.
	Sample kernels.SampleParams
	// Budget is the work-unit budget (0: unlimited).
	Budget uint64
	// Timeout bounds the session's wall-clock time (0: none beyond ctx).
	Timeout time.Duration
	// Fuel bounds the guest's own computation, in function entries and
	// loop iterations (0: unlimited). Unlike Timeout it binds at the same
	// point on every node and engine; running out is ErrFuel.
	Fuel uint64
	// EngineFuel bounds the engine's own instruction-level fuel (0:
	// unlimited): wasmtime's, which charges about one unit per instruction.
	// It binds at the same point on every run of the same engine; running
	// out is ErrEngineFuel. Other engines refuse a nonzero EngineFuel.
	EngineFuel uint64
	// Walltime is the fixed time the guest's clock reads (WASI).
	Walltime time.Time
	// NewGuest replaces the WebAssembly guest (native comparison runs).
	NewGuest func(in *hostfuncs.Instance) (Guest, error)
}

// Session is one instance of a model: a guest and its host state. It is
// not safe for concurrent use.
type Session struct {
	md        *Model
	in        *hostfuncs.Instance
	g         Guest
	ctx       context.Context
	cancel    context.CancelFunc
	logits    hostfuncs.Handle
	logitsCap int
	stderr    *tailBuffer
	fuel      *fuelMeter
	inst      instance
	failed    error
	closed    bool
}

// NewSession instantiates the model for one job.
func (md *Model) NewSession(ctx context.Context, o SessionOptions) (*Session, error) {
	if err := kernels.CheckSample(dummyTensor{}, 0, o.Sample); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJob, err)
	}
	if o.EngineFuel > 0 && o.NewGuest == nil && !md.rt.engineFuel() {
		return nil, fmt.Errorf("%w: engine fuel needs the wasmtime engine (this runtime uses %s)", ErrJob, md.rt.engine)
	}
	lim := md.limits
	lim.Budget = o.Budget
	s := &Session{md: md, stderr: &tailBuffer{max: 4096}}
	logger := md.rt.log
	in, err := hostfuncs.NewInstance(hostfuncs.Config{
		Backend: md.rt.backend, Source: source{md}, Limits: lim, Sample: o.Sample,
		Logger: func(level int, msg string) {
			logger.Log(context.Background(), guestLevel(level), msg, "bundle", md.m.Name)
		},
	})
	if err != nil {
		return nil, err
	}
	s.in = in
	if o.Timeout > 0 {
		s.ctx, s.cancel = context.WithTimeout(ctx, o.Timeout)
	} else {
		s.ctx, s.cancel = context.WithCancel(ctx)
	}
	s.fuel = newFuelMeter(o.Fuel)
	if o.NewGuest != nil {
		s.g, err = o.NewGuest(in)
	} else {
		s.g, err = md.instantiate(s, o)
	}
	if err == nil {
		err = s.call("dna_init", s.g.Init)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func guestLevel(l int) slog.Level {
	switch {
	case l >= 3:
		return slog.LevelError
	case l == 2:
		return slog.LevelWarn
	case l == 1:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// dummyTensor lets NewSession validate sample parameters with the shared check.
type dummyTensor struct{}

func (dummyTensor) DType() kernels.DType { return kernels.F32 }
func (dummyTensor) Rows() int            { return 1 }
func (dummyTensor) Cols() int            { return 1 }

// call runs a guest entry point and classifies its failure. A failed
// session stays failed: the guest's state is no longer trustworthy.
func (s *Session) call(what string, f func() error) error {
	if s.closed {
		return ErrClosed
	}
	if s.failed != nil {
		return s.failed
	}
	if err := f(); err != nil {
		var ge *guestError
		if errors.As(err, &ge) {
			msg := s.in.GuestError()
			if msg == "" {
				msg = s.in.LastError()
			}
			err = &GuestError{Entry: what, Code: ge.code, Msg: msg}
		} else if !errors.Is(err, ErrBadTokens) && !errors.Is(err, ErrJob) {
			err = classify(s.ctx, err, s.stderrTail(), what)
		}
		s.failed = err
		return err
	}
	return nil
}

// Instance is the session's host state.
func (s *Session) Instance() *hostfuncs.Instance { return s.in }

// Model is the session's model.
func (s *Session) Model() *Model { return s.md }

// Tokenize runs the guest's tokenizer and checks its output.
func (s *Session) Tokenize(text string) ([]int32, error) {
	var toks []int32
	err := s.call("dna_tokenize", func() error {
		var err error
		toks, err = s.g.Tokenize(text)
		return err
	})
	if err != nil {
		return nil, err
	}
	vocab := s.md.m.Model.VocabSize
	for i, t := range toks {
		if t < 0 || int(t) >= vocab {
			return nil, fmt.Errorf("%w: token %d at %d outside the vocabulary of %d", ErrBadTokens, t, i, vocab)
		}
	}
	return toks, nil
}

// Detokenize returns the bytes token adds after prev.
func (s *Session) Detokenize(prev, tok int32) ([]byte, error) {
	var b []byte
	err := s.call("dna_detokenize", func() error {
		var err error
		b, err = s.g.Detokenize(prev, tok)
		return err
	})
	return b, err
}

// Forward processes tokens at positions pos… and leaves one row of logits
// per token in the session's logits tensor.
func (s *Session) Forward(tokens []int32, pos int) error {
	n := len(tokens)
	m := s.md.m.Model
	if n == 0 || pos < 0 || pos+n > m.ContextLength {
		return fmt.Errorf("%w: positions [%d,%d) outside the context of %d", ErrContext, pos, pos+n, m.ContextLength)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= m.VocabSize {
			return fmt.Errorf("%w: token %d at %d outside the vocabulary of %d", ErrJob, t, i, m.VocabSize)
		}
	}
	if err := s.ensureLogits(n); err != nil {
		return err
	}
	if err := s.in.BeginForward(pos, n); err != nil {
		return err
	}
	defer s.in.EndForward()
	return s.call("dna_forward", func() error { return s.g.Forward(tokens, pos, s.logits) })
}

func (s *Session) ensureLogits(n int) error {
	if n > s.logitsCap {
		if s.logitsCap > 0 {
			s.in.FreeTensor(s.logits)
			s.logitsCap = 0
		}
		h, err := s.in.NewTensor(kernels.F32, n, s.md.m.Model.VocabSize)
		if err != nil {
			return fmt.Errorf("runtime: logits for %d positions: %w", n, err)
		}
		s.logits, s.logitsCap = h, n
	}
	return s.in.SetRows(s.logits, n)
}

// Sample is the canonical token for one row of the last Forward's logits,
// sampled as position step.
func (s *Session) Sample(row int, step uint64) (int32, error) {
	if s.logitsCap == 0 {
		return 0, errors.New("runtime: sample before forward")
	}
	var tok int32
	err := s.call("sample", func() error {
		var err error
		tok, err = s.in.SampleToken(s.logits, row, step)
		return err
	})
	return tok, err
}

// LogitsRow copies one row of the last Forward's logits.
func (s *Session) LogitsRow(row int) ([]float32, error) {
	t, err := s.in.Tensor(s.logits)
	if err != nil {
		return nil, err
	}
	if row < 0 || row >= t.Rows() {
		return nil, fmt.Errorf("runtime: logits row %d of %d", row, t.Rows())
	}
	raw := make([]byte, 4*t.Cols())
	if err := s.md.rt.backend.Read(t, row*len(raw), raw); err != nil {
		return nil, err
	}
	out := make([]float32, t.Cols())
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Digest is the introspection digest over positions [0, upto).
func (s *Session) Digest(upto int) keys.Hash { return s.in.Digest(upto) }

// WorkUnits spent so far.
func (s *Session) WorkUnits() uint64 { return s.in.Work() }

// Fuel is the guest fuel spent so far (0 for a native guest).
func (s *Session) Fuel() uint64 { return s.fuel.Used() }

// EngineFuel is the engine's own fuel spent so far (wasmtime; 0 on other
// engines and for a native guest).
func (s *Session) EngineFuel() uint64 {
	if s.inst == nil {
		return 0
	}
	return s.inst.engineFuel()
}

// Close ends the instance and frees its tensors.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.g != nil {
		err = s.g.Close()
	}
	s.in.Close()
	s.cancel()
	return err
}

func (s *Session) stderrTail() string { return s.stderr.String() }

// --- the WebAssembly guest ------------------------------------------------

type guestError struct{ code int32 }

func (e *guestError) Error() string { return fmt.Sprintf("guest returned %d", e.code) }

type wasmGuest struct {
	ctx                               context.Context
	inst                              instance
	init, alloc, tokenize, detok, fwd guestFunc
	free                              guestFunc
	scratch                           uint32
	scratchCap                        uint32
	stack                             []uint64
}

// instantiate makes the WebAssembly instance with a closed, deterministic WASI.
func (md *Model) instantiate(s *Session, o SessionOptions) (Guest, error) {
	clock := &fakeClock{wall: o.Walltime.UnixNano()}
	if o.Walltime.IsZero() {
		clock.wall = 0
	}
	seed := keys.SHA256([]byte("dna-wasi-random"), binary.LittleEndian.AppendUint64(nil, o.Sample.Seed))
	env := &instanceEnv{in: s.in, fuel: s.fuel, engineFuelLimit: o.EngineFuel,
		wasi: &wasiState{clock: clock, rand: rand.NewChaCha8(seed), stderr: s.stderr}}
	s.ctx = context.WithValue(s.ctx, envKey{}, env)
	env.ctx = s.ctx
	inst, err := md.cm.instantiate(s.ctx, env)
	if err != nil {
		return nil, classify(s.ctx, err, s.stderrTail(), "instantiate")
	}
	s.inst = inst
	if err := s.fuel.start(inst); err != nil {
		inst.close()
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	g := &wasmGuest{ctx: s.ctx, inst: inst, stack: make([]uint64, 4),
		init: inst.export("dna_init"), alloc: inst.export("dna_alloc"),
		tokenize: inst.export("dna_tokenize"), detok: inst.export("dna_detokenize"),
		fwd: inst.export("dna_forward"), free: inst.export("dna_free")}
	return g, nil
}

// fakeClock is the guest's clock: wall time fixed by the job, monotonic
// time advancing a microsecond per reading, so the guest sees a clock that
// moves but never a fact about the host.
type fakeClock struct {
	wall int64
	mono atomic.Int64
}

func (c *fakeClock) walltime() (int64, int32) {
	t := c.wall + c.mono.Load()
	return t / 1e9, int32(t % 1e9)
}
func (c *fakeClock) nanotime() int64 { return c.mono.Add(1000) }
func (c *fakeClock) sleep(ns int64) {
	if ns > 0 {
		c.mono.Add(ns)
	}
}

func (g *wasmGuest) callStack(f guestFunc, params ...uint64) (int32, error) {
	copy(g.stack, params)
	if err := f.call(g.ctx, g.stack); err != nil {
		return 0, err
	}
	return int32(uint32(g.stack[0])), nil
}

func (g *wasmGuest) Init() error {
	rc, err := g.callStack(g.init)
	if err != nil {
		return err
	}
	if rc < 0 {
		return &guestError{rc}
	}
	return nil
}

// buffer returns guest memory for n bytes, allocated by the guest.
func (g *wasmGuest) buffer(n int) (uint32, error) {
	if n <= int(g.scratchCap) {
		return g.scratch, nil
	}
	size := max(n, 4096)
	if size > 1<<30 {
		return 0, fmt.Errorf("%w: buffer of %d bytes", ErrJob, n)
	}
	if g.scratchCap > 0 && g.free != nil {
		if _, err := g.callStack(g.free, uint64(g.scratch)); err != nil {
			return 0, err
		}
	}
	p, err := g.callStack(g.alloc, uint64(size))
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, fmt.Errorf("%w: dna_alloc(%d) failed", ErrMemory, size)
	}
	if _, ok := g.inst.memory().Read(uint32(p), uint32(size)); !ok {
		return 0, fmt.Errorf("%w: dna_alloc returned a buffer outside memory", ErrBadTokens)
	}
	g.scratch, g.scratchCap = uint32(p), uint32(size)
	return g.scratch, nil
}

func (g *wasmGuest) Tokenize(text string) ([]int32, error) {
	capTokens := len(text) + 16
	for attempt := 0; attempt < 2; attempt++ {
		buf, err := g.buffer(len(text) + 4*capTokens)
		if err != nil {
			return nil, err
		}
		if !g.inst.memory().Write(buf, []byte(text)) {
			return nil, fmt.Errorf("%w: cannot write prompt", ErrMemory)
		}
		out := buf + uint32(len(text))
		n, err := g.callStack(g.tokenize, uint64(buf), uint64(len(text)), uint64(out), uint64(capTokens))
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, &guestError{n}
		}
		if int(n) > capTokens {
			if int(n) > 1<<24 {
				return nil, fmt.Errorf("%w: tokenizer returned %d tokens", ErrBadTokens, n)
			}
			capTokens = int(n)
			continue
		}
		raw, ok := g.inst.memory().Read(out, uint32(4*n))
		if !ok {
			return nil, fmt.Errorf("%w: token buffer outside memory", ErrBadTokens)
		}
		toks := make([]int32, n)
		for i := range toks {
			toks[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return toks, nil
	}
	return nil, fmt.Errorf("%w: tokenizer keeps changing its token count", ErrBadTokens)
}

func (g *wasmGuest) Detokenize(prev, tok int32) ([]byte, error) {
	capBytes := 64
	for attempt := 0; attempt < 2; attempt++ {
		buf, err := g.buffer(capBytes)
		if err != nil {
			return nil, err
		}
		n, err := g.callStack(g.detok, uint64(uint32(prev)), uint64(uint32(tok)), uint64(buf), uint64(capBytes))
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, &guestError{n}
		}
		if int(n) > capBytes {
			if n > 1<<20 {
				return nil, fmt.Errorf("%w: piece of %d bytes", ErrBadTokens, n)
			}
			capBytes = int(n)
			continue
		}
		raw, ok := g.inst.memory().Read(buf, uint32(n))
		if !ok {
			return nil, fmt.Errorf("%w: piece outside memory", ErrBadTokens)
		}
		return append([]byte(nil), raw...), nil
	}
	return nil, fmt.Errorf("%w: detokenizer keeps changing its length", ErrBadTokens)
}

func (g *wasmGuest) Forward(tokens []int32, pos int, logits hostfuncs.Handle) error {
	buf, err := g.buffer(4 * len(tokens))
	if err != nil {
		return err
	}
	raw, ok := g.inst.memory().Read(buf, uint32(4*len(tokens)))
	if !ok {
		return fmt.Errorf("%w: token buffer outside memory", ErrMemory)
	}
	for i, t := range tokens {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(t))
	}
	rc, err := g.callStack(g.fwd, uint64(buf), uint64(len(tokens)), uint64(pos), uint64(uint32(logits)))
	if err != nil {
		return err
	}
	if rc < 0 {
		return &guestError{rc}
	}
	return nil
}

func (g *wasmGuest) Close() error {
	g.inst.close()
	return nil
}

// tailBuffer keeps the first and the last max bytes written (the guest's
// stderr): a Go guest states why it crashed first ("fatal error: …",
// "panic: …"), then prints pages of goroutine traces.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	head []byte
	b    []byte
	cut  bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := t.max - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return string(t.head) + "\n…\n" + string(t.b)
	}
	return string(t.head) + string(t.b)
}
