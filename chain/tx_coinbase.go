package chain

import "github.com/dnahost/dnahost/keys"

// maxCoinbaseExtra bounds a coinbase's free bytes (a miner's tag).
const maxCoinbaseExtra = 100

// Coinbase pays a block's subsidy and fees. The height makes every
// coinbase, and so every transaction ID, unique.
type Coinbase struct {
	Height uint64
	To     keys.Address
	Amount uint64
	Extra  []byte
}

// Encode writes u64 height ‖ to[20] ‖ u64 amount ‖ u32 n ‖ extra[n].
func (c *Coinbase) Encode() []byte {
	var w writer
	w.u64(c.Height)
	w.addr(c.To)
	w.u64(c.Amount)
	w.bytes(c.Extra)
	return w
}

// DecodeCoinbase parses a coinbase payload.
func DecodeCoinbase(b []byte) (*Coinbase, error) {
	r := &reader{b: b, what: "coinbase"}
	c := &Coinbase{Height: r.u64(), To: r.addr(), Amount: r.u64(), Extra: r.bytes(maxCoinbaseExtra)}
	return c, r.done()
}
