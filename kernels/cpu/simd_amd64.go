//go:build amd64 && !purego

package cpu

//go:generate go run asm_gen.go

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
func matmulF32AVX512(x, w, out *float32, n, k, ldx, ldw, ldo, groups int)

//go:noescape
func matmulF32AVX2(x, w, out *float32, n, k, ldx, ldw, ldo, groups int)

// haveAVX512 selects the AVX-512 kernels (F for ZMM, VL for the EVEX
// 128-bit stores); x/sys/cpu also checks that the OS saves ZMM state.
var haveAVX512 = haveSIMD && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// useAVX512 is haveAVX512 unless a test forces the AVX2 kernels.
var useAVX512 = haveAVX512

// matmulGroup is the number of weight rows the batched kernel takes at a
// time; MatMul gives each thread a multiple of it.
func matmulGroup() int {
	switch {
	case useAVX512:
		return 4
	case haveSIMD:
		return 3
	}
	return 1
}

// matmulSIMD sets out[r][m] = dotSIMD(x[r], w[m]) for m in [lo, hi).
func matmulSIMD(out, x, w []float32, n, M, K, lo, hi int) {
	matmulStrided(out, M, x, K, w, K, n, K, lo, hi)
}

// matmulStrided sets out[r·ldo+m] = dotSIMD(x[r·ldx:][:K], w[m·ldw:][:K])
// for r < n and m in [lo, hi). The batched kernel takes whole groups of
// weight rows, each against all n rows of x while the group stays in L1;
// leftover rows use dotSIMD.
func matmulStrided(out []float32, ldo int, x []float32, ldx int, w []float32, ldw int, n, K, lo, hi int) {
	if n > 0 && K > 0 && haveSIMD {
		g := matmulGroup()
		if groups := (hi - lo) / g; groups > 0 {
			end := lo + groups*g
			_, _, _ = x[(n-1)*ldx+K-1], w[(end-1)*ldw+K-1], out[(n-1)*ldo+end-1]
			kern := matmulF32AVX2
			if useAVX512 {
				kern = matmulF32AVX512
			}
			kern(&x[0], &w[lo*ldw], &out[lo], n, K, ldx, ldw, ldo, groups)
			lo = end
		}
	}
	for m := lo; m < hi; m++ {
		for r := 0; r < n; r++ {
			out[r*ldo+m] = dotSIMD(x[r*ldx:r*ldx+K], w[m*ldw:m*ldw+K])
		}
	}
}

//go:noescape
func scores8AVX512(q *float32, ldq int, k *float32, ldk int, out *float32, ldo, rows, blocks, kn int)

// scoresSIMD sets out[r·ldo+t] = dotSIMD(q[r·ldq:][:K], k[t·ldk:][:K]) for
// r < rows, t < T: attention's dots of q rows with k rows.
func scoresSIMD(out []float32, ldo int, q []float32, ldq int, k []float32, ldk int, rows, K, T int) {
	if !useAVX512 || K > 8 || rows <= 0 || K <= 0 || T <= 0 {
		matmulStrided(out, ldo, q, ldq, k, ldk, rows, K, 0, T)
		return
	}
	_ = q[(rows-1)*ldq+K-1]
	_ = k[(T-1)*ldk+K-1]
	_ = out[(rows-1)*ldo+T-1]
	full := T / 16
	if full > 0 {
		scores8AVX512(&q[0], ldq, &k[0], ldk, &out[0], ldo, rows, full, K)
	}
	if T%16 == 0 {
		return
	}
	// The last keys, padded with zero keys to a block of 16.
	var keys [16 * 8]float32
	var res [16 * 16]float32
	t0 := full * 16
	for t := t0; t < T; t++ {
		copy(keys[(t-t0)*8:], k[t*ldk:t*ldk+K])
	}
	for r0 := 0; r0 < rows; r0 += 16 {
		nr := min(16, rows-r0)
		scores8AVX512(&q[r0*ldq], ldq, &keys[0], 8, &res[0], 16, nr, 1, K)
		for r := range nr {
			copy(out[(r0+r)*ldo+t0:(r0+r)*ldo+T], res[r*16:r*16+T-t0])
		}
	}
}

//go:noescape
func matmulQ8AVX512(w *byte, ldw int, xT *int8, dxT *float32, xsT *int32, out *float32, ldo, nrows, nb, pairs int, scratch *byte)

// haveQ8Batch selects matmulQ8AVX512 (VPDPBUSD needs AVX512_VNNI).
var haveQ8Batch = haveAVX512 && cpu.X86.HasAVX512VNNI

// q8BatchMin is the fewest rows of x for which the batched Q8 kernel,
// which works on groups of 16 rows, beats one dotQ8SIMD per element.
const q8BatchMin = 8

// matmulQ8Batch sets o[r][m] = dotQ8Generic(w row m, quantizeActs(x row r))
// for all r, m with matmulQ8AVX512; it reports false where the kernel
// cannot run.
func (b *Backend) matmulQ8Batch(o, xt, wt *Tensor, n, M, nb int) bool {
	if !haveQ8Batch || !useAVX512 || n < q8BatchMin || M < 2 {
		return false
	}
	groups := (n + 15) / 16
	ts := getScratch(groups * nb * (128 + 16 + 16))
	defer putScratch(ts)
	xTf := (*ts)[:groups*nb*128]
	dxT := (*ts)[groups*nb*128 : groups*nb*144]
	xsTf := (*ts)[groups*nb*144:]
	xT := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(xTf))), len(xTf))
	xsT := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(xsTf))), len(xsTf))
	// Quantize each group of 16 rows and transpose it (see matmulQ8AVX512).
	b.pool.run(groups, grainFor(16*nb*kernels.Q8BlockSize*8), func(lo, hi int) {
		qs := getScratch(nb*kernels.Q8BlockSize/4 + nb)
		defer putScratch(qs)
		xd := (*qs)[:nb]
		xq := unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData((*qs)[nb:]))), nb*kernels.Q8BlockSize)
		for g := lo; g < hi; g++ {
			for i := 0; i < 16; i++ {
				r := 16*g + i
				if r < n {
					quantizeActsSIMD(xt.row(r), xq, xd)
				} else { // padding rows: x = 0, scale 0
					clear(xq)
					clear(xd)
				}
				transposeQ8(xT, dxT, xsT, xq, xd, g, i, nb)
			}
		}
	})
	b.matmulQ8T(o, wt, xT, dxT, xsT, n, M, nb)
	return true
}

// matmulQ8T is the second half of matmulQ8Batch: the products with x
// already in matmulQ8AVX512's layout (n rows, padded to groups of 16).
func (b *Backend) matmulQ8T(o, wt *Tensor, xT []uint32, dxT []float32, xsT []int32, n, M, nb int) {
	rb := nb * kernels.Q8BlockBytes
	pairs := M / 2
	_, _, _ = xT[(n+15)/16*nb*128-1], dxT[(n+15)/16*nb*16-1], xsT[(n+15)/16*nb*16-1]
	b.pool.run(pairs, grainFor(2*n*nb*kernels.Q8BlockSize), func(lo, hi int) {
		sc := getScratch((4096 + 72*nb + 64) / 4)
		defer putScratch(sc)
		s := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(*sc))), 4*len(*sc))
		s = s[(64-uintptr(unsafe.Pointer(&s[0]))%64)%64:]
		_ = wt.b[2*hi*rb-1]
		_ = o.f[(n-1)*M+2*hi-1]
		matmulQ8AVX512(&wt.b[2*lo*rb], rb, (*int8)(unsafe.Pointer(&xT[0])), &dxT[0], &xsT[0],
			&o.f[2*lo], M, n, nb, hi-lo, &s[0])
	})
	if M%2 == 1 { // the last row of w, from the transposed copy of x
		m := M - 1
		xq := make([]int8, nb*kernels.Q8BlockSize)
		xd := make([]float32, nb)
		for r := 0; r < n; r++ {
			untransposeQ8(xq, xd, xT, dxT, r/16, r%16, nb)
			o.f[r*M+m] = dotQ8SIMD(wt.b[m*rb:(m+1)*rb], xq, xd)
		}
	}
}

// transposeQ8 stores row i of group g (nb blocks xq, scales xd) in the
// layout of matmulQ8AVX512.
func transposeQ8(xT []uint32, dxT []float32, xsT []int32, xq []int8, xd []float32, g, i, nb int) {
	for bl := 0; bl < nb; bl++ {
		at := (g*nb + bl) * 16
		q := xq[bl*kernels.Q8BlockSize : (bl+1)*kernels.Q8BlockSize]
		var sum int32
		for j := 0; j < 8; j++ {
			xT[(at+j*2)*8+i] = uint32(uint8(q[4*j])) | uint32(uint8(q[4*j+1]))<<8 |
				uint32(uint8(q[4*j+2]))<<16 | uint32(uint8(q[4*j+3]))<<24
			sum += int32(q[4*j]) + int32(q[4*j+1]) + int32(q[4*j+2]) + int32(q[4*j+3])
		}
		dxT[at+i], xsT[at+i] = xd[bl], 128*sum
	}
}

// untransposeQ8 is the inverse of transposeQ8 (but for the sums).
func untransposeQ8(xq []int8, xd []float32, xT []uint32, dxT []float32, g, i, nb int) {
	for bl := 0; bl < nb; bl++ {
		at := (g*nb + bl) * 16
		for j := 0; j < 8; j++ {
			v := xT[(at+j*2)*8+i]
			for k := 0; k < 4; k++ {
				xq[bl*kernels.Q8BlockSize+4*j+k] = int8(v >> (8 * k))
			}
		}
		xd[bl] = dxT[at+i]
	}
}
