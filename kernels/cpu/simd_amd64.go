//go:build amd64 && !purego

package cpu

const (
	haveSIMD = false // assembly lands next
	simdName = "none"
)

func dotSIMD(a, b []float32) float32                      { return DotRef(a, b) }
func dotQ8SIMD(w []byte, xq []int8, xd []float32) float32 { return dotQ8Generic(w, xq, xd) }
