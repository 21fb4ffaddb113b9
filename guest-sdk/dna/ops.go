package dna

import (
	"encoding/binary"
	"math"
)

// Exec record format (ABI v1): 64 bytes per op — u32 opcode, u32 zero,
// then seven u64 arguments, little-endian.
const RecordSize = 64

// Opcodes of the operations Exec accepts (ABI v1).
const (
	opTensorSetRows = 3
	opCopy          = 6
	opMatMul        = 7
	opRMSNorm       = 9
	opRoPE          = 10
	opAttention     = 11
	opSoftmax       = 12
	opSiLUMul       = 13
	opAdd           = 14
	opMul           = 15
)

// Opcodes maps the import names of the operations Ops records to their
// exec opcodes (for tests that check the SDK against a host).
func Opcodes() map[string]uint32 {
	return map[string]uint32{
		"tensor_set_rows": opTensorSetRows, "tensor_copy": opCopy, "matmul": opMatMul, "rmsnorm": opRMSNorm,
		"rope": opRoPE, "attention": opAttention, "softmax": opSoftmax, "silu_mul": opSiLUMul,
		"add": opAdd, "mul": opMul,
	}
}

// Ops records host operations and runs them together in one Exec call,
// with a sticky error like bufio.Writer: a forward pass reads as a straight
// list of operations, crosses the sandbox boundary a handful of times
// instead of once per operation, and reports the first failure from Err.
//
// Operations whose arguments point into guest memory (Embed, Probe) flush
// the recorded ones first and then run at once, so the memory they point to
// only needs to live for the call. An Ops may be reused after Reset.
type Ops struct {
	H    Host
	recs []byte
	err  error
}

// Reset clears the error and any unflushed records.
func (o *Ops) Reset() {
	o.recs = o.recs[:0]
	o.err = nil
}

// Flush runs the recorded operations.
func (o *Ops) Flush() error {
	if o.err == nil && len(o.recs) > 0 {
		o.err = o.H.Exec(o.recs)
	}
	o.recs = o.recs[:0]
	return o.err
}

// Err flushes and returns the first error.
func (o *Ops) Err() error { return o.Flush() }

// Len is the number of recorded, unflushed operations.
func (o *Ops) Len() int { return len(o.recs) / RecordSize }

// Patch overwrites argument arg of recorded operation rec. With Replay it
// turns a recorded forward pass into a program: record once, then change
// only the arguments that differ between calls (positions, offsets).
func (o *Ops) Patch(rec, arg int, v int) {
	binary.LittleEndian.PutUint64(o.recs[rec*RecordSize+8+8*arg:], u(v))
}

// Replay runs the recorded operations and keeps them for the next Replay.
func (o *Ops) Replay() error {
	if o.err == nil && len(o.recs) > 0 {
		o.err = o.H.Exec(o.recs)
	}
	return o.err
}

func (o *Ops) add(op uint32, args ...uint64) {
	if o.err != nil {
		return
	}
	var r [RecordSize]byte
	binary.LittleEndian.PutUint32(r[:], op)
	for i, a := range args {
		binary.LittleEndian.PutUint64(r[8+8*i:], a)
	}
	o.recs = append(o.recs, r[:]...)
}

func u(v int) uint64      { return uint64(uint32(int32(v))) }
func ut(t Tensor) uint64  { return uint64(uint32(t)) }
func uf(v float32) uint64 { return uint64(math.Float32bits(v)) }

func (o *Ops) MatMul(out, x, w Tensor) { o.add(opMatMul, ut(out), ut(x), ut(w)) }

func (o *Ops) RMSNorm(out, x, w Tensor, eps float32) {
	o.add(opRMSNorm, ut(out), ut(x), ut(w), uf(eps))
}

func (o *Ops) RoPE(x Tensor, pos, headSize int, theta float32) {
	o.add(opRoPE, ut(x), u(pos), u(headSize), uf(theta))
}

func (o *Ops) Attention(out, q, k, v Tensor, pos, nHeads, nKVHeads int) {
	o.add(opAttention, ut(out), ut(q), ut(k), ut(v), u(pos), u(nHeads), u(nKVHeads))
}

func (o *Ops) Softmax(x Tensor) { o.add(opSoftmax, ut(x)) }

func (o *Ops) SiLUMul(out, a, b Tensor) { o.add(opSiLUMul, ut(out), ut(a), ut(b)) }

func (o *Ops) Add(out, a, b Tensor) { o.add(opAdd, ut(out), ut(a), ut(b)) }

func (o *Ops) Mul(out, a, b Tensor) { o.add(opMul, ut(out), ut(a), ut(b)) }

func (o *Ops) Copy(dst Tensor, dstOff int, src Tensor, srcOff, n int) {
	o.add(opCopy, ut(dst), u(dstOff), ut(src), u(srcOff), u(n))
}

func (o *Ops) SetRows(t Tensor, rows int) { o.add(opTensorSetRows, ut(t), u(rows)) }

// Embed runs at once (its token ids are read from guest memory).
func (o *Ops) Embed(out, table Tensor, tokens []int32) {
	if o.Flush() == nil {
		o.err = o.H.Embed(out, table, tokens)
	}
}

// Probe runs at once (its tag is read from guest memory).
func (o *Ops) Probe(t Tensor, tag string) {
	if o.Flush() == nil {
		o.err = o.H.Probe(t, tag)
	}
}
