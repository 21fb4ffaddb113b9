package cpu

import (
	"math"
	"math/bits"
)

// Philox4x32_10 is the counter-based generator of Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3" (SC'11), with ten rounds. It maps a
// 128-bit counter and a 64-bit key to 128 random bits; being stateless, any
// node, thread or GPU lane computes the noise for any (seed, step, token)
// without computing the others.
func Philox4x32_10(ctr [4]uint32, key [2]uint32) [4]uint32 {
	const (
		m0 = 0xD2511F53
		m1 = 0xCD9E8D57
		w0 = 0x9E3779B9
		w1 = 0xBB67AE85
	)
	for i := 0; i < 10; i++ {
		if i > 0 {
			key[0] += w0
			key[1] += w1
		}
		hi0, lo0 := bits.Mul32(m0, ctr[0])
		hi1, lo1 := bits.Mul32(m1, ctr[2])
		ctr = [4]uint32{hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0}
	}
	return ctr
}

// gumbelDomain separates the sampler's counters from any other use of Philox.
const gumbelDomain = 0x444E4131 // "DNA1"

// GumbelBits returns the four raw 32-bit words that feed tokens 4q..4q+3 at
// a sampling step.
func GumbelBits(seed, step uint64, q uint32) [4]uint32 {
	return Philox4x32_10(
		[4]uint32{q, uint32(step), uint32(step >> 32), gumbelDomain},
		[2]uint32{uint32(seed), uint32(seed >> 32)})
}

// UniformFromBits maps a 32-bit word to u = (2·(w>>9)+1)·2^-24, an exact
// binary32 strictly inside (0, 1) and symmetric about ½.
func UniformFromBits(w uint32) float32 {
	return float32(2*(w>>9)+1) * (1.0 / (1 << 24))
}

// GumbelFromBits is g = −log(−log u) for u = UniformFromBits(w).
func GumbelFromBits(w uint32) float32 {
	u := UniformFromBits(w)
	return -Logf(-Logf(u))
}

// Gumbel is the noise added to token i's scaled logit at a sampling step.
func Gumbel(seed, step uint64, i int) float32 {
	return GumbelFromBits(GumbelBits(seed, step, uint32(i>>2))[i&3])
}

// negInf is the score of a token that can never be chosen.
var negInf = float32(math.Inf(-1))
