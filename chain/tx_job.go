package chain

import "github.com/dnahost/dnahost/keys"

// maxRuleLen bounds a consensus rule reference.
const maxRuleLen = 256

// JobEscrow creates job tx.JobID: the client (the sender) locks Reward,
// paid at settlement to the nodes whose result is recorded. Replication
// nodes may stake at least MinStake each until Deadline (unix ms), by
// which the result must be recorded.
type JobEscrow struct {
	BundleRoot  keys.Hash
	Reward      uint64
	Replication uint8
	MinStake    uint64
	Deadline    int64
	Rule        string // the consensus rule the client expects ("" for the bundle's)
}

// Encode writes bundle[32] ‖ u64 reward ‖ u8 replication ‖ u64 min stake ‖
// u64 deadline ‖ u32 n ‖ rule[n].
func (j *JobEscrow) Encode() []byte {
	var w writer
	w.hash(j.BundleRoot)
	w.u64(j.Reward)
	w.u8(j.Replication)
	w.u64(j.MinStake)
	w.u64(uint64(j.Deadline))
	w.bytes([]byte(j.Rule))
	return w
}

// DecodeJobEscrow parses a job escrow payload.
func DecodeJobEscrow(b []byte) (*JobEscrow, error) {
	r := &reader{b: b, what: "job"}
	j := &JobEscrow{BundleRoot: r.hash(), Reward: r.u64(), Replication: r.u8(), MinStake: r.u64(),
		Deadline: int64(r.u64()), Rule: string(r.bytes(maxRuleLen))}
	return j, r.done()
}

func (j *JobEscrow) sanity(tx *Tx, p *Params) error {
	if tx.JobID.IsZero() {
		return ruleErr(ErrEncoding, "job without an ID")
	}
	if j.Reward == 0 {
		return ruleErr(ErrZeroAmount, "job with no reward")
	}
	if j.Replication == 0 || int(j.Replication) > p.MaxReplication {
		return ruleErr(ErrBadReplication, "replication %d, allowed 1..%d", j.Replication, p.MaxReplication)
	}
	if j.Deadline <= 0 {
		return ruleErr(ErrBadDeadline, "deadline %d", j.Deadline)
	}
	return nil
}
