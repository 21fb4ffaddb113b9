//go:build amd64 && !purego

package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/dnahost/dnahost/kernels"
)

// sameValue is sameBits except that any NaN matches any NaN: NaN payloads
// are unspecified (docs/numerics.md), and Expf returns its NaN argument
// unchanged, so a NaN's sign may depend on operand order.
func sameValue(x, y float32) bool {
	return sameBits(x, y) || (x != x && y != y)
}

// expfInputs are the arguments where Expf is most fragile: the range
// limits and their neighbours, rounding boundaries of n, zeros,
// subnormal results, infinities and NaNs.
func expfInputs(r *rand.Rand, n int) []float32 {
	var xs []float32
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5,
		88.72283905206835, -103.97207708, 88.7, -87.3, -87.4, -103, -104, 88.8,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32} {
		b := math.Float32bits(v)
		for d := uint32(0); d < 5; d++ {
			xs = append(xs, math.Float32frombits(b+d), math.Float32frombits(b-d))
		}
	}
	for k := -150; k <= 128; k++ { // x·log2e + 0.5 near an integer
		v := (float32(k) - 0.5) / 1.44269504088896341
		b := math.Float32bits(v)
		for d := uint32(0); d < 3; d++ {
			xs = append(xs, math.Float32frombits(b+d), math.Float32frombits(b-d))
		}
	}
	for len(xs) < n {
		switch r.IntN(3) {
		case 0:
			xs = append(xs, math.Float32frombits(r.Uint32()))
		case 1:
			xs = append(xs, float32(r.Float64()*200-110))
		default:
			xs = append(xs, special(r))
		}
	}
	return xs
}

// The SIMD Expf must equal Expf bit for bit, NaN payloads included (Expf
// returns a NaN argument unchanged); vec_exhaustive_amd64_test.go checks
// every argument.
func TestExpfSIMD(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(21, 22))
	xs := expfInputs(r, 1<<20)
	got := make([]float32, len(xs))
	forKernels(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, len(xs) - 1} {
			clear(got)
			expfSIMD(got[:n], xs[:n])
			if got[n] != 0 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
			for i, x := range xs[:n] {
				if want := Expf(x); !sameBits(got[i], want) {
					t.Fatal(fmtExpf(useAVX512, x, want, got[i]))
				}
			}
		}
	})
}

// expfWith runs the SIMD Expf of the given width (without touching
// useAVX512, so that goroutines can test both at once).
func expfWith(avx512 bool, dst, src []float32) {
	dst = dst[:len(src)]
	if avx512 {
		expfAVX512(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
	} else {
		expfAVX2(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
	}
}

func fmtExpf(avx512 bool, x, want, got float32) string {
	return fmt.Sprintf("avx512=%v: Expf(%v [%#08x]) = %v [%#08x], SIMD %v [%#08x]", avx512, x, math.Float32bits(x),
		want, math.Float32bits(want), got, math.Float32bits(got))
}

// softmaxInputs mixes ordinary scores with the specials of profiles().
func softmaxInputs(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	pr := profiles()[r.IntN(5)]
	scale := []float64{1, 4, 30, 200}[r.IntN(4)]
	for i := range x {
		x[i] = pr(r) * float32(scale)
		if r.IntN(50) == 0 {
			x[i] = special(r)
		}
	}
	return x
}

func TestSoftmaxSIMD(t *testing.T) {
	requireSIMD(t)
	forKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(23, 24))
		for n := 0; n < 300; n++ {
			for range 20 {
				x := softmaxInputs(r, n+1)
				div := []float32{1, 1, sqrtf(8), sqrtf(48), 3, float32(r.NormFloat64())}[r.IntN(6)]
				want := append([]float32(nil), x...)
				for i := range want[:n] {
					want[i] = want[i] / div
				}
				softmaxRow(want[:n], false)
				got := append([]float32(nil), x...)
				softmaxSIMD(got[:n], div)
				for i := range got {
					if !sameValue(got[i], want[i]) {
						t.Fatalf("n=%d div=%v: x[%d] = %v (%#08x), reference %v (%#08x)\nx=%v",
							n, div, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]), x)
					}
				}
			}
		}
	})
}

func TestSiLUMulSIMD(t *testing.T) {
	requireSIMD(t)
	forKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(25, 26))
		prs := profiles()
		for n := 0; n < 200; n++ {
			for range 30 {
				pr := prs[r.IntN(len(prs))]
				a, c := fill(r, pr, n, 0), fill(r, pr, n, 0)
				for i := range a {
					if r.IntN(2) == 0 {
						a[i] = float32(r.Float64()*240 - 120)
					}
				}
				got := make([]float32, n+1)
				siluMulSIMD(got[:n], a, c)
				if got[n] != 0 {
					t.Fatalf("n=%d: wrote past the end", n)
				}
				for i := range a {
					if want := siluMul(a[i], c[i]); !sameValue(got[i], want) {
						t.Fatalf("silu_mul(%v, %v) = %v (%#08x), SIMD %v (%#08x)", a[i], c[i],
							want, math.Float32bits(want), got[i], math.Float32bits(got[i]))
					}
				}
			}
		}
	})
}

func TestAttendSIMD(t *testing.T) {
	requireSIMD(t)
	forKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(27, 28))
		prs := profiles()
		for _, hs := range []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 48, 64, 100, 128} {
			for range 40 {
				n := r.IntN(200)
				if r.IntN(4) == 0 {
					n = r.IntN(40)
				}
				heads := 1 + r.IntN(3)
				off := r.IntN(heads) * hs
				pr := prs[r.IntN(len(prs))]
				vt := &Tensor{rows: n + 1, cols: heads * hs, f: fill(r, pr, (n+1)*heads*hs, 0)}
				a := fill(r, prs[r.IntN(len(prs))], n, 0)
				want := make([]float32, hs)
				attendValues(want, a, vt, off, make([]float32, Lanes*hs))
				got := make([]float32, hs+1)
				acc := make([]float32, attendAccLen(hs))
				for i := range acc {
					acc[i] = float32(math.NaN()) // scratch comes dirty
				}
				attendSIMD(got[:hs], a, vt, off, acc)
				if got[hs] != 0 {
					t.Fatalf("hs=%d: wrote past the end", hs)
				}
				for i := range want {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("hs=%d n=%d: out[%d] = %v (%#08x), reference %v (%#08x)",
							hs, n, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	})
}

// scoresSIMD: every score must be DotRef's, for the head-size-8 kernel and
// the general one.
func TestScoresSIMD(t *testing.T) {
	requireSIMD(t)
	forKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(29, 30))
		prs := profiles()
		for K := 1; K <= 20; K++ {
			for range 60 {
				rows, T := 1+r.IntN(20), 1+r.IntN(70)
				ldq, ldk := K+r.IntN(3)*K, K+r.IntN(3)*K
				ldo := T + r.IntN(3)
				pr := prs[r.IntN(len(prs))]
				q := fill(r, pr, (rows-1)*ldq+K, 0)
				k := fill(r, pr, (T-1)*ldk+K, 0)
				out := make([]float32, rows*ldo)
				scoresSIMD(out, ldo, q, ldq, k, ldk, rows, K, T)
				for i := range rows {
					for j := range ldo {
						want := float32(0)
						if j < T {
							want = DotRef(q[i*ldq:i*ldq+K], k[j*ldk:j*ldk+K])
						}
						if got := out[i*ldo+j]; !sameBits(got, want) {
							t.Fatalf("K=%d rows=%d T=%d: out[%d][%d] = %v (%#08x), DotRef %v (%#08x)",
								K, rows, T, i, j, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	})
}

// The batched Q8 kernel: every element must be dotQ8Generic's, for
// arbitrary weight bytes and scales (NaN, Inf, subnormal), activations
// down to −128 and any number of blocks (lanes wrap past 32 blocks).
func TestMatMulQ8Batch(t *testing.T) {
	requireSIMD(t)
	if !haveQ8Batch {
		t.Skip("no AVX-512 VNNI")
	}
	r := rand.New(rand.NewPCG(31, 32))
	prs := profiles()
	for _, threads := range []int{1, 3} {
		be, err := New(Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		for _, nb := range []int{1, 2, 3, 9, 24, 31, 32, 33, 40, 64, 65, 70} {
			for range 6 {
				n, M := q8BatchMin+r.IntN(40), 2+r.IntN(12)
				mode := r.IntN(3)
				pr := prs[r.IntN(len(prs))]
				w := make([]byte, M*nb*kernels.Q8BlockBytes)
				xq := make([]int8, n*nb*kernels.Q8BlockSize)
				xd := make([]float32, n*nb)
				for m := range M {
					c := randQ8Case(r, nb, mode, pr)
					copy(w[m*nb*kernels.Q8BlockBytes:], c.w[:nb*kernels.Q8BlockBytes])
				}
				for row := range n {
					c := randQ8Case(r, nb, mode, pr)
					copy(xq[row*nb*kernels.Q8BlockSize:], c.xq[:nb*kernels.Q8BlockSize])
					copy(xd[row*nb:], c.xd)
				}
				wt := &Tensor{dt: kernels.Q8_0, rows: M, cols: nb * kernels.Q8BlockSize, b: w}
				o := &Tensor{dt: kernels.F32, rows: n, cols: M, f: make([]float32, n*M)}
				groups := (n + 15) / 16
				xT := make([]uint32, groups*nb*128)
				dxT := make([]float32, groups*nb*16)
				xsT := make([]int32, groups*nb*16)
				for row := range n {
					transposeQ8(xT, dxT, xsT, xq[row*nb*kernels.Q8BlockSize:], xd[row*nb:], row/16, row%16, nb)
				}
				be.matmulQ8T(o, wt, xT, dxT, xsT, n, M, nb)
				rb := nb * kernels.Q8BlockBytes
				for row := range n {
					for m := range M {
						want := dotQ8Generic(w[m*rb:(m+1)*rb], xq[row*nb*kernels.Q8BlockSize:], xd[row*nb:(row+1)*nb])
						if got := o.f[row*M+m]; !sameBits(got, want) {
							t.Fatalf("threads=%d nb=%d n=%d M=%d mode=%d: out[%d][%d] = %v (%#08x), dotQ8Generic %v (%#08x)",
								threads, nb, n, M, mode, row, m, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
		be.Close()
	}
}

// quantizeActsSIMD must give quantizeActs's values (a NaN scale may differ
// in payload only).
func TestQuantizeActsSIMD(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(33, 34))
	prs := profiles()
	for K := 1; K <= 300; K++ {
		for range 20 {
			pr := prs[r.IntN(len(prs))]
			x := fill(r, pr, K, 0)
			scale := []float32{1, 1e-3, 1e-38, 1e-40, 1e30, 127, 126.5}[r.IntN(7)]
			for i := range x {
				x[i] *= scale
				if r.IntN(40) == 0 {
					x[i] = float32(r.IntN(255)-127) / 2 // exact halves
				}
			}
			if r.IntN(3) == 0 { // amax 127: id = 1, so x·id is x, halves included
				for i := range x {
					x[i] = float32(r.IntN(509)-254) / 4
					if i%kernels.Q8BlockSize == 0 {
						x[i] = 127
					}
				}
			}
			nb := (K + kernels.Q8BlockSize - 1) / kernels.Q8BlockSize
			wq, gq := make([]int8, nb*kernels.Q8BlockSize), make([]int8, nb*kernels.Q8BlockSize)
			wd, gd := make([]float32, nb), make([]float32, nb)
			for i := range gq {
				gq[i] = 99 // scratch comes dirty
			}
			quantizeActs(x, wq, wd)
			quantizeActsSIMD(x, gq, gd)
			for i := range wq {
				if wq[i] != gq[i] {
					t.Fatalf("K=%d: q[%d] = %d, reference %d (x=%v, d=%v)", K, i, gq[i], wq[i], x[i], wd[i/kernels.Q8BlockSize])
				}
			}
			for i := range wd {
				if !sameValue(wd[i], gd[i]) {
					t.Fatalf("K=%d: d[%d] = %v, reference %v", K, i, gd[i], wd[i])
				}
			}
		}
	}
}

// The greedy shortcut must pick SampleRow's token for every top-k.
func TestGreedySIMD(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(35, 36))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for n := 1; n < 200; n++ {
		for range 40 {
			x := make([]float32, n)
			for i := range x {
				switch r.IntN(8) {
				case 0:
					x[i] = nan
				case 1:
					x[i] = -inf
				case 2:
					x[i] = float32(r.IntN(3)) // ties
				case 3:
					x[i] = float32(math.Copysign(0, -1))
				case 4:
					x[i] = inf
				default:
					x[i] = float32(r.NormFloat64())
				}
			}
			if r.IntN(4) == 0 { // no inf: ties among ordinary values
				for i := range x {
					if math.IsInf(float64(x[i]), 1) {
						x[i] = 2
					}
				}
			}
			if r.IntN(6) == 0 {
				for i := range x {
					x[i] = []float32{nan, -inf}[r.IntN(2)]
				}
			}
			for _, k := range []int{0, 1, 3, n} {
				p := kernels.SampleParams{TopK: k, Seed: 1, Step: 2}
				want := SampleRow(x, p)
				if got := greedy(x); got != want {
					t.Fatalf("greedy(%v) = %d, SampleRow (top-k %d) %d", x, got, k, want)
				}
				for _, v := range []bool{false, true} {
					if v && !haveAVX512 {
						continue
					}
					useAVX512, v = v, useAVX512
					got := greedySIMD(x)
					useAVX512 = v
					if got != want {
						t.Fatalf("greedySIMD(%v) = %d, SampleRow (top-k %d) %d", x, got, k, want)
					}
				}
			}
		}
	}
}

// paths are the code paths the benchmarks compare.
func benchPaths() []string {
	if haveAVX512 {
		return []string{"generic", "avx2", "avx512"}
	}
	return []string{"generic", "avx2"}
}

// withPath sets useAVX512 for a path and returns a backend for it.
func withPath(b *testing.B, path string) *Backend {
	b.Helper()
	useAVX512 = path == "avx512"
	be, err := New(Options{Threads: 1, Generic: path == "generic"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(); useAVX512 = haveAVX512 })
	return be
}

func BenchmarkExpf(b *testing.B) {
	requireSIMD(b)
	r := rand.New(rand.NewPCG(37, 38))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(r.Float64()*40 - 30)
	}
	y := make([]float32, len(x))
	for _, path := range benchPaths() {
		b.Run(path, func(b *testing.B) {
			withPath(b, path)
			for b.Loop() {
				if path == "generic" {
					for i, v := range x {
						y[i] = Expf(v)
					}
				} else {
					expfSIMD(y, x)
				}
			}
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds()/1e9, "Gexp/s")
		})
	}
}

func BenchmarkSoftmax(b *testing.B) {
	requireSIMD(b)
	r := rand.New(rand.NewPCG(39, 40))
	for _, n := range []int{130, 1000, 32000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 3)
		}
		y := make([]float32, n)
		for _, path := range benchPaths() {
			b.Run(fmt.Sprintf("n=%d/%s", n, path), func(b *testing.B) {
				withPath(b, path)
				for b.Loop() {
					copy(y, x)
					softmaxRow(y, path != "generic")
				}
			})
		}
	}
}

// BenchmarkAttention: one batched call as verification makes it (n rows at
// pos 0) and one decode step (n = 1 at pos 258), for the head shapes of
// stories260K (8 heads of 8, 4 kv heads) and stories15M (6 heads of 48).
func BenchmarkAttention(b *testing.B) {
	requireSIMD(b)
	r := rand.New(rand.NewPCG(41, 42))
	for _, sh := range []struct{ heads, kv, hs int }{{8, 4, 8}, {6, 6, 48}} {
		for _, st := range []struct{ n, pos int }{{259, 0}, {1, 258}} {
			S := st.pos + st.n
			mk := func(rows, cols int) []byte {
				buf := make([]byte, 4*rows*cols)
				for i := 0; i < rows*cols; i++ {
					binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(r.NormFloat64())))
				}
				return buf
			}
			qb, kb, vb := mk(st.n, sh.heads*sh.hs), mk(S, sh.kv*sh.hs), mk(S, sh.kv*sh.hs)
			for _, path := range benchPaths() {
				b.Run(fmt.Sprintf("hs=%d/n=%d/pos=%d/%s", sh.hs, st.n, st.pos, path), func(b *testing.B) {
					be := withPath(b, path)
					q, _ := be.Load(kernels.F32, st.n, sh.heads*sh.hs, qb)
					k, _ := be.Load(kernels.F32, S, sh.kv*sh.hs, kb)
					v, _ := be.Load(kernels.F32, S, sh.kv*sh.hs, vb)
					o, _ := be.New(kernels.F32, st.n, sh.heads*sh.hs)
					for b.Loop() {
						if err := be.Attention(o, q, k, v, st.pos, sh.heads, sh.kv); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
