package hostfuncs

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/kernels/cpu"
)

// mem is a guest memory of fixed size.
type mem []byte

func (m mem) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n], true
}

type src struct {
	be      kernels.Backend
	weights map[string]kernels.Tensor
}

func (s src) Weight(name string) (kernels.Tensor, error) {
	if t, ok := s.weights[name]; ok {
		return t, nil
	}
	return nil, ErrNotFound
}
func (s src) File(name string) (kernels.Tensor, error) { return nil, ErrNotFound }
func (s src) Config(key string) (string, bool) {
	if key == "greeting" {
		return "hello", true
	}
	return "", false
}

type env struct {
	t   *testing.T
	in  *Instance
	m   mem
	fns map[string]Function
}

func newEnv(t *testing.T, lim Limits) *env {
	be, _ := cpu.New(cpu.Options{Threads: 1})
	t.Cleanup(func() { be.Close() })
	w, _ := be.Load(kernels.F32, 2, 4, make([]byte, 32))
	in, err := NewInstance(Config{Backend: be, Source: src{be, map[string]kernels.Tensor{"w": w}}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]Function{}
	for _, f := range Functions() {
		fns[f.Name] = f
	}
	return &env{t: t, in: in, m: make(mem, 1<<16), fns: fns}
}

// call invokes an import as a guest would and returns its i32 result.
func (e *env) call(name string, args ...uint64) int32 {
	e.t.Helper()
	f, ok := e.fns[name]
	if !ok {
		e.t.Fatalf("no import %s", name)
	}
	stack := make([]uint64, max(len(args), 1))
	copy(stack, args)
	f.Call(e.in, e.m, stack)
	return int32(uint32(stack[0]))
}

func u(v int32) uint64 { return uint64(uint32(v)) }

func (e *env) str(off int, s string) (uint64, uint64) {
	copy(e.m[off:], s)
	return uint64(off), uint64(len(s))
}

func TestSignaturesMatchGuestSDK(t *testing.T) {
	// Every import has exactly one result (i32) and a unique name.
	seen := map[string]bool{}
	for _, f := range Functions() {
		if seen[f.Name] {
			t.Fatalf("%s defined twice", f.Name)
		}
		seen[f.Name] = true
		if len(f.Results) != 1 || f.Results[0] != I32 {
			t.Fatalf("%s: results %v", f.Name, f.Results)
		}
	}
	for _, n := range []string{"tensor_new", "tensor_open", "file_open", "tensor_free", "tensor_info", "tensor_set_rows",
		"tensor_write", "tensor_read", "tensor_copy", "matmul", "embed", "rmsnorm", "rope", "attention", "softmax",
		"silu_mul", "add", "mul", "sample", "probe", "config_get", "log", "last_error", "abi_version", "exec"} {
		if !seen[n] {
			t.Errorf("import %s missing", n)
		}
	}
}

func TestHandles(t *testing.T) {
	e := newEnv(t, Limits{MaxHandles: 3})
	h := e.call("tensor_new", 1, 2, 4)
	if h <= 0 {
		t.Fatalf("tensor_new = %d", h)
	}
	if rc := e.call("tensor_info", u(h), 100); rc != 0 {
		t.Fatalf("tensor_info = %d", rc)
	}
	if got := [3]uint32{binary.LittleEndian.Uint32(e.m[100:]), binary.LittleEndian.Uint32(e.m[104:]), binary.LittleEndian.Uint32(e.m[108:])}; got != [3]uint32{1, 2, 4} {
		t.Fatalf("info %v", got)
	}
	// Forged: right slot, wrong generation; and a slot that never existed.
	if rc := e.call("tensor_info", u(h+1<<16), 100); rc != -int32(CodeHandle) {
		t.Fatalf("forged generation: %d", rc)
	}
	for _, bad := range []int32{0, -5, 99, 1 << 30} {
		if rc := e.call("tensor_free", u(bad)); rc != -int32(CodeHandle) {
			t.Fatalf("handle %d: %d", bad, rc)
		}
	}
	// Freed handles stay dead even when the slot is reused.
	if rc := e.call("tensor_free", u(h)); rc != 0 {
		t.Fatal(rc)
	}
	if rc := e.call("tensor_free", u(h)); rc != -int32(CodeHandle) {
		t.Fatalf("double free: %d", rc)
	}
	h2 := e.call("tensor_new", 1, 1, 1)
	if h2 == h {
		t.Fatal("a reused slot kept its handle value")
	}
	if rc := e.call("tensor_info", u(h), 100); rc != -int32(CodeHandle) {
		t.Fatalf("stale handle after reuse: %d", rc)
	}
	// The handle quota.
	e.call("tensor_new", 1, 1, 1)
	e.call("tensor_new", 1, 1, 1)
	if rc := e.call("tensor_new", 1, 1, 1); rc != -int32(CodeQuota) {
		t.Fatalf("fourth handle with a limit of 3: %d", rc)
	}
}

func TestPointersAndQuota(t *testing.T) {
	e := newEnv(t, Limits{MaxTensorBytes: 64})
	h := e.call("tensor_new", 1, 1, 8) // 32 bytes
	for _, c := range []struct{ ptr, n uint64 }{{1 << 16, 4}, {1<<16 - 2, 4}, {0xFFFFFFFC, 8}, {0, u(-4)}} {
		rc := e.call("tensor_write", u(h), 0, c.ptr, c.n)
		if rc != -int32(CodePointer) && rc != -int32(CodeInvalid) {
			t.Fatalf("write from [%#x,+%d): %d", c.ptr, int32(c.n), rc)
		}
	}
	if rc := e.call("tensor_write", u(h), 4, 0, 32); rc != -int32(CodeRange) {
		t.Fatalf("write past the tensor: %d", rc)
	}
	if rc := e.call("tensor_write", u(h), 2, 0, 4); rc != -int32(CodeRange) {
		t.Fatalf("misaligned f32 write: %d", rc)
	}
	if rc := e.call("tensor_new", 1, 1, 16); rc != -int32(CodeQuota) {
		t.Fatalf("over the byte quota: %d", rc)
	}
	for _, c := range [][3]int32{{9, 1, 1}, {3, 1, 1}, {1, 0, 4}, {1, -1, 4}, {1, 1 << 29, 1}} {
		if rc := e.call("tensor_new", u(c[0]), u(c[1]), u(c[2])); rc >= 0 {
			t.Fatalf("tensor_new%v accepted", c)
		}
	}
	if e.in.TensorBytes() != 32 {
		t.Fatalf("%d bytes accounted", e.in.TensorBytes())
	}
	e.in.Close()
	if e.in.TensorBytes() != 0 {
		t.Fatal("close leaked tensors")
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !errors.Is(r.(Trap), ErrClosed) {
				t.Fatalf("a call after close did not trap: %v", r)
			}
		}()
		e.call("abi_version")
	}()
}

func TestWeightsAreReadOnly(t *testing.T) {
	e := newEnv(t, Limits{})
	p, n := e.str(0, "w")
	w := e.call("tensor_open", p, n)
	if w <= 0 {
		t.Fatalf("tensor_open = %d", w)
	}
	x := e.call("tensor_new", 1, 1, 4)
	out := e.call("tensor_new", 1, 1, 2)
	for name, args := range map[string][]uint64{
		"tensor_write": {u(w), 0, 0, 4}, "matmul": {u(w), u(x), u(w)}, "add": {u(w), u(w), u(w)},
		"softmax": {u(w)}, "tensor_set_rows": {u(w), 1},
	} {
		if rc := e.call(name, args...); rc != -int32(CodeReadOnly) {
			t.Fatalf("%s into a weight: %d", name, rc)
		}
	}
	if rc := e.call("matmul", u(out), u(x), u(w)); rc != 0 {
		t.Fatalf("reading a weight: %d", rc)
	}
	p, n = e.str(0, "nope")
	if rc := e.call("tensor_open", p, n); rc != -int32(CodeNotFound) {
		t.Fatalf("unknown weight: %d", rc)
	}
	// Freeing a weight's handle does not free the shared weight.
	e.call("tensor_free", u(w))
	p, n = e.str(0, "w")
	w2 := e.call("tensor_open", p, n)
	if rc := e.call("matmul", u(out), u(x), u(w2)); rc != 0 {
		t.Fatalf("weight after a handle was freed: %d", rc)
	}
}

func TestLastErrorAndConfig(t *testing.T) {
	e := newEnv(t, Limits{})
	e.call("tensor_free", 77)
	n := e.call("last_error", 200, 100)
	if n <= 0 || string(e.m[200:200+n]) == "" {
		t.Fatalf("last_error = %d", n)
	}
	p, l := e.str(0, "greeting")
	if got := e.call("config_get", p, l, 300, 2); got != 5 {
		t.Fatalf("config_get with a small buffer = %d, want the length 5", got)
	}
	if got := e.call("config_get", p, l, 300, 16); got != 5 || string(e.m[300:305]) != "hello" {
		t.Fatalf("config_get = %d %q", got, e.m[300:305])
	}
	p, l = e.str(0, "missing")
	if got := e.call("config_get", p, l, 300, 16); got != -int32(CodeNotFound) {
		t.Fatalf("missing key: %d", got)
	}
}

func TestBudgetTraps(t *testing.T) {
	e := newEnv(t, Limits{Budget: 10 * CallCost})
	defer func() {
		r := recover()
		trap, ok := r.(Trap)
		if !ok || !errors.Is(trap, ErrBudget) {
			t.Fatalf("want a budget trap, got %v", r)
		}
		if e.in.Work() <= e.in.Budget() {
			t.Fatal("trapped before exceeding the budget")
		}
	}()
	for i := 0; i < 100; i++ {
		e.call("abi_version")
	}
}

// Work units depend only on shapes: the same calls cost the same.
func TestWorkUnitsDeterministic(t *testing.T) {
	cost := func() uint64 {
		e := newEnv(t, Limits{})
		x := e.call("tensor_new", 1, 3, 4)
		p, n := e.str(0, "w")
		w := e.call("tensor_open", p, n)
		out := e.call("tensor_new", 1, 3, 2)
		e.call("matmul", u(out), u(x), u(w))
		return e.in.Work()
	}
	a, b := cost(), cost()
	if a != b || a < 3*2*4 {
		t.Fatalf("work units %d and %d", a, b)
	}
}

// The digest is per position: splitting a forward pass differently gives
// the same digest; any change to a probed value changes it; NaN payloads
// do not matter.
func TestDigestSplitInvariance(t *testing.T) {
	rows := [][]float32{{1, 2}, {3, 4}, {5, float32(math.NaN())}}
	digest := func(split []int, mutate bool, nanBits uint32) [32]byte {
		e := newEnv(t, Limits{})
		pos := 0
		for _, n := range split {
			if err := e.in.BeginForward(pos, n); err != nil {
				t.Fatal(err)
			}
			h := e.call("tensor_new", 1, u(int32(n)), 2)
			for i := 0; i < n; i++ {
				for j, v := range rows[pos+i] {
					bits := math.Float32bits(v)
					if v != v {
						bits = nanBits
					}
					if mutate && pos+i == 1 && j == 0 {
						bits++
					}
					binary.LittleEndian.PutUint32(e.m[8*i+4*j:], bits)
				}
			}
			e.call("tensor_write", u(h), 0, 0, u(int32(8*n)))
			p, l := e.str(1000, "final")
			if rc := e.call("probe", u(h), p, l); rc != 0 {
				t.Fatalf("probe = %d", rc)
			}
			e.in.EndForward()
			pos += n
		}
		return e.in.Digest(3)
	}
	whole := digest([]int{3}, false, 0x7fc00000)
	if digest([]int{1, 1, 1}, false, 0x7fc00000) != whole || digest([]int{2, 1}, false, 0x7fc00000) != whole {
		t.Fatal("digest depends on how the positions were split")
	}
	if digest([]int{3}, false, 0x7fc00001) != whole {
		t.Fatal("digest depends on a NaN payload")
	}
	if digest([]int{3}, true, 0x7fc00000) == whole {
		t.Fatal("digest ignores a changed value")
	}
}

// record encodes one exec record.
func record(op uint32, args ...uint64) []byte {
	r := make([]byte, ExecRecordSize)
	binary.LittleEndian.PutUint32(r, op)
	for i, a := range args {
		binary.LittleEndian.PutUint64(r[8+8*i:], a)
	}
	return r
}

// exec runs the same operations as separate calls would, with the same
// results and the same work units (plus exec's own call).
func TestExecMatchesCalls(t *testing.T) {
	type out struct {
		vals []byte
		work uint64
	}
	run := func(batched bool) out {
		e := newEnv(t, Limits{})
		x := e.call("tensor_new", 1, 2, 4)
		p, n := e.str(0, "w")
		w := e.call("tensor_open", p, n)
		y := e.call("tensor_new", 1, 2, 2)
		for i := 0; i < 8; i++ {
			binary.LittleEndian.PutUint32(e.m[100+4*i:], math.Float32bits(float32(i)-3.5))
		}
		e.call("tensor_write", u(x), 0, 100, 32)
		work0 := e.in.Work()
		ops := [][]uint64{{7, u(y), u(x), u(w)}, {14, u(y), u(y), u(y)}, {12, u(y)}, {13, u(y), u(y), u(y)}}
		if batched {
			var recs []byte
			for _, op := range ops {
				recs = append(recs, record(uint32(op[0]), op[1:]...)...)
			}
			copy(e.m[1000:], recs)
			if rc := e.call("exec", 1000, uint64(len(ops))); rc != 0 {
				t.Fatalf("exec = %d: %s", rc, e.in.LastError())
			}
		} else {
			names := map[uint64]string{7: "matmul", 14: "add", 12: "softmax", 13: "silu_mul"}
			for _, op := range ops {
				if rc := e.call(names[op[0]], op[1:]...); rc != 0 {
					t.Fatal(rc)
				}
			}
		}
		e.call("tensor_read", u(y), 0, 200, 16)
		return out{append([]byte(nil), e.m[200:216]...), e.in.Work() - work0}
	}
	calls, batch := run(false), run(true)
	if string(calls.vals) != string(batch.vals) {
		t.Fatal("exec computed different values")
	}
	if batch.work != calls.work+CallCost {
		t.Fatalf("exec cost %d work units, calls %d (+%d for exec itself)", batch.work, calls.work, CallCost)
	}
}

func TestExecErrors(t *testing.T) {
	e := newEnv(t, Limits{})
	x := e.call("tensor_new", 1, 1, 4)
	recs := append(record(14, u(x), u(x), u(x)), record(14, u(x), u(x), 999)...)
	copy(e.m[1000:], recs)
	if rc := e.call("exec", 1000, 2); rc != -int32(CodeHandle) {
		t.Fatalf("exec with a bad handle in op 1: %d", rc)
	}
	if msg := e.in.LastError(); !strings.HasPrefix(msg, "exec op 1 (add)") {
		t.Fatalf("last error %q does not name the op", msg)
	}
	for name, r := range map[string][]byte{
		"unknown opcode": record(31), "opcode 0": record(0), "exec inside exec": record(99),
		"value-returning tensor_new": record(0x7f), "nonzero pad": func() []byte { r := record(14, u(x), u(x), u(x)); r[4] = 1; return r }(),
	} {
		copy(e.m[1000:], r)
		if rc := e.call("exec", 1000, 1); rc != -int32(CodeInvalid) {
			t.Errorf("%s: %d", name, rc)
		}
	}
	if rc := e.call("exec", 1<<16-32, 1); rc != -int32(CodePointer) {
		t.Fatalf("records past the end of memory: %d", rc)
	}
	if rc := e.call("exec", 0, u(-1)); rc != -int32(CodeInvalid) {
		t.Fatalf("negative count: %d", rc)
	}
	if rc := e.call("exec", 0, 0); rc != 0 {
		t.Fatalf("empty exec: %d", rc)
	}
}
