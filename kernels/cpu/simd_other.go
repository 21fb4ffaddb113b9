//go:build !amd64 || purego

package cpu

const (
	haveSIMD = false
	simdName = "none"
)

func dotSIMD(a, b []float32) float32                      { return DotRef(a, b) }
func dotQ8SIMD(w []byte, xq []int8, xd []float32) float32 { return dotQ8Generic(w, xq, xd) }

// matmulSIMD is never reached here (haveSIMD is false); it keeps MatMul
// portable.
func matmulSIMD(out, x, w []float32, n, M, K, lo, hi int) {
	for r := 0; r < n; r++ {
		for m := lo; m < hi; m++ {
			out[r*M+m] = dotSIMD(x[r*K:(r+1)*K], w[m*K:(m+1)*K])
		}
	}
}
