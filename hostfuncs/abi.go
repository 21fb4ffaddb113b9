package hostfuncs

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dnahost/dnahost/kernels"
)

// ModuleName is the import module of the ABI.
const ModuleName = "dna"

// ABIVersion is the ABI version this package implements.
const ABIVersion = 1

// ValueType is a WebAssembly value type of an import's signature.
type ValueType byte

const (
	I32 ValueType = iota
	I64
	F32
)

// Memory is the guest's linear memory. Read returns a view (not a copy) of
// [offset, offset+n), or false when the range is outside memory; wazero's
// api.Memory satisfies it, and the runtime adapts wasmtime's memory to it.
type Memory interface {
	Read(offset, byteCount uint32) ([]byte, bool)
}

// Function is one import of module "dna", independent of any engine. Call
// reads its parameters from stack and writes its result to stack[0] (the
// calling convention of wazero's api.GoModuleFunc; the runtime converts
// wasmtime's values to it); it stops the guest by panicking with a Trap,
// which every engine binding turns into a failed call.
type Function struct {
	Name    string
	Params  []ValueType
	Results []ValueType
	Call    func(in *Instance, mem Memory, stack []uint64)
	// Opcode is the function's number in exec records, or 0 when exec does
	// not accept it (imports whose result the guest needs).
	Opcode uint32
}

// Opcodes of the imports exec accepts. Part of ABI v1: never renumbered.
var execOpcodes = map[string]uint32{
	"tensor_free": 1, "tensor_info": 2, "tensor_set_rows": 3, "tensor_write": 4, "tensor_read": 5,
	"tensor_copy": 6, "matmul": 7, "embed": 8, "rmsnorm": 9, "rope": 10, "attention": 11,
	"softmax": 12, "silu_mul": 13, "add": 14, "mul": 15, "probe": 16, "log": 17,
}

// Exec record layout: u32 opcode, u32 zero, then 7 u64 arguments (i32 and
// f32 values in the low 32 bits), little-endian.
const (
	ExecRecordSize = 64
	ExecMaxArgs    = 7
	MaxExecOps     = 1 << 16
)

var (
	functions []Function
	byOpcode  []*Function // exec's dispatch table
)

func init() {
	functions = buildFunctions()
	byOpcode = make([]*Function, 32)
	for i := range functions {
		if op := functions[i].Opcode; op != 0 {
			byOpcode[op] = &functions[i]
		}
	}
}

func i32(v uint64) int32   { return int32(uint32(v)) }
func f32(v uint64) float32 { return math.Float32frombits(uint32(v)) }

func (in *Instance) enter(units uint64) {
	if in.closed {
		panic(Trap{ErrClosed})
	}
	in.charge(units)
}

// result writes a call's outcome: the value, or the negated error code with
// the message kept for last_error.
func (in *Instance) result(stack []uint64, v int32, err *Error) {
	if err != nil {
		in.lastErr = err.Msg
		stack[0] = uint64(uint32(-int32(err.Code)))
		return
	}
	stack[0] = uint64(uint32(v))
}

// guestBytes checks a (pointer, length) pair against guest memory.
func guestBytes(mem Memory, ptr, n int32) ([]byte, *Error) {
	if n < 0 {
		return nil, errf(CodeInvalid, "negative length %d", n)
	}
	if n == 0 {
		return nil, nil
	}
	b, ok := mem.Read(uint32(ptr), uint32(n))
	if !ok {
		return nil, errf(CodePointer, "range [%#x,+%d) outside guest memory", uint32(ptr), n)
	}
	return b, nil
}

func guestString(mem Memory, ptr, n int32, max int) (string, *Error) {
	if n > int32(max) {
		return "", errf(CodeInvalid, "string of %d bytes, limit %d", n, max)
	}
	b, err := guestBytes(mem, ptr, n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// tensors resolves up to three handles (an array: no allocation per call).
func (in *Instance) tensors(hs ...uint64) ([3]kernels.Tensor, *Error) {
	var out [3]kernels.Tensor
	for i, h := range hs {
		t, err := in.tensor(Handle(i32(h)))
		if err != nil {
			return out, err
		}
		out[i] = t
	}
	return out, nil
}

// tensorIO is tensor_write and tensor_read: (h, byte offset, ptr, n).
func (in *Instance) tensorIO(mem Memory, s []uint64, write bool) {
	in.enter(0)
	var t kernels.Tensor
	var err *Error
	if write {
		t, err = in.writable(Handle(i32(s[0])))
	} else {
		t, err = in.tensor(Handle(i32(s[0])))
	}
	if err != nil {
		in.result(s, 0, err)
		return
	}
	buf, err := guestBytes(mem, i32(s[2]), i32(s[3]))
	if err != nil {
		in.result(s, 0, err)
		return
	}
	off := int64(s[1])
	if off < 0 || off > math.MaxInt32*4 {
		in.result(s, 0, errf(CodeRange, "offset %d", off))
		return
	}
	in.charge(costBytes(len(buf)))
	if write {
		in.result(s, 0, kernelCall(in.be.Write(t, int(off), buf)))
		return
	}
	if e := in.be.Read(t, int(off), buf); e != nil {
		in.result(s, 0, fromKernel(e))
		return
	}
	if t.DType() == kernels.F32 {
		canonicalizeNaNs(buf) // NaN payloads never cross the boundary
	}
	in.result(s, 0, nil)
}

// kernelCall runs a backend operation, mapping its error.
func kernelCall(err error) *Error {
	if err != nil {
		return fromKernel(err)
	}
	return nil
}

// op3 is the shared shape of out = f(a, b) imports.
func op3(name string, run func(be kernels.Backend, out, a, b kernels.Tensor) error, cost func(out, a, b kernels.Tensor) uint64) Function {
	return Function{Name: name, Params: []ValueType{I32, I32, I32}, Results: []ValueType{I32},
		Call: func(in *Instance, mem Memory, s []uint64) {
			in.enter(0)
			out, err := in.writable(Handle(i32(s[0])))
			if err != nil {
				in.result(s, 0, err)
				return
			}
			ts, err := in.tensors(s[1], s[2])
			if err != nil {
				in.result(s, 0, err)
				return
			}
			in.charge(cost(out, ts[0], ts[1]))
			in.result(s, 0, kernelCall(run(in.be, out, ts[0], ts[1])))
		}}
}

func elems(out, _, _ kernels.Tensor) uint64 { return costElems(out.Rows(), out.Cols(), 1) }

// Functions returns the ABI v1 import table (shared: do not modify).
func Functions() []Function { return functions }

func buildFunctions() []Function {
	fs := []Function{
		{Name: "abi_version", Results: []ValueType{I32}, Call: func(in *Instance, _ Memory, s []uint64) {
			in.enter(0)
			s[0] = ABIVersion
		}},
		{Name: "tensor_new", Params: []ValueType{I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				dt, rows, cols := kernels.DType(i32(s[0])), int(i32(s[1])), int(i32(s[2]))
				in.enter(0)
				if dt == kernels.U8 || !dt.Valid() {
					in.result(s, 0, errf(CodeDType, "tensor_new of dtype %d", int32(dt)))
					return
				}
				if err := kernels.CheckNew(dt, rows, cols); err == nil {
					in.charge(uint64(dt.Bytes(rows, cols)) / 256)
				}
				h, err := in.newTensor(dt, rows, cols)
				in.result(s, int32(h), err)
			}},
		{Name: "tensor_open", Params: []ValueType{I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				name, err := guestString(mem, i32(s[0]), i32(s[1]), maxNameLen)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				t, e := in.src.Weight(name)
				if e != nil {
					in.result(s, 0, errf(CodeNotFound, "weight %q: %v", name, e))
					return
				}
				h, err := in.add(slot{t: t, readOnly: true})
				in.result(s, int32(h), err)
			}},
		{Name: "file_open", Params: []ValueType{I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				name, err := guestString(mem, i32(s[0]), i32(s[1]), maxNameLen)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				t, e := in.src.File(name)
				if e != nil {
					in.result(s, 0, errf(CodeNotFound, "file %q: %v", name, e))
					return
				}
				h, err := in.add(slot{t: t, readOnly: true})
				in.result(s, int32(h), err)
			}},
		{Name: "tensor_free", Params: []ValueType{I32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				in.result(s, 0, in.freeTensor(Handle(i32(s[0]))))
			}},
		{Name: "tensor_info", Params: []ValueType{I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				t, err := in.tensor(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				out, err := guestBytes(mem, i32(s[1]), 12)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				binary.LittleEndian.PutUint32(out[0:], uint32(t.DType()))
				binary.LittleEndian.PutUint32(out[4:], uint32(t.Rows()))
				binary.LittleEndian.PutUint32(out[8:], uint32(t.Cols()))
				in.result(s, 0, nil)
			}},
		{Name: "tensor_set_rows", Params: []ValueType{I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				in.result(s, 0, in.setRows(Handle(i32(s[0])), int(i32(s[1]))))
			}},
		{Name: "tensor_write", Params: []ValueType{I32, I64, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) { in.tensorIO(mem, s, true) }},
		{Name: "tensor_read", Params: []ValueType{I32, I64, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) { in.tensorIO(mem, s, false) }},
		{Name: "tensor_copy", Params: []ValueType{I32, I32, I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				dst, err := in.writable(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				src, err := in.tensor(Handle(i32(s[2])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				n := int(i32(s[4]))
				if n > 0 {
					in.charge(uint64(n) / 4)
				}
				in.result(s, 0, kernelCall(in.be.Copy(dst, int(i32(s[1])), src, int(i32(s[3])), n)))
			}},
		op3("matmul", kernels.Backend.MatMul, func(out, x, w kernels.Tensor) uint64 {
			return costMatMul(x.Rows(), w.Rows(), w.Cols())
		}),
		{Name: "embed", Params: []ValueType{I32, I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				out, err := in.writable(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				table, err := in.tensor(Handle(i32(s[1])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				n := i32(s[3])
				if n < 0 || n > kernels.MaxDim {
					in.result(s, 0, errf(CodeInvalid, "token count %d", n))
					return
				}
				raw, err := guestBytes(mem, i32(s[2]), 4*n)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				toks := make([]int32, n)
				for i := range toks {
					toks[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
				}
				in.charge(costElems(int(n), table.Cols(), 1))
				in.result(s, 0, kernelCall(in.be.Embed(out, table, toks)))
			}},
		{Name: "rmsnorm", Params: []ValueType{I32, I32, I32, F32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				out, err := in.writable(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				ts, err := in.tensors(s[1], s[2])
				if err != nil {
					in.result(s, 0, err)
					return
				}
				in.charge(costElems(ts[0].Rows(), ts[0].Cols(), 3))
				in.result(s, 0, kernelCall(in.be.RMSNorm(out, ts[0], ts[1], f32(s[3]))))
			}},
		{Name: "rope", Params: []ValueType{I32, I32, I32, F32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				x, err := in.writable(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				in.charge(costElems(x.Rows(), x.Cols(), 3))
				in.result(s, 0, kernelCall(in.be.RoPE(x, int(i32(s[1])), int(i32(s[2])), f32(s[3]))))
			}},
		{Name: "attention", Params: []ValueType{I32, I32, I32, I32, I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				out, err := in.writable(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				ts, err := in.tensors(s[1], s[2], s[3])
				if err != nil {
					in.result(s, 0, err)
					return
				}
				pos, heads, kv := int(i32(s[4])), int(i32(s[5])), int(i32(s[6]))
				if e := kernels.CheckAttention(out, ts[0], ts[1], ts[2], pos, heads, kv); e != nil {
					in.result(s, 0, fromKernel(e))
					return
				}
				in.charge(costAttention(pos, ts[0].Rows(), heads, ts[0].Cols()/heads))
				in.result(s, 0, kernelCall(in.be.Attention(out, ts[0], ts[1], ts[2], pos, heads, kv)))
			}},
		{Name: "softmax", Params: []ValueType{I32}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				x, err := in.writable(Handle(i32(s[0])))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				in.charge(costElems(x.Rows(), x.Cols(), 4))
				in.result(s, 0, kernelCall(in.be.Softmax(x)))
			}},
		op3("silu_mul", kernels.Backend.SiLUMul, func(out, a, b kernels.Tensor) uint64 {
			return costElems(out.Rows(), out.Cols(), 4)
		}),
		op3("add", kernels.Backend.Add, elems),
		op3("mul", kernels.Backend.Mul, elems),
		{Name: "sample", Params: []ValueType{I32, I32, I64}, Results: []ValueType{I32},
			Call: func(in *Instance, _ Memory, s []uint64) {
				in.enter(0)
				tok, err := in.SampleToken(Handle(i32(s[0])), int(i32(s[1])), s[2])
				if err != nil {
					in.result(s, 0, fromKernel(err))
					return
				}
				in.result(s, tok, nil)
			}},
		{Name: "probe", Params: []ValueType{I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				tag, err := guestString(mem, i32(s[1]), i32(s[2]), maxTagLen)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				in.result(s, 0, in.probe(Handle(i32(s[0])), tag))
			}},
		{Name: "config_get", Params: []ValueType{I32, I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				key, err := guestString(mem, i32(s[0]), i32(s[1]), maxNameLen)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				v, ok := in.src.Config(key)
				if !ok {
					in.result(s, 0, errf(CodeNotFound, "config key %q", key))
					return
				}
				if int(i32(s[3])) >= len(v) {
					out, err := guestBytes(mem, i32(s[2]), int32(len(v)))
					if err != nil {
						in.result(s, 0, err)
						return
					}
					copy(out, v)
				}
				in.result(s, int32(len(v)), nil)
			}},
		{Name: "log", Params: []ValueType{I32, I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				n := i32(s[2])
				if n > 0 {
					in.enter(uint64(n) / 16)
				} else {
					in.enter(0)
				}
				msg, err := guestString(mem, i32(s[1]), n, 1<<16)
				if err != nil {
					in.result(s, 0, err)
					return
				}
				in.logLine(int(i32(s[0])), msg)
				in.result(s, 0, nil)
			}},
		{Name: "last_error", Params: []ValueType{I32, I32}, Results: []ValueType{I32},
			Call: func(in *Instance, mem Memory, s []uint64) {
				in.enter(0)
				msg := in.lastErr
				if c := int(i32(s[1])); c >= 0 && c < len(msg) {
					msg = msg[:c]
				}
				out, err := guestBytes(mem, i32(s[0]), int32(len(msg)))
				if err != nil {
					in.result(s, 0, err)
					return
				}
				copy(out, msg)
				in.result(s, int32(len(msg)), nil)
			}},
		{Name: "exec", Params: []ValueType{I32, I32}, Results: []ValueType{I32}, Call: execOps},
	}
	for i := range fs {
		fs[i].Opcode = execOpcodes[fs[i].Name]
	}
	return fs
}

// execOps runs a list of op records in one host call: a forward pass costs
// one crossing of the sandbox boundary instead of one per operation. Each
// record goes through the very same import function — the same checks,
// the same work units — so batching changes nothing but speed. It stops at
// the first failing op and returns that op's code; last_error names the op.
func execOps(in *Instance, mem Memory, s []uint64) {
	in.enter(0)
	n := i32(s[1])
	if n < 0 || n > MaxExecOps {
		in.result(s, 0, errf(CodeInvalid, "exec of %d ops (limit %d)", n, MaxExecOps))
		return
	}
	view, err := guestBytes(mem, i32(s[0]), n*ExecRecordSize)
	if err != nil {
		in.result(s, 0, err)
		return
	}
	// Copy first: an op (tensor_read) may write over the records that follow.
	recs := append(in.execBuf[:0], view...)
	in.execBuf = recs
	var stack [ExecMaxArgs]uint64
	for k := 0; k < int(n); k++ {
		r := recs[k*ExecRecordSize : (k+1)*ExecRecordSize]
		op := binary.LittleEndian.Uint32(r)
		var f *Function
		if op < uint32(len(byOpcode)) {
			f = byOpcode[op]
		}
		if f == nil || binary.LittleEndian.Uint32(r[4:]) != 0 {
			in.result(s, 0, errf(CodeInvalid, "exec op %d: unknown opcode %d", k, op))
			return
		}
		for j := range stack {
			stack[j] = binary.LittleEndian.Uint64(r[8+8*j:])
		}
		f.Call(in, mem, stack[:])
		if rc := int32(uint32(stack[0])); rc < 0 {
			in.lastErr = fmt.Sprintf("exec op %d (%s): %s", k, f.Name, in.lastErr)
			s[0] = stack[0]
			return
		}
	}
	in.result(s, 0, nil)
}
