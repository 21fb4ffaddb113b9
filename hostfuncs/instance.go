package hostfuncs

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
)

// Source is what an instance may open: the loaded bundle's weights (on the
// backend already, shared by all instances and never written), its files
// and its config.
type Source interface {
	// Weight returns the named weight tensor.
	Weight(name string) (kernels.Tensor, error)
	// File returns the named bundle file as a U8 tensor of one row.
	File(name string) (kernels.Tensor, error)
	// Config returns a value of the bundle's model config.
	Config(key string) (string, bool)
}

// ErrNotFound is what a Source returns for an unknown name.
var ErrNotFound = errors.New("not found")

// Defaults for zero Limits fields.
const (
	DefaultMaxHandles     = 4096
	DefaultMaxTensorBytes = 1 << 30
	DefaultMaxLogBytes    = 64 << 10
	DefaultMaxPositions   = 1 << 20
	maxHandleSlots        = 1<<16 - 1
	maxTagLen             = 64
	maxNameLen            = 1024
)

// Limits are an instance's quotas. The zero value means the defaults and an
// unlimited work budget.
type Limits struct {
	MaxHandles     int    // live handles
	MaxTensorBytes int64  // bytes of tensors the instance allocates (weights excluded)
	Budget         uint64 // work units; 0 is unlimited
	MaxLogBytes    int    // total bytes of guest log messages kept
	MaxPositions   int    // sequence positions the digest tracks
}

// Validate reports limits that cannot be used.
func (l Limits) Validate() error {
	if l.MaxHandles < 0 || l.MaxHandles > maxHandleSlots {
		return fmt.Errorf("hostfuncs: max handles %d out of range [0,%d]", l.MaxHandles, maxHandleSlots)
	}
	if l.MaxTensorBytes < 0 || l.MaxLogBytes < 0 || l.MaxPositions < 0 {
		return errors.New("hostfuncs: negative limit")
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxHandles == 0 {
		l.MaxHandles = DefaultMaxHandles
	}
	if l.MaxTensorBytes == 0 {
		l.MaxTensorBytes = DefaultMaxTensorBytes
	}
	if l.MaxLogBytes == 0 {
		l.MaxLogBytes = DefaultMaxLogBytes
	}
	if l.MaxPositions == 0 {
		l.MaxPositions = DefaultMaxPositions
	}
	return l
}

// Config configures an Instance.
type Config struct {
	Backend kernels.Backend
	Source  Source
	Limits  Limits
	// Sample fixes seed, temperature and top-k for the sample import; the
	// step comes from each call.
	Sample kernels.SampleParams
	// Logger receives guest log lines (may be nil).
	Logger func(level int, msg string)
}

// Handle is a tensor handle as the guest sees it: slot index+1 in the low
// 16 bits, the slot's generation above, so a freed or forged handle fails.
type Handle int32

type slot struct {
	t        kernels.Tensor
	gen      uint16
	live     bool
	owned    bool // allocated by this instance: counted and freed by it
	readOnly bool
	bytes    int64
}

// Instance is the host state of one guest instance. It is not safe for
// concurrent use: a guest runs on one goroutine.
type Instance struct {
	be      kernels.Backend
	src     Source
	lim     Limits
	sample  kernels.SampleParams
	logger  func(int, string)
	slots   []slot
	free    []int
	live    int
	bytes   int64
	work    uint64
	largest uint64 // the largest single charge since TakeLargestCharge
	lastErr string
	guestEr string
	logged  int
	closed  bool

	inForward  bool
	fwdPos     int
	fwdRows    int
	positions  []keys.Hash
	probeBuf   []byte
	probeCount uint64
	execBuf    []byte
}

// NewInstance makes the host state for one guest instance.
func NewInstance(c Config) (*Instance, error) {
	if c.Backend == nil || c.Source == nil {
		return nil, errors.New("hostfuncs: config needs a backend and a source")
	}
	if err := c.Limits.Validate(); err != nil {
		return nil, err
	}
	return &Instance{be: c.Backend, src: c.Source, lim: c.Limits.withDefaults(), sample: c.Sample, logger: c.Logger}, nil
}

// Work is the work units spent so far.
func (in *Instance) Work() uint64 { return in.work }

// TakeLargestCharge returns the largest price of one operation since the
// last call (or the instance's start) and starts over. An engine binding
// uses it to learn how heavy an import's kernels are (whether they are
// worth running off a cgo callback's thread); it changes nothing else.
func (in *Instance) TakeLargestCharge() uint64 {
	l := in.largest
	in.largest = 0
	return l
}

// Budget is the work-unit budget (0: unlimited).
func (in *Instance) Budget() uint64 { return in.lim.Budget }

// GuestError is the last error the guest logged, for error reports.
func (in *Instance) GuestError() string { return in.guestEr }

// LastError is the text of the last failed call.
func (in *Instance) LastError() string { return in.lastErr }

// TensorBytes is the memory the instance's own tensors use.
func (in *Instance) TensorBytes() int64 { return in.bytes }

// charge adds work and traps when the budget is exhausted.
func (in *Instance) charge(units uint64) {
	in.largest = max(in.largest, units)
	in.work = satAdd(in.work, satAdd(units, CallCost))
	if in.lim.Budget != 0 && in.work > in.lim.Budget {
		panic(Trap{fmt.Errorf("%w: spent %d of %d work units", ErrBudget, in.work, in.lim.Budget)})
	}
}

func (in *Instance) lookup(h Handle) (*slot, *Error) {
	idx := int(h&0xffff) - 1
	gen := uint16(uint32(h) >> 16)
	if h <= 0 || idx < 0 || idx >= len(in.slots) {
		return nil, errf(CodeHandle, "handle %d does not exist", h)
	}
	s := &in.slots[idx]
	if !s.live || s.gen != gen {
		return nil, errf(CodeHandle, "handle %d is freed or forged", h)
	}
	return s, nil
}

func (in *Instance) tensor(h Handle) (kernels.Tensor, *Error) {
	s, err := in.lookup(h)
	if err != nil {
		return nil, err
	}
	return s.t, nil
}

// writable returns the tensor of a handle that may be written.
func (in *Instance) writable(h Handle) (kernels.Tensor, *Error) {
	s, err := in.lookup(h)
	if err != nil {
		return nil, err
	}
	if s.readOnly {
		return nil, errf(CodeReadOnly, "handle %d is a read-only weight or file", h)
	}
	return s.t, nil
}

func (in *Instance) add(s slot) (Handle, *Error) {
	if in.live >= in.lim.MaxHandles {
		return 0, errf(CodeQuota, "%d live handles, limit %d", in.live, in.lim.MaxHandles)
	}
	var idx int
	if n := len(in.free); n > 0 {
		idx = in.free[n-1]
		in.free = in.free[:n-1]
		s.gen = (in.slots[idx].gen + 1) & 0x7fff
	} else {
		idx = len(in.slots)
		in.slots = append(in.slots, slot{})
	}
	s.live = true
	in.slots[idx] = s
	in.live++
	return Handle(int32(s.gen)<<16 | int32(idx+1)), nil
}

// NewTensor allocates a zeroed tensor under the instance's quota.
func (in *Instance) NewTensor(dt kernels.DType, rows, cols int) (Handle, error) {
	h, err := in.newTensor(dt, rows, cols)
	if err != nil {
		return 0, err
	}
	return h, nil
}

func (in *Instance) newTensor(dt kernels.DType, rows, cols int) (Handle, *Error) {
	if err := kernels.CheckNew(dt, rows, cols); err != nil {
		return 0, errf(CodeInvalid, "%v", err)
	}
	size := dt.Bytes(rows, cols)
	if in.bytes+size > in.lim.MaxTensorBytes {
		return 0, errf(CodeQuota, "tensor of %d bytes: %d of %d bytes in use", size, in.bytes, in.lim.MaxTensorBytes)
	}
	if in.live >= in.lim.MaxHandles {
		return 0, errf(CodeQuota, "%d live handles, limit %d", in.live, in.lim.MaxHandles)
	}
	t, err := in.be.New(dt, rows, cols)
	if err != nil {
		return 0, fromKernel(err)
	}
	h, e := in.add(slot{t: t, owned: true, bytes: size})
	if e != nil {
		in.be.Free(t)
		return 0, e
	}
	in.bytes += size
	return h, nil
}

// FreeTensor releases a handle (and the tensor, if the instance made it).
func (in *Instance) FreeTensor(h Handle) error {
	if e := in.freeTensor(h); e != nil {
		return e
	}
	return nil
}

func (in *Instance) freeTensor(h Handle) *Error {
	s, err := in.lookup(h)
	if err != nil {
		return err
	}
	if s.owned {
		in.be.Free(s.t)
		in.bytes -= s.bytes
	}
	s.t, s.live = nil, false
	in.live--
	in.free = append(in.free, int(h&0xffff)-1)
	return nil
}

// SetRows resizes a tensor the instance made.
func (in *Instance) SetRows(h Handle, rows int) error {
	if e := in.setRows(h, rows); e != nil {
		return e
	}
	return nil
}

func (in *Instance) setRows(h Handle, rows int) *Error {
	t, err := in.writable(h)
	if err != nil {
		return err
	}
	if e := in.be.SetRows(t, rows); e != nil {
		return fromKernel(e)
	}
	return nil
}

// Tensor returns the backend tensor behind a handle (for the host's own
// decoding loop).
func (in *Instance) Tensor(h Handle) (kernels.Tensor, error) {
	t, e := in.tensor(h)
	if e != nil {
		return nil, e
	}
	return t, nil
}

// SampleToken is the canonical sample of one logits row at a step.
func (in *Instance) SampleToken(h Handle, row int, step uint64) (int32, error) {
	t, e := in.tensor(h)
	if e != nil {
		return 0, e
	}
	in.charge(costElems(1, t.Cols(), 4))
	p := in.sample
	p.Step = step
	tok, err := in.be.Sample(t, row, p)
	if err != nil {
		return 0, fromKernel(err)
	}
	return tok, nil
}

// BeginForward tells the instance that a forward pass over n positions
// from pos starts, so probes can attribute rows to positions.
func (in *Instance) BeginForward(pos, n int) error {
	if pos < 0 || n <= 0 || pos+n > in.lim.MaxPositions {
		return fmt.Errorf("hostfuncs: forward over positions [%d,%d) beyond limit %d", pos, pos+n, in.lim.MaxPositions)
	}
	in.inForward, in.fwdPos, in.fwdRows = true, pos, n
	for len(in.positions) < pos+n {
		in.positions = append(in.positions, keys.Hash{})
	}
	// A position computed again starts its digest afresh, so recomputation
	// (verification) reproduces generation exactly.
	for p := pos; p < pos+n; p++ {
		in.positions[p] = keys.Hash{}
	}
	return nil
}

// EndForward closes the forward pass.
func (in *Instance) EndForward() { in.inForward = false }

// Digest folds the per-position probe states of positions [0, upto) into
// the instance's introspection digest.
func (in *Instance) Digest(upto int) keys.Hash {
	d := sha256.New()
	var hdr [8]byte
	d.Write([]byte("dna-digest/1"))
	binary.LittleEndian.PutUint64(hdr[:], uint64(upto))
	d.Write(hdr[:])
	var zero keys.Hash
	for p := 0; p < upto; p++ {
		if p < len(in.positions) {
			d.Write(in.positions[p][:])
		} else {
			d.Write(zero[:])
		}
	}
	var h keys.Hash
	d.Sum(h[:0])
	return h
}

// probe folds each row of t into the state of its position:
// s_p = SHA-256(s_p ‖ len(tag) ‖ tag ‖ dtype ‖ cols ‖ row bytes), with NaNs
// canonicalised so that every honest node hashes the same bytes.
func (in *Instance) probe(h Handle, tag string) *Error {
	t, err := in.tensor(h)
	if err != nil {
		return err
	}
	if !in.inForward {
		return errf(CodeInvalid, "probe outside dna_forward")
	}
	if t.Rows() != in.fwdRows {
		return errf(CodeShape, "probe of %d rows in a forward pass of %d positions", t.Rows(), in.fwdRows)
	}
	rb := t.DType().RowBytes(t.Cols())
	in.charge(costBytes(rb * t.Rows()))
	if cap(in.probeBuf) < rb {
		in.probeBuf = make([]byte, rb)
	}
	buf := in.probeBuf[:rb]
	hdr := make([]byte, 0, 12+len(tag))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(tag)))
	hdr = append(hdr, tag...)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(t.DType()))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(t.Cols()))
	for r := 0; r < t.Rows(); r++ {
		if e := in.be.Read(t, r*rb, buf); e != nil {
			return fromKernel(e)
		}
		if t.DType() == kernels.F32 {
			canonicalizeNaNs(buf)
		}
		p := in.fwdPos + r
		d := sha256.New()
		d.Write(in.positions[p][:])
		d.Write(hdr)
		d.Write(buf)
		d.Sum(in.positions[p][:0])
	}
	in.probeCount++
	return nil
}

const canonicalNaN = 0x7fc00000

// canonicalizeNaNs rewrites every NaN in little-endian f32 bytes to the one
// canonical quiet NaN.
func canonicalizeNaNs(b []byte) {
	for i := 0; i+4 <= len(b); i += 4 {
		v := binary.LittleEndian.Uint32(b[i:])
		if v&0x7f800000 == 0x7f800000 && v&0x7fffff != 0 {
			binary.LittleEndian.PutUint32(b[i:], canonicalNaN)
		}
	}
}

// ProbeCount is how many probes the guest made.
func (in *Instance) ProbeCount() uint64 { return in.probeCount }

// Close frees every tensor the instance made. Further calls trap.
func (in *Instance) Close() {
	if in.closed {
		return
	}
	in.closed = true
	for i := range in.slots {
		s := &in.slots[i]
		if s.live && s.owned {
			in.be.Free(s.t)
		}
		*s = slot{}
	}
	in.bytes, in.live = 0, 0
}

func (in *Instance) logLine(level int, msg string) {
	if level >= 3 {
		in.guestEr = msg
	}
	if in.logged >= in.lim.MaxLogBytes {
		return
	}
	if len(msg) > in.lim.MaxLogBytes-in.logged {
		msg = msg[:in.lim.MaxLogBytes-in.logged]
	}
	in.logged += len(msg)
	if in.logger != nil {
		in.logger(level, msg)
	}
}
