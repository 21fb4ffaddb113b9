package nativeguest

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dnahost/dnahost/guest-sdk/dna"
	"github.com/dnahost/dnahost/guest-sdk/inference"
	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/runtime"
)

// memory is the native stand-in for guest linear memory.
type memory []byte

func (m memory) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n], true
}

// Host implements dna.Host by calling the hostfuncs import table.
type Host struct {
	in    *hostfuncs.Instance
	mem   memory
	fns   map[string]hostfuncs.Function
	stack [8]uint64
}

var _ dna.Host = (*Host)(nil)

// NewHost binds a Host to an instance.
func NewHost(in *hostfuncs.Instance) *Host {
	h := &Host{in: in, mem: make(memory, 1<<16), fns: map[string]hostfuncs.Function{}}
	for _, f := range hostfuncs.Functions() {
		h.fns[f.Name] = f
	}
	return h
}

// scratch returns a memory range of n bytes at offset 0 (growing memory).
func (h *Host) scratch(n int) []byte {
	if n > len(h.mem) {
		h.mem = make(memory, n)
	}
	return h.mem[:n]
}

func (h *Host) call(name string, args ...uint64) int32 {
	f := h.fns[name]
	copy(h.stack[:], args)
	f.Call(h.in, h.mem, h.stack[:])
	return int32(uint32(h.stack[0]))
}

func (h *Host) err(op string, rc int32) error {
	if rc >= 0 {
		return nil
	}
	return &dna.Error{Op: op, Code: dna.Code(-rc), Msg: h.in.LastError()}
}

func (h *Host) handle(op string, rc int32) (dna.Tensor, error) {
	if rc < 0 {
		return 0, h.err(op, rc)
	}
	return dna.Tensor(rc), nil
}

func u(v int) uint64         { return uint64(uint32(int32(v))) }
func ut(t dna.Tensor) uint64 { return uint64(uint32(t)) }
func f(v float32) uint64     { return uint64(math.Float32bits(v)) }

func (h *Host) str(s string) (uint64, uint64) {
	copy(h.scratch(len(s)), s)
	return 0, uint64(len(s))
}

func (h *Host) TensorNew(dt dna.DType, rows, cols int) (dna.Tensor, error) {
	return h.handle("tensor_new", h.call("tensor_new", u(int(dt)), u(rows), u(cols)))
}

func (h *Host) TensorOpen(name string) (dna.Tensor, error) {
	p, n := h.str(name)
	return h.handle("tensor_open", h.call("tensor_open", p, n))
}

func (h *Host) FileOpen(name string) (dna.Tensor, error) {
	p, n := h.str(name)
	return h.handle("file_open", h.call("file_open", p, n))
}

func (h *Host) TensorFree(t dna.Tensor) error {
	return h.err("tensor_free", h.call("tensor_free", ut(t)))
}

func (h *Host) TensorInfo(t dna.Tensor) (dna.DType, int, int, error) {
	h.scratch(12)
	if err := h.err("tensor_info", h.call("tensor_info", ut(t), 0)); err != nil {
		return 0, 0, 0, err
	}
	le := binary.LittleEndian
	return dna.DType(le.Uint32(h.mem)), int(le.Uint32(h.mem[4:])), int(le.Uint32(h.mem[8:])), nil
}

func (h *Host) TensorSetRows(t dna.Tensor, rows int) error {
	return h.err("tensor_set_rows", h.call("tensor_set_rows", ut(t), u(rows)))
}

func (h *Host) TensorWrite(t dna.Tensor, off int, src []byte) error {
	copy(h.scratch(len(src)), src)
	return h.err("tensor_write", h.call("tensor_write", ut(t), uint64(off), 0, u(len(src))))
}

func (h *Host) TensorRead(t dna.Tensor, off int, dst []byte) error {
	h.scratch(len(dst))
	if err := h.err("tensor_read", h.call("tensor_read", ut(t), uint64(off), 0, u(len(dst)))); err != nil {
		return err
	}
	copy(dst, h.mem)
	return nil
}

func (h *Host) Copy(dst dna.Tensor, dstOff int, src dna.Tensor, srcOff, n int) error {
	return h.err("tensor_copy", h.call("tensor_copy", ut(dst), u(dstOff), ut(src), u(srcOff), u(n)))
}

func (h *Host) MatMul(out, x, w dna.Tensor) error {
	return h.err("matmul", h.call("matmul", ut(out), ut(x), ut(w)))
}

func (h *Host) Embed(out, table dna.Tensor, tokens []int32) error {
	b := h.scratch(4 * len(tokens))
	for i, t := range tokens {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(t))
	}
	return h.err("embed", h.call("embed", ut(out), ut(table), 0, u(len(tokens))))
}

func (h *Host) RMSNorm(out, x, w dna.Tensor, eps float32) error {
	return h.err("rmsnorm", h.call("rmsnorm", ut(out), ut(x), ut(w), f(eps)))
}

func (h *Host) RoPE(x dna.Tensor, pos, headSize int, theta float32) error {
	return h.err("rope", h.call("rope", ut(x), u(pos), u(headSize), f(theta)))
}

func (h *Host) Attention(out, q, k, v dna.Tensor, pos, nHeads, nKVHeads int) error {
	return h.err("attention", h.call("attention", ut(out), ut(q), ut(k), ut(v), u(pos), u(nHeads), u(nKVHeads)))
}

func (h *Host) Softmax(x dna.Tensor) error { return h.err("softmax", h.call("softmax", ut(x))) }

func (h *Host) SiLUMul(out, a, b dna.Tensor) error {
	return h.err("silu_mul", h.call("silu_mul", ut(out), ut(a), ut(b)))
}

func (h *Host) Add(out, a, b dna.Tensor) error {
	return h.err("add", h.call("add", ut(out), ut(a), ut(b)))
}

func (h *Host) Mul(out, a, b dna.Tensor) error {
	return h.err("mul", h.call("mul", ut(out), ut(a), ut(b)))
}

func (h *Host) Sample(logits dna.Tensor, row int, step uint64) (int32, error) {
	rc := h.call("sample", ut(logits), u(row), step)
	if rc < 0 {
		return 0, h.err("sample", rc)
	}
	return rc, nil
}

func (h *Host) Exec(records []byte) error {
	copy(h.scratch(len(records)), records)
	return h.err("exec", h.call("exec", 0, u(len(records)/dna.RecordSize)))
}

func (h *Host) Probe(t dna.Tensor, tag string) error {
	p, n := h.str(tag)
	return h.err("probe", h.call("probe", ut(t), p, n))
}

func (h *Host) Config(key string) (string, bool) {
	n := len(key)
	h.scratch(n + 4096)
	copy(h.mem, key)
	rc := h.call("config_get", 0, u(n), u(n), 4096)
	if rc < 0 || int(rc) > 4096 {
		return "", false
	}
	return string(h.mem[n : n+int(rc)]), true
}

func (h *Host) Log(level int, msg string) {
	p, n := h.str(msg)
	h.call("log", u(level), p, n)
}

// Guest adapts an inference.Model to runtime.Guest.
type Guest struct {
	m inference.Model
	h *Host
}

// New returns a SessionOptions.NewGuest that runs model natively. A
// guest-sdk Model is stateful, so make one per session.
func New(newModel func() inference.Model) func(in *hostfuncs.Instance) (runtime.Guest, error) {
	return func(in *hostfuncs.Instance) (runtime.Guest, error) {
		return &Guest{m: newModel(), h: NewHost(in)}, nil
	}
}

// guard turns a host trap (a panic in native code) into an error, as the
// WebAssembly engine does.
func guard(err *error) {
	if r := recover(); r != nil {
		if trap, ok := r.(hostfuncs.Trap); ok {
			*err = fmt.Errorf("%w", trap.Err)
			return
		}
		panic(r)
	}
}

// Init mirrors the inference package's dna_init: check the ABI version,
// then initialise the model.
func (g *Guest) Init() (err error) {
	defer guard(&err)
	if v := g.h.call("abi_version"); v != dna.ABIVersion {
		return fmt.Errorf("nativeguest: host ABI version %d", v)
	}
	return g.m.Init(g.h)
}

func (g *Guest) Tokenize(text string) (toks []int32, err error) {
	defer guard(&err)
	return g.m.Tokenize(text)
}

func (g *Guest) Detokenize(prev, tok int32) (b []byte, err error) {
	defer guard(&err)
	return g.m.Detokenize(prev, tok), nil
}

func (g *Guest) Forward(tokens []int32, pos int, logits hostfuncs.Handle) (err error) {
	defer guard(&err)
	return g.m.Forward(tokens, pos, dna.Tensor(logits))
}

func (g *Guest) Close() error { return nil }
