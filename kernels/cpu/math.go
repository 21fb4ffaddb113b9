package cpu

import "math"

// The project's own transcendentals. Consensus paths never call the
// platform's exp or log: these are built from +, −, ×, ÷ and bit operations
// only, each rounded explicitly (a Go conversion like float32(a*b) forbids
// the compiler from fusing a multiply and an add), so every machine and every
// backend computes the same bits. CUDA ports them line for line.

// Expf is e^x in binary32 (Cephes expf, within about 1 ulp).
func Expf(x float32) float32 {
	const (
		maxLog = 88.72283905206835
		minLog = -103.97207708
		log2e  = 1.44269504088896341
		c1     = 0.693359375
		c2     = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > maxLog:
		return float32(math.Inf(1))
	case x < minLog:
		return 0
	}
	// n = round(x·log2 e); r = x − n·ln 2 in two parts (n·c1 is exact).
	n := float32(math.Floor(float64(float32(float32(x*log2e) + 0.5))))
	r := float32(x - float32(n*c1))
	r = float32(r - float32(n*c2))
	p := float32(1.9875691500e-4)
	p = float32(float32(p*r) + 1.3981999507e-3)
	p = float32(float32(p*r) + 8.3334519073e-3)
	p = float32(float32(p*r) + 4.1665795894e-2)
	p = float32(float32(p*r) + 1.6666665459e-1)
	p = float32(float32(p*r) + 5.0000001201e-1)
	z := float32(r * r)
	y := float32(float32(float32(p*z)+r) + 1)
	// y·2^n: exact in binary64, then one rounding to binary32 (also for
	// subnormal results).
	return float32(float64(y) * math.Ldexp(1, int(n)))
}

// Logf is the natural logarithm in binary32 (Cephes logf, within about 1 ulp).
func Logf(x float32) float32 {
	const sqrtHalf = 0.707106781186547524
	switch {
	case x != x || x > math.MaxFloat32:
		return x
	case x < 0:
		return float32(math.NaN())
	case x == 0:
		return float32(math.Inf(-1))
	}
	m, e := frexpf(x)
	var f float32
	if m < sqrtHalf {
		e--
		f = float32(float32(m+m) - 1)
	} else {
		f = float32(m - 1)
	}
	z := float32(f * f)
	y := float32(7.0376836292e-2)
	y = float32(float32(y*f) - 1.1514610310e-1)
	y = float32(float32(y*f) + 1.1676998740e-1)
	y = float32(float32(y*f) - 1.2420140846e-1)
	y = float32(float32(y*f) + 1.4249322787e-1)
	y = float32(float32(y*f) - 1.6668057665e-1)
	y = float32(float32(y*f) + 2.0000714765e-1)
	y = float32(float32(y*f) - 2.4999993993e-1)
	y = float32(float32(y*f) + 3.3333331174e-1)
	y = float32(float32(y*f) * z)
	fe := float32(e)
	y = float32(y + float32(-2.12194440e-4*fe))
	y = float32(y + float32(-0.5*z))
	r := float32(f + y)
	return float32(r + float32(0.693359375*fe))
}

// frexpf splits finite positive x into m·2^e with m in [0.5, 1).
func frexpf(x float32) (float32, int) {
	b := math.Float32bits(x)
	e := int(b>>23) & 0xff
	if e == 0 { // subnormal: scale into the normal range first
		x *= 1 << 23
		b = math.Float32bits(x)
		e = int(b>>23)&0xff - 23
	}
	m := math.Float32frombits(b&^(0xff<<23) | 126<<23)
	return m, e - 126
}

// Exp is e^x in binary64 (the FreeBSD/Go algorithm, written without fusion).
func Exp(x float64) float64 {
	const (
		ln2Hi     = 6.93147180369123816490e-01
		ln2Lo     = 1.90821492927058770002e-10
		log2e     = 1.44269504088896338700e+00
		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28)
	)
	switch {
	case x != x || x > math.MaxFloat64:
		return x
	case x < -math.MaxFloat64:
		return 0
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	var k int
	if x < 0 {
		k = int(float64(log2e*x) - 0.5)
	} else {
		k = int(float64(log2e*x) + 0.5)
	}
	hi := x - float64(float64(k)*ln2Hi)
	lo := float64(float64(k) * ln2Lo)
	const (
		p1 = 1.66666666666666657415e-01
		p2 = -2.77777777770155933842e-03
		p3 = 6.61375632143793436117e-05
		p4 = -1.65339022054652515390e-06
		p5 = 4.13813679705723846039e-08
	)
	r := hi - lo
	t := float64(r * r)
	q := float64(float64(t*p5) + p4)
	q = float64(float64(t*q) + p3)
	q = float64(float64(t*q) + p2)
	q = float64(float64(t*q) + p1)
	c := r - float64(t*q)
	y := 1 - ((lo - float64(float64(r*c)/(2-c))) - hi)
	return math.Ldexp(y, k)
}

// Log is the natural logarithm in binary64 (the FreeBSD/Go algorithm).
func Log(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		l1    = 6.666666666666735130e-01
		l2    = 3.999999999940941908e-01
		l3    = 2.857142874366239149e-01
		l4    = 2.222219843214978396e-01
		l5    = 1.818357216161805012e-01
		l6    = 1.531383769920937332e-01
		l7    = 1.479819860511658591e-01
	)
	switch {
	case x != x || x > math.MaxFloat64:
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s4 * l7)
	t1 = float64(s4 * float64(l5+t1))
	t1 = float64(s4 * float64(l3+t1))
	t1 = float64(s2 * float64(l1+t1))
	t2 := float64(s4 * l6)
	t2 = float64(s4 * float64(l4+t2))
	t2 = float64(s4 * float64(l2+t2))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	inner := float64(s*float64(hfsq+r)) + float64(k*ln2Lo)
	return float64(k*ln2Hi) - ((hfsq - inner) - f)
}

var sinCoef = [...]float64{
	1.58962301576546568060e-10,
	-2.50507477628578072866e-8,
	2.75573136213857245213e-6,
	-1.98412698295895385996e-4,
	8.33333333332211858878e-3,
	-1.66666666666666307295e-1,
}

var cosCoef = [...]float64{
	-1.13585365213876817300e-11,
	2.08757008419747316778e-9,
	-2.75573141792967388112e-7,
	2.48015872888517045348e-5,
	-1.38888888888730564116e-3,
	4.16666666666665929218e-2,
}

// SinCos returns sin x and cos x in binary64 (Cephes, as in Go's math
// package, with Cody–Waite reduction by π/4). Accurate for |x| < 2^29, which
// covers every rotary position; larger arguments stay deterministic but lose
// accuracy.
func SinCos(x float64) (sin, cos float64) {
	const (
		pi4A = 7.85398125648498535156e-1
		pi4B = 3.77489470793079817668e-8
		pi4C = 2.69515142907905952645e-15
	)
	if x != x || math.IsInf(x, 0) {
		return math.NaN(), math.NaN()
	}
	if x == 0 {
		return x, 1
	}
	sinSign, cosSign := false, false
	if x < 0 {
		x = -x
		sinSign = true
	}
	j := uint64(float64(x * (4 / math.Pi)))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	z := ((x - float64(y*pi4A)) - float64(y*pi4B)) - float64(y*pi4C)
	if j > 3 {
		j -= 4
		sinSign, cosSign = !sinSign, !cosSign
	}
	if j > 1 {
		cosSign = !cosSign
	}
	zz := float64(z * z)
	cp := polyEval(&cosCoef, zz)
	c := float64(1.0-float64(0.5*zz)) + float64(float64(zz*zz)*cp)
	sp := polyEval(&sinCoef, zz)
	s := z + float64(float64(z*zz)*sp)
	if j == 1 || j == 2 {
		sin, cos = c, s
	} else {
		sin, cos = s, c
	}
	if sinSign {
		sin = -sin
	}
	if cosSign {
		cos = -cos
	}
	return sin, cos
}

// polyEval is Horner's rule, c[0] the highest power, without fusion.
func polyEval(c *[6]float64, x float64) float64 {
	p := c[0]
	for _, k := range c[1:] {
		p = float64(p*x) + k
	}
	return p
}
