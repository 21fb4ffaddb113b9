package kernels

import (
	"encoding/binary"
	"math"
)

// F16ToF32 widens an IEEE 754 binary16 value; the conversion is exact.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = man · 2^-24, exact in binary32.
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// F32ToF16 narrows to binary16 with round-to-nearest-even; values too large
// become infinities and NaNs stay NaNs.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign // rounds to zero
		}
		m := man | 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is the right result
	}
	return sign | uint16(r)
}

// RoundQ8 is the quantizer's rounding: round half away from zero, clamped
// to [−127, 127], with NaN → 0. Go leaves int8(±Inf) and int8(NaN)
// implementation-defined (amd64 and arm64 differ), so every quantizer uses
// this total definition instead; it matters when a scale overflows or a
// value is not finite.
func RoundQ8(v float32) int8 {
	switch {
	case v != v:
		return 0
	case v >= 127:
		return 127
	case v <= -127:
		return -127
	}
	return int8(math.Round(float64(v)))
}

// AbsMax is the largest |x| of a block (NaN if any element is NaN, as Go's
// max defines it), the amax of both Q8_0 quantizers.
func AbsMax(x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	return amax
}

// QuantizeRowQ8_0 writes src as one Q8_0 row into dst, which must hold
// DType(Q8_0).RowBytes(len(src)) bytes. It matches llama.cpp's
// quantize_row_q8_0_ref: d = amax/127 rounded to binary16, q = round(x/d)
// with the unrounded d. Weights are quantized once, at import.
func QuantizeRowQ8_0(dst []byte, src []float32) {
	nb := (len(src) + Q8BlockSize - 1) / Q8BlockSize
	for b := 0; b < nb; b++ {
		blk := dst[b*Q8BlockBytes : (b+1)*Q8BlockBytes]
		lo := b * Q8BlockSize
		hi := min(lo+Q8BlockSize, len(src))
		d := AbsMax(src[lo:hi]) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for i := range Q8BlockSize {
			var q int8
			if lo+i < hi {
				q = RoundQ8(float32(src[lo+i] * id))
			}
			blk[2+i] = byte(q)
		}
	}
}

// DequantizeRowQ8_0 expands one Q8_0 row of n elements: x = float32(q)·d.
func DequantizeRowQ8_0(dst []float32, src []byte) {
	for i := range dst {
		blk := src[(i/Q8BlockSize)*Q8BlockBytes:]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		dst[i] = float32(int8(blk[2+i%Q8BlockSize])) * d
	}
}
