//go:build amd64 && !purego

package cpu

// ForceAVX2 makes the SIMD path use its AVX2 kernels even where AVX-512 is
// available, so that the conformance suite covers both; the result
// restores the previous choice.
func ForceAVX2() (restore func(), ok bool) {
	if !haveAVX512 {
		return func() {}, false
	}
	v := useAVX512
	useAVX512 = false
	return func() { useAVX512 = v }, true
}
