//go:build amd64 && !purego

package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dnahost/dnahost/kernels"
)

func requireSIMD(tb testing.TB) {
	tb.Helper()
	if !haveSIMD {
		tb.Skip("no AVX2+F16C on this machine")
	}
}

// Bits are compared exactly, NaN payloads included: x86 propagates the
// first NaN source, so payloads show whether the assembly keeps the
// reference's operand order.
func sameBits(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }

// special returns one of the values where float arithmetic is most fragile.
func special(r *rand.Rand) float32 {
	sign := r.Uint32() & 0x80000000
	switch r.IntN(10) {
	case 0:
		return math.Float32frombits(sign) // ±0
	case 1:
		return math.Float32frombits(sign | 0x7f800000) // ±Inf
	case 2, 3:
		return randNaN(r)
	case 4:
		return math.Float32frombits(sign | r.Uint32N(1<<23)) // subnormal
	case 5:
		return math.Float32frombits(sign | 0x7f7fffff) // ±MaxFloat32
	case 6:
		return math.Float32frombits(sign | 0x00800000 | r.Uint32N(1<<23)) // tiny normal
	case 7:
		return float32(r.NormFloat64() * 1e30) // products overflow
	case 8:
		return float32(r.NormFloat64() * 1e-25) // products underflow
	}
	return math.Float32frombits(r.Uint32()) // anything
}

// randNaN is a quiet or signaling NaN with a random sign and payload.
func randNaN(r *rand.Rand) float32 {
	return math.Float32frombits(r.Uint32()&0x80000000 | 0x7f800000 | (r.Uint32N(1<<23-1) + 1))
}

// profile draws one element; test cases mix ordinary values with specials
// at different rates, down to all-NaN inputs that exercise every operand
// order (product, accumulation, tree).
type profile func(r *rand.Rand) float32

func profiles() []profile {
	mixed := func(p float64, scale float64) profile {
		return func(r *rand.Rand) float32 {
			if r.Float64() < p {
				return special(r)
			}
			return float32(r.NormFloat64() * scale)
		}
	}
	return []profile{
		mixed(0, 1),
		mixed(0, 1e-3),
		mixed(0.001, 1),
		mixed(0.05, 10),
		mixed(0.5, 1),
		mixed(1, 1),
		randNaN,
		func(r *rand.Rand) float32 { return math.Float32frombits(r.Uint32()) },
	}
}

// fill returns n+extra values from pr, starting 0..7 floats into a fresh
// buffer so that loads are misaligned and cross cache lines.
func fill(r *rand.Rand, pr profile, n, extra int) []float32 {
	off := r.IntN(8)
	buf := make([]float32, off+n+extra)
	for i := range buf {
		buf[i] = pr(r)
	}
	return buf[off : off+n+extra]
}

func checkDot(tb testing.TB, a, b []float32) {
	tb.Helper()
	want, got := DotRef(a, b), dotSIMD(a, b)
	if !sameBits(want, got) {
		tb.Fatalf("K=%d: DotRef %v (%#08x), dotSIMD %v (%#08x)\na=%v\nb=%v",
			len(a), want, math.Float32bits(want), got, math.Float32bits(got), a, b)
	}
}

func TestDotSIMD(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(1, 2))
	prs := profiles()
	var lengths []int
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for range 1500 {
		lengths = append(lengths, r.IntN(2101))
	}
	for _, n := range lengths {
		for _, pr := range prs {
			a := fill(r, pr, n, 0)
			b := fill(r, pr, n, r.IntN(3)) // b may be longer than a
			checkDot(t, a, b)
		}
	}
}

// The same element NaN in both inputs, or NaN partials meeting NaN
// products, decide the result's payload by operand order.
func TestDotSIMDNaNOrder(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 31, 32, 33, 64, 95, 96, 100, 1024, 1057} {
		for range 50 {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
				switch r.IntN(4) {
				case 0:
					a[i] = randNaN(r)
				case 1:
					b[i] = randNaN(r)
				case 2:
					a[i], b[i] = randNaN(r), randNaN(r)
				}
			}
			checkDot(t, a, b)
		}
	}
}

func TestDotSIMDShortB(t *testing.T) {
	requireSIMD(t)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for len(b) < len(a)")
		}
	}()
	dotSIMD(make([]float32, 40), make([]float32, 39))
}

// forKernels runs f with each batched kernel this machine has: AVX-512
// where present, and always AVX2.
func forKernels(t *testing.T, f func(t *testing.T)) {
	defer func(v bool) { useAVX512 = v }(useAVX512)
	for _, v := range []bool{true, false} {
		if v && !haveAVX512 {
			continue
		}
		useAVX512 = v
		t.Run(fmt.Sprintf("avx512=%v", v), f)
	}
}

// checkMatMul compares matmulSIMD over [lo, hi) with DotRef, bit for bit.
func checkMatMul(tb testing.TB, x, w []float32, n, M, K, lo, hi int) {
	tb.Helper()
	out := make([]float32, n*M)
	matmulSIMD(out, x, w, n, M, K, lo, hi)
	for i, v := range out {
		row, m := i/M, i%M
		want := float32(0)
		if m >= lo && m < hi {
			want = DotRef(x[row*K:(row+1)*K], w[m*K:(m+1)*K])
		}
		if !sameBits(v, want) {
			tb.Fatalf("n=%d M=%d K=%d [%d,%d) avx512=%v: out[%d][%d] = %v (%#08x), DotRef %v (%#08x)",
				n, M, K, lo, hi, useAVX512, row, m, v, math.Float32bits(v), want, math.Float32bits(want))
		}
	}
}

// matmulSIMD groups weight rows by three or four from lo and rows of x by
// three; every element must still be DotRef's.
func TestMatMulSIMD(t *testing.T) {
	requireSIMD(t)
	forKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		prs := profiles()
		var Ks []int
		for K := 1; K <= 130; K++ {
			Ks = append(Ks, K)
		}
		Ks = append(Ks, 255, 256, 257, 288, 300, 768, 1057)
		for _, K := range Ks {
			for range 12 {
				n, M := 1+r.IntN(8), 1+r.IntN(14)
				lo := r.IntN(M)
				hi := lo + r.IntN(M-lo+1)
				pr := prs[r.IntN(len(prs))]
				x, w := fill(r, pr, n*K, 0), fill(r, pr, M*K, 0)
				checkMatMul(t, x, w, n, M, K, lo, hi)
			}
		}
	})
}

// q8Case is one Q8_0 dot product's inputs.
type q8Case struct {
	w  []byte
	xq []int8
	xd []float32
}

// randQ8Case makes nb blocks. mode 0 is what the runtime computes (weights
// from QuantizeRowQ8_0, activations from quantizeActs); the others use
// arbitrary bytes, arbitrary binary16 scales (NaN, Inf, subnormal) and
// arbitrary activation scales, including -128 activations.
func randQ8Case(r *rand.Rand, nb, mode int, pr profile) q8Case {
	K := nb * kernels.Q8BlockSize
	if mode == 0 && nb > 0 {
		K -= r.IntN(kernels.Q8BlockSize) // zero-padded last block
	}
	c := q8Case{
		w:  make([]byte, nb*kernels.Q8BlockBytes+r.IntN(40)),
		xq: make([]int8, nb*kernels.Q8BlockSize+r.IntN(40)),
		xd: make([]float32, nb),
	}
	switch mode {
	case 0:
		wf, x := make([]float32, K), make([]float32, K)
		for i := range wf {
			wf[i], x[i] = float32(r.NormFloat64()*0.05), pr(r)
		}
		kernels.QuantizeRowQ8_0(c.w, wf)
		quantizeActs(x, c.xq[:nb*kernels.Q8BlockSize], c.xd)
	default:
		for i := range c.w {
			c.w[i] = byte(r.Uint32())
		}
		for i := range c.xq {
			c.xq[i] = int8(r.Uint32())
		}
		for bl := range nb {
			var h uint16
			switch r.IntN(4) {
			case 0:
				h = uint16(r.Uint32()) // any binary16, NaNs included
			case 1:
				h = kernels.F32ToF16(float32(r.NormFloat64() * 1e-3))
			default:
				h = kernels.F32ToF16(float32(r.NormFloat64() * 0.01))
			}
			binary.LittleEndian.PutUint16(c.w[bl*kernels.Q8BlockBytes:], h)
			c.xd[bl] = pr(r)
			if mode == 2 {
				c.xd[bl] = randNaN(r)
			}
		}
	}
	return c
}

func checkDotQ8(tb testing.TB, c q8Case) {
	tb.Helper()
	want, got := dotQ8Generic(c.w, c.xq, c.xd), dotQ8SIMD(c.w, c.xq, c.xd)
	if !sameBits(want, got) {
		tb.Fatalf("nb=%d: dotQ8Generic %v (%#08x), dotQ8SIMD %v (%#08x)\nw=%v\nxq=%v\nxd=%v",
			len(c.xd), want, math.Float32bits(want), got, math.Float32bits(got), c.w, c.xq, c.xd)
	}
}

func TestDotQ8SIMD(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(5, 6))
	prs := profiles()
	var nbs []int
	for nb := 0; nb <= 80; nb++ {
		nbs = append(nbs, nb)
	}
	for range 300 {
		nbs = append(nbs, r.IntN(2100/kernels.Q8BlockSize+1))
	}
	for _, nb := range nbs {
		for _, pr := range prs {
			for mode := range 3 {
				checkDotQ8(t, randQ8Case(r, nb, mode, pr))
			}
		}
	}
}

// Extremes of the integer sums: all 32 products of a block ±127² .. 128².
func TestDotQ8SIMDExtremes(t *testing.T) {
	requireSIMD(t)
	for _, xv := range []int8{-128, -127, 127} {
		for _, wv := range []int8{-128, -127, 127} {
			nb := 41
			c := q8Case{w: make([]byte, nb*kernels.Q8BlockBytes), xq: make([]int8, nb*kernels.Q8BlockSize), xd: make([]float32, nb)}
			for bl := range nb {
				binary.LittleEndian.PutUint16(c.w[bl*kernels.Q8BlockBytes:], kernels.F32ToF16(float32(bl+1)/7))
				for i := range kernels.Q8BlockSize {
					c.w[bl*kernels.Q8BlockBytes+2+i] = byte(wv)
				}
				c.xd[bl] = 1 / float32(bl+3)
			}
			for i := range c.xq {
				c.xq[i] = xv
			}
			checkDotQ8(t, c)
		}
	}
}

// Fuzzing: the first byte repeats the input so that short inputs still
// reach several blocks; the rest is two float32 vectors.
func FuzzDotSIMD(f *testing.F) {
	seed := func(vals ...float32) []byte {
		out := []byte{0}
		for _, v := range vals {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
		return out
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f.Add(seed())
	f.Add(seed(1, 2))
	f.Add(seed(nan, 1, inf, 0, -0.0, 3, 1e-45, 2))
	f.Add(append([]byte{40}, make([]byte, 8*33)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) == 0 {
			return
		}
		rep := 1 + int(data[0])%64
		data = data[1:]
		n := len(data) / 8
		a, b := make([]float32, 0, rep*n), make([]float32, 0, rep*n)
		for range rep {
			for i := range n {
				a = append(a, math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
				b = append(b, math.Float32frombits(binary.LittleEndian.Uint32(data[4*(n+i):])))
			}
		}
		checkDot(t, a, b)
	})
}

// Each Q8 block takes 70 bytes: 34 of weights (scale first), 32
// activations and a 4-byte activation scale. As in FuzzDotSIMD the first
// byte repeats the blocks, which keeps inputs short.
func FuzzDotQ8SIMD(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, nb := range []int{0, 1, 2, 9} {
		for mode := range 2 {
			c := randQ8Case(r, nb, mode, profiles()[0])
			data := []byte{byte(nb)}
			for bl := range nb {
				data = append(data, c.w[bl*kernels.Q8BlockBytes:(bl+1)*kernels.Q8BlockBytes]...)
				for _, q := range c.xq[bl*kernels.Q8BlockSize : (bl+1)*kernels.Q8BlockSize] {
					data = append(data, byte(q))
				}
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(c.xd[bl]))
			}
			f.Add(data)
		}
	}
	const per = kernels.Q8BlockBytes + kernels.Q8BlockSize + 4
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) == 0 {
			return
		}
		rep := 1 + int(data[0])%16
		data = data[1:]
		n := len(data) / per
		nb := rep * n
		c := q8Case{w: make([]byte, 0, nb*kernels.Q8BlockBytes), xq: make([]int8, 0, nb*kernels.Q8BlockSize), xd: make([]float32, 0, nb)}
		for range rep {
			for bl := range n {
				blk := data[bl*per : (bl+1)*per]
				c.w = append(c.w, blk[:kernels.Q8BlockBytes]...)
				for _, q := range blk[kernels.Q8BlockBytes : kernels.Q8BlockBytes+kernels.Q8BlockSize] {
					c.xq = append(c.xq, int8(q))
				}
				c.xd = append(c.xd, math.Float32frombits(binary.LittleEndian.Uint32(blk[per-4:])))
			}
		}
		checkDotQ8(t, c)
	})
}

var sink float32

var benchKs = []int{288, 768, 2048, 4096}

func BenchmarkDot(b *testing.B) {
	requireSIMD(b)
	r := rand.New(rand.NewPCG(9, 10))
	for _, K := range benchKs {
		x, y := fill(r, profiles()[0], K, 0), fill(r, profiles()[0], K, 0)
		for _, impl := range []struct {
			name string
			dot  func(a, b []float32) float32
		}{{"generic", DotRef}, {"avx2", dotSIMD}} {
			b.Run(fmt.Sprintf("K=%d/%s", K, impl.name), func(b *testing.B) {
				b.SetBytes(int64(8 * K))
				for b.Loop() {
					sink = impl.dot(x, y)
				}
			})
		}
	}
}

func BenchmarkDotQ8(b *testing.B) {
	requireSIMD(b)
	r := rand.New(rand.NewPCG(11, 12))
	for _, K := range benchKs {
		c := randQ8Case(r, K/kernels.Q8BlockSize, 0, profiles()[0])
		for _, impl := range []struct {
			name string
			dot  func(w []byte, xq []int8, xd []float32) float32
		}{{"generic", dotQ8Generic}, {"avx2", dotQ8SIMD}} {
			b.Run(fmt.Sprintf("K=%d/%s", K, impl.name), func(b *testing.B) {
				b.SetBytes(int64(kernels.Q8_0.RowBytes(K) + K + 4*len(c.xd)))
				for b.Loop() {
					sink = impl.dot(c.w, c.xq, c.xd)
				}
			})
		}
	}
}

// BenchmarkMatMul measures decode-step matmuls (n = 1), one prefill shape
// (n = 16) and the batched shapes of verification (n = 64, 259) on one
// thread; bytes are the weights streamed. The generic reference and the
// per-element SIMD path are skipped for the large batches.
func BenchmarkMatMul(b *testing.B) {
	requireSIMD(b)
	r := rand.New(rand.NewPCG(13, 14))
	shapes := []struct{ n, M, K int }{{1, 768, 768}, {1, 32000, 288}, {1, 768, 288}, {16, 768, 768}}
	for _, n := range []int{64, 259} {
		for _, mk := range [][2]int{{288, 288}, {768, 288}, {288, 768}, {32000, 288}} {
			shapes = append(shapes, struct{ n, M, K int }{n, mk[0], mk[1]})
		}
	}
	for _, sh := range shapes {
		macs := float64(sh.n) * float64(sh.M) * float64(sh.K)
		gmacs := func(b *testing.B) {
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		}
		for _, dt := range []kernels.DType{kernels.F32, kernels.Q8_0} {
			wf := fill(r, profiles()[0], sh.M*sh.K, 0)
			for i := range wf {
				wf[i] *= 0.05
			}
			wb := make([]byte, dt.Bytes(sh.M, sh.K))
			for m := range sh.M {
				row := wf[m*sh.K : (m+1)*sh.K]
				if dt == kernels.F32 {
					for i, v := range row {
						binary.LittleEndian.PutUint32(wb[4*(m*sh.K+i):], math.Float32bits(v))
					}
				} else {
					kernels.QuantizeRowQ8_0(wb[m*dt.RowBytes(sh.K):(m+1)*dt.RowBytes(sh.K)], row)
				}
			}
			xb := make([]byte, 4*sh.n*sh.K)
			for i := range sh.n * sh.K {
				binary.LittleEndian.PutUint32(xb[4*i:], math.Float32bits(float32(r.NormFloat64())))
			}
			if dt == kernels.F32 && sh.n <= 16 {
				// The SIMD path before matmulSIMD: one dotSIMD per element.
				w, x := wf, make([]float32, sh.n*sh.K)
				for i := range x {
					x[i] = math.Float32frombits(binary.LittleEndian.Uint32(xb[4*i:]))
				}
				out := make([]float32, sh.n*sh.M)
				b.Run(fmt.Sprintf("%s/n=%d/M=%d/K=%d/rowwise", dt, sh.n, sh.M, sh.K), func(b *testing.B) {
					b.SetBytes(int64(len(wb)))
					for b.Loop() {
						for m := range sh.M {
							for r := range sh.n {
								out[r*sh.M+m] = dotSIMD(x[r*sh.K:(r+1)*sh.K], w[m*sh.K:(m+1)*sh.K])
							}
						}
					}
					gmacs(b)
				})
			}
			paths := []string{"generic", "avx2"}
			if haveAVX512 {
				paths = append(paths, "avx512")
			}
			for _, path := range paths {
				if path == "generic" && sh.n > 16 {
					continue
				}
				name := fmt.Sprintf("%s/n=%d/M=%d/K=%d/%s", dt, sh.n, sh.M, sh.K, path)
				b.Run(name, func(b *testing.B) {
					defer func(v bool) { useAVX512 = v }(useAVX512)
					useAVX512 = path == "avx512"
					be, err := New(Options{Threads: 1, Generic: path == "generic"})
					if err != nil {
						b.Fatal(err)
					}
					defer be.Close()
					w, err1 := be.Load(dt, sh.M, sh.K, wb)
					x, err2 := be.Load(kernels.F32, sh.n, sh.K, xb)
					out, err3 := be.New(kernels.F32, sh.n, sh.M)
					if err := firstErr(err1, err2, err3); err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(wb)))
					for b.Loop() {
						if err := be.MatMul(out, x, w); err != nil {
							b.Fatal(err)
						}
					}
					gmacs(b)
				})
			}
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
