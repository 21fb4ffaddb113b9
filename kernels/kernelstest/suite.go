package kernelstest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/kernels/cpu"
)

// Reference returns the specification backend: generic Go loops, one thread.
func Reference() kernels.Backend {
	b, err := cpu.New(cpu.Options{Threads: 1, Generic: true})
	if err != nil {
		panic(err)
	}
	return b
}

// pair holds the same input on the reference and on the backend under test.
type pair struct {
	ref, got kernels.Tensor
}

type harness struct {
	t        testing.TB
	ref, got kernels.Backend
	rng      *rand.Rand
}

func (h *harness) load(dt kernels.DType, rows, cols int, data []byte) pair {
	h.t.Helper()
	r, err := h.ref.Load(dt, rows, cols, append([]byte(nil), data...))
	if err != nil {
		h.t.Fatalf("reference load: %v", err)
	}
	g, err := h.got.Load(dt, rows, cols, append([]byte(nil), data...))
	if err != nil {
		h.t.Fatalf("%s load: %v", h.got.Name(), err)
	}
	return pair{r, g}
}

// randF32 makes a tensor of normal values with a few specials mixed in, so
// that sign, zero and large-magnitude handling are exercised.
func (h *harness) randF32(rows, cols int, scale float32) pair {
	buf := make([]byte, 4*rows*cols)
	for i := 0; i < rows*cols; i++ {
		v := float32(h.rng.NormFloat64()) * scale
		switch h.rng.IntN(64) {
		case 0:
			v = 0
		case 1:
			v = float32(math.Copysign(0, -1))
		case 2:
			v *= 64
		}
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return h.load(kernels.F32, rows, cols, buf)
}

func (h *harness) randQ8(rows, cols int) pair {
	rb := kernels.Q8_0.RowBytes(cols)
	buf := make([]byte, rows*rb)
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		for i := range row {
			row[i] = float32(h.rng.NormFloat64()) * 0.05
		}
		kernels.QuantizeRowQ8_0(buf[r*rb:(r+1)*rb], row)
	}
	return h.load(kernels.Q8_0, rows, cols, buf)
}

func (h *harness) zeros(rows, cols int) pair {
	return h.load(kernels.F32, rows, cols, make([]byte, 4*rows*cols))
}

func (h *harness) read(b kernels.Backend, t kernels.Tensor) []byte {
	h.t.Helper()
	out := make([]byte, t.DType().Bytes(t.Rows(), t.Cols()))
	if err := b.Read(t, 0, out); err != nil {
		h.t.Fatalf("%s read: %v", b.Name(), err)
	}
	return out
}

// same requires identical bits, reporting the first differing element. NaN
// payloads are unspecified (docs/numerics.md): any NaN matches any NaN.
func (h *harness) same(what string, p pair) {
	h.t.Helper()
	want, got := h.read(h.ref, p.ref), h.read(h.got, p.got)
	for i := 0; i+4 <= len(want); i += 4 {
		w, g := binary.LittleEndian.Uint32(want[i:]), binary.LittleEndian.Uint32(got[i:])
		if w != g && !(isNaN(w) && isNaN(g)) {
			h.t.Fatalf("%s: element %d differs: reference %v (%#08x), %s %v (%#08x)",
				what, i/4, math.Float32frombits(w), w, h.got.Name(), math.Float32frombits(g), g)
		}
	}
}

func isNaN(bits uint32) bool { return bits&0x7f800000 == 0x7f800000 && bits&0x7fffff != 0 }

func must(t testing.TB, what string, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// Run checks every operation of got against the reference. Seeds are fresh
// each run (logged, so a failure can be replayed with RunSeed).
func Run(t *testing.T, got kernels.Backend) {
	seed := rand.Uint64()
	t.Logf("conformance seed %d (replay with kernelstest.RunSeed)", seed)
	RunSeed(t, got, seed)
}

// RunSeed is Run with a chosen seed.
func RunSeed(t *testing.T, got kernels.Backend, seed uint64) {
	ref := Reference()
	defer ref.Close()
	h := &harness{t: t, ref: ref, got: got, rng: rand.New(rand.NewPCG(seed, 0x636f6e66))}
	t.Run("matmul_f32", func(t *testing.T) { h.t = t; h.matmul(false) })
	t.Run("matmul_q8", func(t *testing.T) { h.t = t; h.matmul(true) })
	t.Run("matmul_q8_edges", func(t *testing.T) { h.t = t; h.matmulQ8Edges() })
	t.Run("set_rows", func(t *testing.T) { h.t = t; h.setRows() })
	t.Run("embed", func(t *testing.T) { h.t = t; h.embed() })
	t.Run("rmsnorm", func(t *testing.T) { h.t = t; h.rmsnorm() })
	t.Run("rope", func(t *testing.T) { h.t = t; h.rope() })
	t.Run("attention", func(t *testing.T) { h.t = t; h.attention() })
	t.Run("softmax", func(t *testing.T) { h.t = t; h.softmax() })
	t.Run("elementwise", func(t *testing.T) { h.t = t; h.elementwise() })
	t.Run("copy", func(t *testing.T) { h.t = t; h.copyOp() })
	t.Run("sample", func(t *testing.T) { h.t = t; h.sample() })
}

var (
	ks = []int{1, 2, 5, 31, 32, 33, 63, 64, 65, 100, 172, 288, 1000, 2049}
	ns = []int{1, 2, 3, 7, 16}
	ms = []int{1, 3, 17, 64, 129}
)

func (h *harness) matmul(q8 bool) {
	for _, K := range ks {
		n, M := ns[h.rng.IntN(len(ns))], ms[h.rng.IntN(len(ms))]
		x := h.randF32(n, K, 1)
		var w pair
		if q8 {
			w = h.randQ8(M, K)
		} else {
			w = h.randF32(M, K, 0.1)
		}
		out := h.zeros(n, M)
		must(h.t, "matmul", h.ref.MatMul(out.ref, x.ref, w.ref), h.got.MatMul(out.got, x.got, w.got))
		h.same(fmt.Sprintf("matmul n=%d M=%d K=%d q8=%v", n, M, K, q8), out)
	}
}

// matmulQ8Edges feeds activation blocks whose scale underflows or
// overflows, infinities and NaNs: the quantizer's total rounding rule.
func (h *harness) matmulQ8Edges() {
	const K = 96
	specials := []float32{1e-38, -3e-39, 1e-45, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, 0}
	buf := make([]byte, 4*4*K)
	for r := 0; r < 4; r++ {
		for k := 0; k < K; k++ {
			v := float32(h.rng.NormFloat64())
			switch block := k / 32; {
			case r == 0 && block == 0:
				v *= 1e-39 // tiny block: 1/d overflows
			case h.rng.IntN(8) == 0:
				v = specials[h.rng.IntN(len(specials))]
			}
			binary.LittleEndian.PutUint32(buf[4*(r*K+k):], math.Float32bits(v))
		}
	}
	x := h.load(kernels.F32, 4, K, buf)
	w := h.randQ8(9, K)
	out := h.zeros(4, 9)
	must(h.t, "matmul q8 edges", h.ref.MatMul(out.ref, x.ref, w.ref), h.got.MatMul(out.got, x.got, w.got))
	h.same("matmul q8 edges", out)
}

// setRows reuses a buffer for a smaller batch, as guests do.
func (h *harness) setRows() {
	x, w := h.randF32(7, 40, 1), h.randF32(5, 40, 1)
	out := h.zeros(7, 5)
	must(h.t, "set_rows", h.ref.SetRows(x.ref, 3), h.got.SetRows(x.got, 3), h.ref.SetRows(out.ref, 3), h.got.SetRows(out.got, 3))
	must(h.t, "matmul after set_rows", h.ref.MatMul(out.ref, x.ref, w.ref), h.got.MatMul(out.got, x.got, w.got))
	h.same("matmul after set_rows", out)
	must(h.t, "softmax after set_rows", h.ref.Softmax(out.ref), h.got.Softmax(out.got))
	h.same("softmax after set_rows", out)
	if err := h.got.SetRows(x.got, 8); err == nil {
		h.t.Fatal("set_rows beyond the rows a tensor was made with")
	}
}

func (h *harness) embed() {
	for _, q8 := range []bool{false, true} {
		V, D := 50, []int{8, 33, 64}[h.rng.IntN(3)]
		var tab pair
		if q8 {
			tab = h.randQ8(V, D)
		} else {
			tab = h.randF32(V, D, 1)
		}
		toks := make([]int32, 1+h.rng.IntN(9))
		for i := range toks {
			toks[i] = int32(h.rng.IntN(V))
		}
		out := h.zeros(len(toks), D)
		must(h.t, "embed", h.ref.Embed(out.ref, tab.ref, toks), h.got.Embed(out.got, tab.got, toks))
		h.same(fmt.Sprintf("embed D=%d q8=%v", D, q8), out)
	}
}

func (h *harness) rmsnorm() {
	for _, D := range ks {
		n := ns[h.rng.IntN(len(ns))]
		x, w := h.randF32(n, D, 1), h.randF32(1, D, 1)
		out := h.zeros(n, D)
		must(h.t, "rmsnorm", h.ref.RMSNorm(out.ref, x.ref, w.ref, 1e-5), h.got.RMSNorm(out.got, x.got, w.got, 1e-5))
		h.same(fmt.Sprintf("rmsnorm n=%d D=%d", n, D), out)
		// In place, as a guest may do.
		must(h.t, "rmsnorm in place", h.ref.RMSNorm(x.ref, x.ref, w.ref, 1e-6), h.got.RMSNorm(x.got, x.got, w.got, 1e-6))
		h.same("rmsnorm in place", x)
	}
}

func (h *harness) rope() {
	for _, hs := range []int{2, 8, 16, 48, 64, 128} {
		heads := 1 + h.rng.IntN(4)
		n := ns[h.rng.IntN(len(ns))]
		pos := []int{0, 1, 37, 511, 4000, 70000}[h.rng.IntN(6)]
		theta := []float32{10000, 500000, 1e6}[h.rng.IntN(3)]
		x := h.randF32(n, heads*hs, 1)
		must(h.t, "rope", h.ref.RoPE(x.ref, pos, hs, theta), h.got.RoPE(x.got, pos, hs, theta))
		h.same(fmt.Sprintf("rope hs=%d pos=%d θ=%v", hs, pos, theta), x)
	}
}

func (h *harness) attention() {
	cases := []struct{ heads, kv, hs int }{{1, 1, 8}, {8, 4, 8}, {6, 6, 48}, {4, 1, 64}, {32, 4, 64}, {2, 2, 3}}
	for _, c := range cases {
		S := 70
		n := ns[h.rng.IntN(len(ns))]
		pos := h.rng.IntN(S - n + 1)
		if h.rng.IntN(3) == 0 {
			pos = 0
		}
		q := h.randF32(n, c.heads*c.hs, 1)
		k := h.randF32(S, c.kv*c.hs, 1)
		v := h.randF32(S, c.kv*c.hs, 1)
		out := h.zeros(n, c.heads*c.hs)
		must(h.t, "attention", h.ref.Attention(out.ref, q.ref, k.ref, v.ref, pos, c.heads, c.kv),
			h.got.Attention(out.got, q.got, k.got, v.got, pos, c.heads, c.kv))
		h.same(fmt.Sprintf("attention %+v n=%d pos=%d", c, n, pos), out)
	}
}

func (h *harness) softmax() {
	for _, D := range ks {
		x := h.randF32(ns[h.rng.IntN(len(ns))], D, 4)
		must(h.t, "softmax", h.ref.Softmax(x.ref), h.got.Softmax(x.got))
		h.same(fmt.Sprintf("softmax D=%d", D), x)
	}
}

func (h *harness) elementwise() {
	for _, D := range []int{1, 7, 64, 100, 70000} {
		a, b := h.randF32(2, D, 3), h.randF32(2, D, 3)
		for _, op := range []string{"silu_mul", "add", "mul"} {
			out := h.zeros(2, D)
			run := func(be kernels.Backend, o, x, y kernels.Tensor) error {
				switch op {
				case "silu_mul":
					return be.SiLUMul(o, x, y)
				case "add":
					return be.Add(o, x, y)
				}
				return be.Mul(o, x, y)
			}
			must(h.t, op, run(h.ref, out.ref, a.ref, b.ref), run(h.got, out.got, a.got, b.got))
			h.same(fmt.Sprintf("%s D=%d", op, D), out)
		}
	}
}

func (h *harness) copyOp() {
	src, dst := h.randF32(4, 50, 1), h.randF32(3, 60, 1)
	must(h.t, "copy", h.ref.Copy(dst.ref, 17, src.ref, 5, 120), h.got.Copy(dst.got, 17, src.got, 5, 120))
	h.same("copy", dst)
}

func (h *harness) sample() {
	for i := 0; i < 200; i++ {
		V := []int{1, 2, 5, 512, 1000, 32000}[h.rng.IntN(6)]
		logits := h.randF32(2, V, float32(1+h.rng.IntN(8)))
		p := kernels.SampleParams{
			Temperature: []float32{0, 0.2, 0.8, 1, 1.5}[h.rng.IntN(5)],
			TopK:        []int{0, 1, 5, 40, V}[h.rng.IntN(5)],
			Seed:        h.rng.Uint64(),
			Step:        h.rng.Uint64N(5000),
		}
		row := h.rng.IntN(2)
		want, err1 := h.ref.Sample(logits.ref, row, p)
		got, err2 := h.got.Sample(logits.got, row, p)
		must(h.t, "sample", err1, err2)
		if want != got {
			h.t.Fatalf("sample V=%d %+v: reference %d, %s %d", V, p, want, h.got.Name(), got)
		}
	}
}

// SpecDigest runs every operation on fixed inputs and hashes the outputs. A
// committed digest pins the numerics: it changes only when the specification
// does (and then docs/numerics.md must say so), and it catches a compiler
// that fuses a multiply and an add behind the code's back.
func SpecDigest(t testing.TB, b kernels.Backend) string {
	ref := Reference()
	defer ref.Close()
	h := &harness{t: t, ref: ref, got: b, rng: rand.New(rand.NewPCG(42, 42))}
	d := sha256.New()
	add := func(p pair) { d.Write(h.read(b, p.got)) }
	for _, K := range []int{33, 288} {
		x, w, wq := h.randF32(3, K, 1), h.randF32(17, K, 0.1), h.randQ8(17, K)
		o1, o2 := h.zeros(3, 17), h.zeros(3, 17)
		must(t, "matmul", b.MatMul(o1.got, x.got, w.got), b.MatMul(o2.got, x.got, wq.got))
		add(o1)
		add(o2)
		nw := h.randF32(1, K, 1)
		o3 := h.zeros(3, K)
		must(t, "rmsnorm", b.RMSNorm(o3.got, x.got, nw.got, 1e-5))
		add(o3)
		must(t, "softmax", b.Softmax(x.got))
		add(x)
	}
	q, k, v := h.randF32(3, 4*16, 1), h.randF32(20, 2*16, 1), h.randF32(20, 2*16, 1)
	must(t, "rope", b.RoPE(q.got, 5, 16, 10000), b.RoPE(k.got, 0, 16, 10000))
	add(q)
	add(k)
	o := h.zeros(3, 4*16)
	must(t, "attention", b.Attention(o.got, q.got, k.got, v.got, 5, 4, 2))
	add(o)
	a, c := h.randF32(1, 100, 3), h.randF32(1, 100, 3)
	oe := h.zeros(1, 100)
	must(t, "silu_mul", b.SiLUMul(oe.got, a.got, c.got))
	add(oe)
	lg := h.randF32(1, 1000, 3)
	for s := uint64(0); s < 16; s++ {
		tok, err := b.Sample(lg.got, 0, kernels.SampleParams{Temperature: 0.8, TopK: 40, Seed: 7, Step: s})
		must(t, "sample", err)
		binary.Write(d, binary.LittleEndian, tok)
	}
	return fmt.Sprintf("%x", d.Sum(nil))
}
