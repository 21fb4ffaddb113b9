package chain

import "github.com/dnahost/dnahost/keys"

// Transfer moves Amount from the sender to To.
type Transfer struct {
	To     keys.Address
	Amount uint64
}

// Encode writes to[20] ‖ u64 amount.
func (t *Transfer) Encode() []byte {
	var w writer
	w.addr(t.To)
	w.u64(t.Amount)
	return w
}

// DecodeTransfer parses a transfer payload.
func DecodeTransfer(b []byte) (*Transfer, error) {
	r := &reader{b: b, what: "transfer"}
	t := &Transfer{To: r.addr(), Amount: r.u64()}
	return t, r.done()
}

func (t *Transfer) sanity(tx *Tx, _ *Params) error {
	if !tx.JobID.IsZero() {
		return ruleErr(ErrEncoding, "transfer with a job ID")
	}
	if t.Amount == 0 {
		return ruleErr(ErrZeroAmount, "transfer of nothing")
	}
	if t.To == tx.Sender() {
		return ruleErr(ErrSelfTransfer, "transfer to the sender")
	}
	return nil
}
