package chain

// MaxEvidence bounds a dispute's evidence.
const MaxEvidence = 64 << 10

// Dispute claims the recorded result of job tx.JobID is wrong. The chain's
// ResultVerifier judges the evidence; if it proves the claim, the agreeing
// nodes' stakes are slashed (DisputeBounty percent to the sender, the rest
// burned) and the client's reward is refunded.
type Dispute struct {
	Evidence []byte
}

// Encode writes u32 n ‖ evidence[n].
func (d *Dispute) Encode() []byte {
	var w writer
	w.bytes(d.Evidence)
	return w
}

// DecodeDispute parses a dispute payload.
func DecodeDispute(b []byte) (*Dispute, error) {
	r := &reader{b: b, what: "dispute"}
	d := &Dispute{Evidence: r.bytes(MaxEvidence)}
	return d, r.done()
}

func (d *Dispute) sanity(tx *Tx, _ *Params) error {
	if tx.JobID.IsZero() {
		return ruleErr(ErrEncoding, "dispute without a job ID")
	}
	if len(d.Evidence) == 0 {
		return ruleErr(ErrDisputeRejected, "dispute without evidence")
	}
	return nil
}
