package chain

import (
	"math/big"

	"github.com/dnahost/dnahost/keys"
)

// CompactToBig expands a compact target: the low 23 bits are the mantissa,
// bit 23 its sign, the high byte the length in bytes (Bitcoin's "bits").
func CompactToBig(c uint32) *big.Int {
	mantissa := c & 0x007fffff
	negative := c&0x00800000 != 0
	exponent := uint(c >> 24)
	var v *big.Int
	if exponent <= 3 {
		v = big.NewInt(int64(mantissa >> (8 * (3 - exponent))))
	} else {
		v = new(big.Int).Lsh(big.NewInt(int64(mantissa)), 8*(exponent-3))
	}
	if negative {
		v.Neg(v)
	}
	return v
}

// BigToCompact is the compact form of a non-negative target (rounded down).
func BigToCompact(n *big.Int) uint32 {
	if n.Sign() == 0 {
		return 0
	}
	var mantissa uint32
	exponent := uint(len(n.Bytes()))
	if exponent <= 3 {
		mantissa = uint32(n.Int64()) << (8 * (3 - exponent))
	} else {
		mantissa = uint32(new(big.Int).Rsh(n, 8*(exponent-3)).Int64())
	}
	// Keep the mantissa's sign bit clear.
	if mantissa&0x00800000 != 0 {
		mantissa >>= 8
		exponent++
	}
	return uint32(exponent<<24) | mantissa
}

// HashToBig reads a block hash as a big-endian 256-bit number.
func HashToBig(h keys.Hash) *big.Int { return new(big.Int).SetBytes(h[:]) }

var oneLsh256 = new(big.Int).Lsh(big.NewInt(1), 256)

// WorkOf is the expected number of hashes to find a block at bits:
// 2^256 / (target + 1).
func WorkOf(bits uint32) *big.Int {
	t := CompactToBig(bits)
	if t.Sign() <= 0 {
		return big.NewInt(0)
	}
	return new(big.Int).Div(oneLsh256, t.Add(t, big.NewInt(1)))
}

// CheckProofOfWork checks the target is within the limit and the hash
// meets it.
func CheckProofOfWork(h *Header, p *Params) error {
	target := CompactToBig(h.Bits)
	if target.Sign() <= 0 {
		return ruleErr(ErrBadBits, "target %08x is not positive", h.Bits)
	}
	if target.Cmp(p.PowLimit()) > 0 {
		return ruleErr(ErrBadBits, "target %08x above the limit %08x", h.Bits, p.PowLimitBits)
	}
	if BigToCompact(target) != h.Bits {
		return ruleErr(ErrBadBits, "target %08x not in canonical compact form", h.Bits)
	}
	if HashToBig(h.Hash()).Cmp(target) > 0 {
		return ruleErr(ErrHighHash, "block hash above target %08x", h.Bits)
	}
	return nil
}

// nextBits is the target a block at height must carry: the parent's,
// except every RetargetInterval blocks, when the last interval's actual
// timespan scales it (at most MaxRetarget either way, never above the
// limit). first is the timestamp of the interval's first block.
func nextBits(p *Params, height uint64, parentBits uint32, first, last int64) uint32 {
	if p.RetargetInterval == 0 {
		return p.PowLimitBits
	}
	if height%p.RetargetInterval != 0 || height == 0 {
		return parentBits
	}
	want := p.TargetBlockTime.Milliseconds() * int64(p.RetargetInterval)
	actual := last - first
	actual = max(actual, want/p.MaxRetarget)
	actual = min(actual, want*p.MaxRetarget)
	t := CompactToBig(parentBits)
	t.Mul(t, big.NewInt(actual))
	t.Div(t, big.NewInt(want))
	if t.Cmp(p.PowLimit()) > 0 {
		t = p.PowLimit()
	}
	return BigToCompact(t)
}
