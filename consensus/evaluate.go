package consensus

import (
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// Job is what a rule needs to know about a job.
type Job struct {
	ID          keys.Hash
	Replication int // nodes asked to run it (0: unknown)
}

// Evaluate authenticates commitments and applies a rule: the host side of
// every rule, preset or WebAssembly. Commitments with a bad signature or
// for another job cannot be attributed to anyone, so they are left out (and
// counted in the reason); a decision that does not fit its input — a result
// nobody committed, an agreeing node that committed something else, an
// unknown node — is replaced by Undecided, so a faulty rule can delay a job
// but never make a node accept or punish wrongly.
func Evaluate(rule Rule, job Job, cs []Commitment) Decision {
	in := &Input{JobID: job.ID, Replication: job.Replication}
	ignored := 0
	for i := range cs {
		c := &cs[i]
		if c.JobID != job.ID || c.Check() != nil {
			ignored++
			continue
		}
		in.Entries = append(in.Entries, Entry{Node: c.NodeID(), Stake: c.Stake, Result: c.ResultHash,
			Revealed: c.Revealed, Digest: c.Digest, Tokens: c.Tokens, Verification: c.Verification})
	}
	d := rule.Decide(in)
	d.Rule = rule.Ref()
	if err := CheckDecision(in, d); err != nil {
		d = undecided(rule.Ref(), nil, "rule %s returned an invalid decision: %v", rule.Ref(), err)
	}
	d.Agree, d.Penalize = sortedIDs(d.Agree), sortedIDs(d.Penalize)
	if ignored > 0 {
		d.Reason += fmt.Sprintf(" (%d commitment(s) with a bad signature or for another job ignored)", ignored)
	}
	return d
}

// CheckDecision checks that a decision fits its input.
func CheckDecision(in *Input, d Decision) error {
	results := map[NodeID]map[keys.Hash]bool{}
	committed := map[keys.Hash]bool{}
	for _, e := range in.Entries {
		if results[e.Node] == nil {
			results[e.Node] = map[keys.Hash]bool{}
		}
		results[e.Node][e.Result] = true
		committed[e.Result] = true
	}
	switch d.Status {
	case Undecided:
		if len(d.Agree) > 0 || !d.Result.IsZero() {
			return fmt.Errorf("undecided with a result or agreeing nodes")
		}
	case Accepted:
		if !committed[d.Result] {
			return fmt.Errorf("accepted result %s that nobody committed", d.Result)
		}
		if len(d.Agree) == 0 {
			return fmt.Errorf("accepted with no agreeing node")
		}
	default:
		return fmt.Errorf("status %d", d.Status)
	}
	seen := map[NodeID]bool{}
	for _, id := range d.Agree {
		if !results[id][d.Result] {
			return fmt.Errorf("agreeing node %s did not commit %s", id, d.Result)
		}
		if seen[id] {
			return fmt.Errorf("node %s listed twice", id)
		}
		seen[id] = true
	}
	for _, id := range d.Penalize {
		if results[id] == nil {
			return fmt.Errorf("penalised node %s made no commitment", id)
		}
		if seen[id] {
			return fmt.Errorf("node %s both agrees and is penalised", id)
		}
	}
	return nil
}
