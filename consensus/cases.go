package consensus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/dnahost/dnahost/keys"
)

// Cases are recorded commitment sets for testing rules: the format of
// `dna consensus test --cases` and of this package's testdata. Nodes,
// results, digests and jobs are named; names map to deterministic keys and
// hashes, so a case file is written by hand and signed by the tool.
type Cases struct {
	Cases []Case `json:"cases"`
}

// Case is one commitment set with, optionally, the expected decision.
type Case struct {
	Name        string           `json:"name"`
	Rule        string           `json:"rule,omitempty"` // a preset spec, when the case is for one
	Job         string           `json:"job,omitempty"`
	Replication int              `json:"replication"`
	Commitments []CaseCommitment `json:"commitments"`
	Expect      *CaseDecision    `json:"expect,omitempty"`
}

// CaseCommitment is one node's commitment in a case.
type CaseCommitment struct {
	Node         string `json:"node"`
	Stake        uint64 `json:"stake"`
	Result       string `json:"result"`
	Revealed     bool   `json:"revealed,omitempty"`
	Digest       string `json:"digest,omitempty"`
	Tokens       int    `json:"tokens,omitempty"`
	Verification string `json:"verification,omitempty"` // "", "verified" or "refuted"
	BadSignature bool   `json:"bad_signature,omitempty"`
	OtherJob     bool   `json:"other_job,omitempty"`
}

// CaseDecision is a decision in names.
type CaseDecision struct {
	Status   string   `json:"status"`
	Result   string   `json:"result,omitempty"`
	Agree    []string `json:"agree,omitempty"`
	Penalize []string `json:"penalize,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// MaxCasesBytes bounds a cases file.
const MaxCasesBytes = 16 << 20

// ParseCases reads a cases file.
func ParseCases(b []byte) (*Cases, error) {
	if len(b) > MaxCasesBytes {
		return nil, fmt.Errorf("consensus: cases file of %d bytes, limit %d", len(b), MaxCasesBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cs Cases
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("consensus: cases: %w", err)
	}
	for i, c := range cs.Cases {
		if len(c.Commitments) > MaxEntries || c.Replication < 0 || c.Replication > MaxEntries {
			return nil, fmt.Errorf("consensus: case %d (%s): too many commitments or replicas", i, c.Name)
		}
		for _, cc := range c.Commitments {
			switch cc.Verification {
			case "", "verified", "refuted":
			default:
				return nil, fmt.Errorf("consensus: case %q: verification %q (verified or refuted)", c.Name, cc.Verification)
			}
		}
	}
	return &cs, nil
}

// CaseKey is the deterministic key of a named node.
func CaseKey(name string) *keys.PrivateKey {
	for i := 0; ; i++ {
		seed := keys.SHA256([]byte("dna-case-node"), []byte(name), []byte{byte(i)})
		if k, err := keys.ParsePrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

// CaseHash is the hash a case's result, digest or job name stands for.
func CaseHash(kind, name string) keys.Hash {
	if name == "" {
		return keys.Hash{}
	}
	return keys.SHA256([]byte("dna-case-"+kind), []byte(name))
}

// JobInfo is the case's job.
func (c *Case) JobInfo() Job {
	return Job{ID: CaseHash("job", c.Job), Replication: c.Replication}
}

// Signed builds the case's commitments, signed by the named nodes (or not,
// where a case asks for a bad signature).
func (c *Case) Signed() []Commitment {
	job := c.JobInfo()
	out := make([]Commitment, 0, len(c.Commitments))
	for _, cc := range c.Commitments {
		cm := Commitment{JobID: job.ID, Stake: cc.Stake, ResultHash: CaseHash("result", cc.Result),
			Revealed: cc.Revealed, Digest: CaseHash("digest", cc.Digest), Tokens: cc.Tokens}
		switch cc.Verification {
		case "verified":
			cm.Verification = Verified
		case "refuted":
			cm.Verification = Refuted
		}
		if cc.OtherJob {
			cm.JobID = CaseHash("job", c.Job+"/other")
		}
		cm.Sign(CaseKey(cc.Node))
		if cc.BadSignature {
			cm.Signature[10] ^= 0x40
		}
		out = append(out, cm)
	}
	return out
}

// Names turns a decision back into the case's names.
func (c *Case) Names(d Decision) CaseDecision {
	nodes := map[NodeID]string{}
	results := map[keys.Hash]string{}
	for _, cc := range c.Commitments {
		nodes[NodeIDOf(CaseKey(cc.Node).Public())] = cc.Node
		results[CaseHash("result", cc.Result)] = cc.Result
	}
	name := func(ids []NodeID) []string {
		var out []string
		for _, id := range ids {
			if n, ok := nodes[id]; ok {
				out = append(out, n)
			} else {
				out = append(out, id.String())
			}
		}
		sort.Strings(out)
		return out
	}
	cd := CaseDecision{Status: d.Status.String(), Agree: name(d.Agree), Penalize: name(d.Penalize), Reason: d.Reason}
	if d.Status == Accepted {
		cd.Result = results[d.Result]
	}
	return cd
}

// Matches compares a decision with the expectation (the reason only when
// the expectation gives one, as a substring).
func (e *CaseDecision) Matches(got CaseDecision) bool {
	sorted := func(s []string) []string {
		s = append([]string(nil), s...)
		sort.Strings(s)
		return s
	}
	eq := func(a, b []string) bool {
		a, b = sorted(a), sorted(b)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	return e.Status == got.Status && e.Result == got.Result && eq(e.Agree, got.Agree) && eq(e.Penalize, got.Penalize) &&
		(e.Reason == "" || bytes.Contains([]byte(got.Reason), []byte(e.Reason)))
}
