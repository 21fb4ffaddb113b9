package hostfuncs

import "math/bits"

// Work units are the deterministic price of host work: a function of the
// operation and its shapes only, identical on every node and backend. One
// unit is roughly one multiply-add. Every call also pays CallCost, so a
// flood of cheap calls is priced too.
const CallCost = 16

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0)
	}
	return s
}

func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}

func costMatMul(n, m, k int) uint64 { return satMul(satMul(uint64(n), uint64(m)), uint64(k)) }

// costAttention counts q·k and a·v multiply-adds over the causal window.
func costAttention(pos, n, heads, hs int) uint64 {
	// Σ_{r<n} (pos+r+1) = n·pos + n(n+1)/2
	ctx := satAdd(satMul(uint64(n), uint64(pos)), uint64(n)*uint64(n+1)/2)
	return satMul(satMul(ctx, uint64(heads)), 2*uint64(hs))
}

func costElems(rows, cols int, perElem uint64) uint64 {
	return satMul(satMul(uint64(rows), uint64(cols)), perElem)
}

func costBytes(n int) uint64 { return uint64(n) / 16 }
