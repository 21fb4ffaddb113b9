//go:build amd64 && !purego

package cpu

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/dnahost/dnahost/kernels"
)

// haveSIMD reports whether the AVX2 kernels of dot_amd64.s can run. They
// also use VCVTPH2PS (F16C); x/sys/cpu has no flag for it, so CPUID leaf 1
// is read directly (HasAVX2 already covers the OS saving YMM registers).
var haveSIMD = cpu.X86.HasAVX2 && cpuid1ECX()&(1<<29) != 0

const simdName = "avx2"

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func dotQ8AVX2(w *byte, xq *int8, xd *float32, nb int) float32

func cpuid1ECX() uint32

// dotSIMD is DotRef, bit for bit.
func dotSIMD(a, b []float32) float32 {
	if !haveSIMD {
		return DotRef(a, b)
	}
	b = b[:len(a)] // DotRef panics on a short b too
	return dotAVX2(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
}

// dotQ8SIMD is dotQ8Generic, bit for bit.
func dotQ8SIMD(w []byte, xq []int8, xd []float32) float32 {
	if !haveSIMD {
		return dotQ8Generic(w, xq, xd)
	}
	nb := len(xd)
	w, xq = w[:nb*kernels.Q8BlockBytes], xq[:nb*kernels.Q8BlockSize]
	return dotQ8AVX2(unsafe.SliceData(w), unsafe.SliceData(xq), unsafe.SliceData(xd), nb)
}

//go:noescape
func dot3AVX2(x, w *float32, ldw, n int, out *[3]float32)

// matmulSIMD sets out[r][m] = dotSIMD(x[r], w[m]) for m in [lo, hi), three
// weight rows per call so that each load of x serves three dots (and the
// three rows stay in L1 across the rows of x).
func matmulSIMD(out, x, w []float32, n, M, K, lo, hi int) {
	m := lo
	for ; haveSIMD && m+3 <= hi; m += 3 {
		wr := w[m*K : (m+3)*K]
		for r := 0; r < n; r++ {
			dot3AVX2(unsafe.SliceData(x[r*K:(r+1)*K]), unsafe.SliceData(wr), K, K, (*[3]float32)(out[r*M+m:]))
		}
	}
	for ; m < hi; m++ {
		for r := 0; r < n; r++ {
			out[r*M+m] = dotSIMD(x[r*K:(r+1)*K], w[m*K:(m+1)*K])
		}
	}
}
