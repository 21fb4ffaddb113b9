package chain

// Stake bonds Amount of the sender's coins to job tx.JobID: returned at
// settlement if the sender's output is the recorded one, slashed if it was
// missing or proven wrong.
type Stake struct {
	Amount uint64
}

// Encode writes u64 amount.
func (s *Stake) Encode() []byte {
	var w writer
	w.u64(s.Amount)
	return w
}

// DecodeStake parses a stake payload.
func DecodeStake(b []byte) (*Stake, error) {
	r := &reader{b: b, what: "stake"}
	s := &Stake{Amount: r.u64()}
	return s, r.done()
}

func (s *Stake) sanity(tx *Tx, _ *Params) error {
	if tx.JobID.IsZero() {
		return ruleErr(ErrEncoding, "stake without a job ID")
	}
	if s.Amount == 0 {
		return ruleErr(ErrZeroAmount, "stake of nothing")
	}
	return nil
}
