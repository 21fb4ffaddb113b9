package kernels

import (
	"math"
	"testing"
)

// Every binary16 value must survive the round trip f16 → f32 → f16.
func TestF16RoundTripAll(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		back := F32ToF16(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("%#04x: NaN came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("%#04x → %v → %#04x", h, f, back)
		}
	}
}

// F32ToF16 must round to nearest, ties to even: check against a float64 oracle.
func TestF32ToF16Rounding(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0}, {5.960464477539063e-08, 1},
		{1.0009765625, 0x3c01}, {1.00048828125, 0x3c00}, {1.00146484375, 0x3c02}, // ties to even
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := F32ToF16(c.f); got != c.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestQuantizeQ8_0(t *testing.T) {
	src := make([]float32, 40) // one full block and a padded one
	for i := range src {
		src[i] = float32(i-20) / 8
	}
	dst := make([]byte, Q8_0.RowBytes(len(src)))
	if len(dst) != 2*Q8BlockBytes {
		t.Fatalf("row bytes %d", len(dst))
	}
	QuantizeRowQ8_0(dst, src)
	back := make([]float32, len(src))
	DequantizeRowQ8_0(back, dst)
	for i := range src {
		// Half a quantum, plus the binary16 rounding of the scale times 127.
		if d := math.Abs(float64(back[i] - src[i])); d > 2.5/127/2+2.5/2048 {
			t.Fatalf("element %d: %v → %v", i, src[i], back[i])
		}
	}
	for i := 2*Q8BlockBytes - (2*Q8BlockSize - len(src)); i < len(dst); i++ {
		if dst[i] != 0 {
			t.Fatalf("padding byte %d is %d", i, dst[i])
		}
	}
}
