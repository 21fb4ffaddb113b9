//go:build amd64 && !purego

package cpu

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/dnahost/dnahost/kernels"
)

// Differential fuzz targets: each new SIMD kernel against the reference,
// bit for bit (NaN payloads where the kernel promises them), with every
// kernel width this machine has. The first bytes of an input choose the
// shape; the rest, repeated as needed, are the float32 values.

// fuzzFloats returns n float32 values read cyclically from data (zeros if
// data has fewer than 4 bytes).
func fuzzFloats(data []byte, n int) []float32 {
	out := make([]float32, n)
	if len(data) < 4 {
		return out
	}
	m := len(data) / 4
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i%m):]))
	}
	return out
}

// eachWidth runs f once per kernel width (AVX2, then AVX-512 if present).
func eachWidth(f func()) {
	defer func(v bool) { useAVX512 = v }(useAVX512)
	for _, v := range []bool{false, true} {
		if v && !haveAVX512 {
			continue
		}
		useAVX512 = v
		f()
	}
}

func fuzzSeeds(f *testing.F, heads ...[]byte) {
	vals := []float32{1, -2, 0.5, float32(math.NaN()), float32(math.Inf(1)), 0, float32(math.Copysign(0, -1)),
		1e-45, 3e38, -88.8, 89, -104, 1e-30, 7}
	var body []byte
	for _, v := range vals {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
	}
	for _, h := range heads {
		f.Add(append(append([]byte(nil), h...), body...))
	}
}

func FuzzMatMulSIMD(f *testing.F) {
	fuzzSeeds(f, []byte{3, 5, 33}, []byte{0, 0, 0}, []byte{10, 11, 200}, []byte{6, 8, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 3 {
			return
		}
		n, M, K := 1+int(data[0])%12, 1+int(data[1])%16, 1+int(data[2])
		vals := fuzzFloats(data[3:], n*K+M*K)
		eachWidth(func() { checkMatMul(t, vals[:n*K], vals[n*K:], n, M, K, 0, M) })
	})
}

func FuzzScoresSIMD(f *testing.F) {
	fuzzSeeds(f, []byte{3, 40, 8, 0}, []byte{1, 16, 5, 3}, []byte{17, 70, 7, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 4 {
			return
		}
		rows, T, K, pad := 1+int(data[0])%20, 1+int(data[1]), 1+int(data[2])%20, int(data[3])%3
		ldq, ldk, ldo := K+pad, K+2*pad, T+pad
		q := fuzzFloats(data[4:], (rows-1)*ldq+K)
		k := fuzzFloats(data[min(len(data), 8):], (T-1)*ldk+K)
		eachWidth(func() {
			out := make([]float32, rows*ldo)
			scoresSIMD(out, ldo, q, ldq, k, ldk, rows, K, T)
			for i := range rows {
				for j := range T {
					want := DotRef(q[i*ldq:i*ldq+K], k[j*ldk:j*ldk+K])
					if !sameBits(out[i*ldo+j], want) {
						t.Fatalf("avx512=%v K=%d: score[%d][%d] = %#08x, DotRef %#08x", useAVX512, K, i, j,
							math.Float32bits(out[i*ldo+j]), math.Float32bits(want))
					}
				}
			}
		})
	})
}

func FuzzExpfSIMD(f *testing.F) {
	fuzzSeeds(f, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		x := fuzzFloats(data, len(data)/4)
		eachWidth(func() {
			got := make([]float32, len(x))
			expfSIMD(got, x)
			for i, v := range x {
				if want := Expf(v); !sameBits(got[i], want) {
					t.Fatal(fmtExpf(useAVX512, v, want, got[i]))
				}
			}
		})
	})
}

func FuzzSoftmaxSIMD(f *testing.F) {
	fuzzSeeds(f, []byte{0, 1, 0, 0, 0}, []byte{90, 0, 0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 5 {
			return
		}
		n := int(data[0])
		div := math.Float32frombits(binary.LittleEndian.Uint32(data[1:]))
		x := fuzzFloats(data[5:], n)
		want := append([]float32(nil), x...)
		for i := range want {
			want[i] = want[i] / div
		}
		softmaxRow(want, false)
		eachWidth(func() {
			got := append([]float32(nil), x...)
			softmaxSIMD(got, div)
			for i := range got {
				if !sameValue(got[i], want[i]) {
					t.Fatalf("avx512=%v n=%d div=%v: x[%d] = %#08x, reference %#08x", useAVX512, n, div, i,
						math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
		})
	})
}

func FuzzSiLUMulSIMD(f *testing.F) {
	fuzzSeeds(f, []byte{20})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 1 {
			return
		}
		n := int(data[0])
		v := fuzzFloats(data[1:], 2*n+1)
		a, c := v[:n], v[n+1:]
		eachWidth(func() {
			got := make([]float32, n)
			siluMulSIMD(got, a, c)
			for i := range got {
				if want := siluMul(a[i], c[i]); !sameValue(got[i], want) {
					t.Fatalf("avx512=%v: silu_mul(%v, %v) = %#08x, SIMD %#08x", useAVX512, a[i], c[i],
						math.Float32bits(want), math.Float32bits(got[i]))
				}
			}
		})
	})
}

func FuzzAttendSIMD(f *testing.F) {
	fuzzSeeds(f, []byte{8, 40, 1}, []byte{3, 5, 2}, []byte{48, 70, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 3 {
			return
		}
		hs, n, heads := 1+int(data[0])%64, int(data[1]), 1+int(data[2])%3
		off := (heads - 1) * hs
		v := fuzzFloats(data[3:], (n+1)*heads*hs+n)
		vt := &Tensor{rows: n + 1, cols: heads * hs, f: v[:(n+1)*heads*hs]}
		a := v[(n+1)*heads*hs:]
		want := make([]float32, hs)
		attendValues(want, a, vt, off, make([]float32, Lanes*hs))
		eachWidth(func() {
			got := make([]float32, hs)
			attendSIMD(got, a, vt, off, make([]float32, attendAccLen(hs)))
			for i := range got {
				if !sameBits(got[i], want[i]) {
					t.Fatalf("avx512=%v hs=%d n=%d: out[%d] = %#08x, reference %#08x", useAVX512, hs, n, i,
						math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
		})
	})
}

func FuzzQuantizeActsSIMD(f *testing.F) {
	fuzzSeeds(f, []byte{40}, []byte{3})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 1 {
			return
		}
		K := 1 + int(data[0])
		x := fuzzFloats(data[1:], K)
		nb := (K + kernels.Q8BlockSize - 1) / kernels.Q8BlockSize
		wq, gq := make([]int8, nb*kernels.Q8BlockSize), make([]int8, nb*kernels.Q8BlockSize)
		wd, gd := make([]float32, nb), make([]float32, nb)
		quantizeActs(x, wq, wd)
		eachWidth(func() {
			quantizeActsSIMD(x, gq, gd)
			for i := range wq {
				if wq[i] != gq[i] {
					t.Fatalf("K=%d: q[%d] = %d, reference %d", K, i, gq[i], wq[i])
				}
			}
			for i := range wd {
				if !sameValue(wd[i], gd[i]) {
					t.Fatalf("K=%d: d[%d] = %v, reference %v", K, i, gd[i], wd[i])
				}
			}
		})
	})
}

// Weights, activations and scales from raw bytes: any int8 (−128 too),
// any binary16 and binary32 scale.
func FuzzMatMulQ8Batch(f *testing.F) {
	f.Add([]byte{8, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x80, 0x7f, 0x3c, 0x00})
	f.Add([]byte{20, 5, 33, 0xff, 0x7c, 0x01, 0x80, 0x00, 0x3f})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if !haveQ8Batch || len(data) < 4 {
			return
		}
		n, M, nb := q8BatchMin+int(data[0])%30, 2+int(data[1])%9, 1+int(data[2])%40
		body := data[3:]
		byteAt := func(i int) byte { return body[i%len(body)] }
		w := make([]byte, M*nb*kernels.Q8BlockBytes)
		for i := range w {
			w[i] = byteAt(i)
		}
		xq := make([]int8, n*nb*kernels.Q8BlockSize)
		for i := range xq {
			xq[i] = int8(byteAt(7*i + 3))
		}
		xd := fuzzFloats(body[min(len(body), 1):], n*nb)
		groups := (n + 15) / 16
		xT := make([]uint32, groups*nb*128)
		dxT := make([]float32, groups*nb*16)
		xsT := make([]int32, groups*nb*16)
		for r := range n {
			transposeQ8(xT, dxT, xsT, xq[r*nb*kernels.Q8BlockSize:], xd[r*nb:], r/16, r%16, nb)
		}
		be, _ := New(Options{Threads: 2})
		defer be.Close()
		wt := &Tensor{dt: kernels.Q8_0, rows: M, cols: nb * kernels.Q8BlockSize, b: w}
		o := &Tensor{dt: kernels.F32, rows: n, cols: M, f: make([]float32, n*M)}
		be.matmulQ8T(o, wt, xT, dxT, xsT, n, M, nb)
		rb := nb * kernels.Q8BlockBytes
		for r := range n {
			for m := range M {
				want := dotQ8Generic(w[m*rb:(m+1)*rb], xq[r*nb*kernels.Q8BlockSize:], xd[r*nb:(r+1)*nb])
				if got := o.f[r*M+m]; !sameBits(got, want) {
					t.Fatalf("n=%d M=%d nb=%d: out[%d][%d] = %#08x, dotQ8Generic %#08x", n, M, nb, r, m,
						math.Float32bits(got), math.Float32bits(want))
				}
			}
		}
	})
}

func FuzzGreedySIMD(f *testing.F) {
	fuzzSeeds(f, []byte{30})
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSIMD(t)
		if len(data) < 1 {
			return
		}
		x := fuzzFloats(data[1:], 1+int(data[0]))
		want := SampleRow(x, kernels.SampleParams{})
		eachWidth(func() {
			if got := greedySIMD(x); got != want {
				t.Fatalf("avx512=%v: greedySIMD = %d, SampleRow %d (%v)", useAVX512, got, want, x)
			}
		})
	})
}
