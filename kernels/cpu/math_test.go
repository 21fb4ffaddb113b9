package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

func ulpDiff32(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0x80000000 != (ib < 0x80000000) {
		return 1 << 40
	}
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}

func TestExpfAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := int64(0)
	for i := 0; i < 2_000_000; i++ {
		x := float32(r.Float64()*190 - 102)
		want := float32(math.Exp(float64(x)))
		if want < math.SmallestNonzeroFloat32*(1<<24) {
			continue // subnormal results: absolute error is what matters there
		}
		worst = max(worst, ulpDiff32(Expf(x), want))
	}
	if worst > 2 {
		t.Fatalf("Expf worst error %d ulp", worst)
	}
	for _, c := range []struct{ x, want float32 }{{0, 1}, {float32(math.Inf(-1)), 0}, {100, float32(math.Inf(1))}, {-200, 0}} {
		if got := Expf(c.x); got != c.want {
			t.Errorf("Expf(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if v := Expf(float32(math.NaN())); v == v {
		t.Error("Expf(NaN) is not NaN")
	}
}

func TestLogfAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worst := int64(0)
	for i := 0; i < 2_000_000; i++ {
		x := math.Float32frombits(uint32(r.Uint64N(0x7f800000-1)) + 1) // every positive finite float
		want := float32(math.Log(float64(x)))
		worst = max(worst, ulpDiff32(Logf(x), want))
	}
	if worst > 2 {
		t.Fatalf("Logf worst error %d ulp", worst)
	}
	if Logf(1) != 0 || !math.IsInf(float64(Logf(0)), -1) || Logf(-1) == Logf(-1) {
		t.Fatal("Logf special cases")
	}
}

func TestExpLogSinCos64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 500_000; i++ {
		x := r.Float64()*1400 - 700
		if d := math.Abs(Exp(x)-math.Exp(x)) / math.Exp(x); d > 4e-16 {
			t.Fatalf("Exp(%v) rel err %g", x, d)
		}
		y := math.Exp(r.Float64()*1400 - 700)
		if d := math.Abs(Log(y) - math.Log(y)); d > 4e-16*math.Max(1, math.Abs(math.Log(y))) {
			t.Fatalf("Log(%v) err %g", y, d)
		}
		a := r.Float64() * 1e6
		s, c := SinCos(a)
		if math.Abs(s-math.Sin(a)) > 1e-15*math.Max(1, a/1e3) || math.Abs(c-math.Cos(a)) > 1e-15*math.Max(1, a/1e3) {
			t.Fatalf("SinCos(%v) = %v %v, want %v %v", a, s, c, math.Sin(a), math.Cos(a))
		}
	}
}
