//go:build !amd64 || purego

package cpu

const (
	haveSIMD = false
	simdName = "none"
)

func dotSIMD(a, b []float32) float32                      { return DotRef(a, b) }
func dotQ8SIMD(w []byte, xq []int8, xd []float32) float32 { return dotQ8Generic(w, xq, xd) }

func matmulGroup() int { return 1 }

// The SIMD kernels are never reached here (haveSIMD is false); these keep
// the package portable.

func matmulSIMD(out, x, w []float32, n, M, K, lo, hi int) {
	matmulStrided(out, M, x, K, w, K, n, K, lo, hi)
}

func matmulStrided(out []float32, ldo int, x []float32, ldx int, w []float32, ldw int, n, K, lo, hi int) {
	for r := 0; r < n; r++ {
		for m := lo; m < hi; m++ {
			out[r*ldo+m] = dotSIMD(x[r*ldx:r*ldx+K], w[m*ldw:m*ldw+K])
		}
	}
}

func softmaxSIMD(x []float32, div float32) {
	for i := range x {
		x[i] = x[i] / div
	}
	softmaxRow(x, false)
}

func siluMulSIMD(out, a, b []float32) {
	for i := range a {
		out[i] = siluMul(a[i], b[i])
	}
}

func attendSIMD(dst, a []float32, vt *Tensor, off int, acc []float32) {
	attendValues(dst, a, vt, off, acc[:Lanes*len(dst)])
}

func attendAccLen(hs int) int { return Lanes * hs }

func scoresSIMD(out []float32, ldo int, q []float32, ldq int, k []float32, ldk int, rows, K, T int) {
	matmulStrided(out, ldo, q, ldq, k, ldk, rows, K, 0, T)
}

func (b *Backend) matmulQ8Batch(o, xt, wt *Tensor, n, M, nb int) bool {
	return false
}

func quantizeActsSIMD(x []float32, q []int8, d []float32) { quantizeActs(x, q, d) }

func greedySIMD(logits []float32) int32 { return greedy(logits) }
