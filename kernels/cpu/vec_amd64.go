//go:build amd64 && !purego

package cpu

import (
	"math"
	"unsafe"

	"github.com/dnahost/dnahost/kernels"
)

//go:noescape
func expfAVX2(dst, src *float32, n int)

//go:noescape
func softmaxAVX2(x *float32, n int, div float32)

//go:noescape
func siluMulAVX2(out, a, b *float32, n int)

//go:noescape
func attendAVX2(dst, a *float32, n int, v *float32, ldv, hs int, acc *float32)

//go:noescape
func expfAVX512(dst, src *float32, n int)

//go:noescape
func softmaxAVX512(x *float32, n int, div float32)

//go:noescape
func siluMulAVX512(out, a, b *float32, n int)

//go:noescape
func attend8AVX512(dst, a *float32, n int, v *float32, ldv int, acc *float32)

//go:noescape
func quantizeQ8AVX512(x *float32, k int, q *int8, d *float32)

//go:noescape
func argmaxAVX512(x *float32, n int) int

func splat(v float32) [8]float32 { return [8]float32{v, v, v, v, v, v, v, v} }

// expfTab holds Expf's constants over 8 lanes, in the order of the E_
// offsets of vec_amd64.s. Each is converted to float32 exactly as Expf's
// arithmetic converts it.
var expfTab = [...][8]float32{
	splat(1.44269504088896341),
	splat(0.5),
	splat(0.693359375),
	splat(-2.12194440e-4),
	splat(1.9875691500e-4),
	splat(1.3981999507e-3),
	splat(8.3334519073e-3),
	splat(4.1665795894e-2),
	splat(1.6666665459e-1),
	splat(5.0000001201e-1),
	splat(1),
	splat(88.72283905206835),
	splat(-103.97207708),
	splat(float32(math.Inf(1))),
	splat(float32(math.Inf(-1))),
	splat(float32(math.Copysign(0, -1))),
}

// expfBias is the binary64 exponent bias, per 64-bit lane.
var expfBias = [4]int64{1023, 1023, 1023, 1023}

// expfSIMD sets dst[i] = Expf(src[i]).
func expfSIMD(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	if useAVX512 {
		expfAVX512(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
		return
	}
	expfAVX2(unsafe.SliceData(dst), unsafe.SliceData(src), len(src))
}

// softmaxSIMD is softmaxRow of x/div (div = 1 leaves x unchanged).
func softmaxSIMD(x []float32, div float32) {
	if len(x) == 0 {
		return
	}
	if useAVX512 {
		softmaxAVX512(unsafe.SliceData(x), len(x), div)
		return
	}
	softmaxAVX2(unsafe.SliceData(x), len(x), div)
}

// siluMulSIMD sets out[i] to SiLUMul's value for a[i], b[i].
func siluMulSIMD(out, a, b []float32) {
	if len(a) == 0 {
		return
	}
	out, b = out[:len(a)], b[:len(a)]
	if useAVX512 {
		siluMulAVX512(unsafe.SliceData(out), unsafe.SliceData(a), unsafe.SliceData(b), len(a))
		return
	}
	siluMulAVX2(unsafe.SliceData(out), unsafe.SliceData(a), unsafe.SliceData(b), len(a))
}

// attendSIMD is attendValues with acc of at least attendAccLen(len(dst)).
func attendSIMD(dst, a []float32, vt *Tensor, off int, acc []float32) {
	hs := len(dst)
	if hs == 0 {
		return
	}
	acc = acc[:attendAccLen(hs)]
	if n := len(a); n > 0 {
		_ = vt.f[(n-1)*vt.cols+off+hs-1]
	}
	if useAVX512 && hs%8 == 0 {
		// Eight outputs at a time: each output's sums are its own.
		for c := 0; c < hs; c += 8 {
			attend8AVX512(&dst[c], unsafe.SliceData(a), len(a), &vt.f[off+c], vt.cols, unsafe.SliceData(acc))
		}
		return
	}
	attendAVX2(unsafe.SliceData(dst), unsafe.SliceData(a), len(a), unsafe.SliceData(vt.f[off:]), vt.cols, hs, unsafe.SliceData(acc))
}

// attendAccLen is the scratch attendSIMD needs: 32 rows of hs rounded up
// to 8.
func attendAccLen(hs int) int { return Lanes * ((hs + 7) &^ 7) }

// quantizeActsSIMD is quantizeActs (q and d of len(d) blocks), except
// that a NaN scale may have another payload.
func quantizeActsSIMD(x []float32, q []int8, d []float32) {
	nb := len(d)
	if !useAVX512 || len(x) == 0 || len(x) > nb*kernels.Q8BlockSize || (len(x)+kernels.Q8BlockSize-1)/kernels.Q8BlockSize != nb {
		quantizeActs(x, q, d)
		return
	}
	q = q[:nb*kernels.Q8BlockSize]
	quantizeQ8AVX512(unsafe.SliceData(x), len(x), unsafe.SliceData(q), unsafe.SliceData(d))
}

// greedySIMD is SampleRow's choice for a temperature ≤ 0 (whatever the
// top-k: the top candidates include the first largest logit).
func greedySIMD(logits []float32) int32 {
	if !useAVX512 || len(logits) == 0 {
		return greedy(logits)
	}
	return int32(argmaxAVX512(unsafe.SliceData(logits), len(logits)))
}
