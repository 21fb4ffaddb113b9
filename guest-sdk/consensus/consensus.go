package consensus

import (
	"bytes"
	"math/bits"
	"sort"
)

// Hash is a SHA-256 digest; NodeID names a node.
type (
	Hash   [32]byte
	NodeID = Hash
)

// Verification is what a verifier found about a revealed result.
type Verification uint8

const (
	NotVerified Verification = iota
	Verified
	Refuted
)

// Entry is one authenticated commitment.
type Entry struct {
	Node         NodeID
	Stake        uint64
	Result       Hash
	Revealed     bool
	Digest       Hash
	Tokens       int
	Verification Verification
}

// Input is what a rule decides on, entries in arrival order, with the
// rule's parameters (from the bundle manifest).
type Input struct {
	JobID       Hash
	Replication int
	Entries     []Entry
	Params      map[string]string
}

// Status of a decision.
type Status uint8

const (
	Undecided Status = iota
	Accepted
)

// Decision is a rule's verdict.
type Decision struct {
	Status   Status
	Result   Hash
	Agree    []NodeID
	Penalize []NodeID
	Reason   string
}

// Undecide returns an undecided verdict.
func Undecide(reason string, penalize ...NodeID) Decision {
	return Decision{Status: Undecided, Penalize: Sorted(penalize), Reason: reason}
}

// Sorted returns ids sorted and without repeats.
func Sorted(ids []NodeID) []NodeID {
	out := append([]NodeID(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	k := 0
	for i := range out {
		if i == 0 || out[i] != out[k-1] {
			out[k] = out[i]
			k++
		}
	}
	return out[:k]
}

// Normalize keeps each node's first entry and sets aside, for penalties,
// nodes that committed two different results and results refuted by
// verification.
func Normalize(in *Input) (valid []Entry, penalize []NodeID) {
	type seen struct {
		first int
		bad   bool
	}
	nodes := map[NodeID]*seen{}
	var order []NodeID
	for i, e := range in.Entries {
		s := nodes[e.Node]
		if s == nil {
			nodes[e.Node] = &seen{first: i}
			order = append(order, e.Node)
			continue
		}
		if in.Entries[s.first].Result != e.Result {
			s.bad = true
		}
	}
	for _, id := range order {
		s := nodes[id]
		e := in.Entries[s.first]
		if s.bad || e.Verification == Refuted {
			penalize = append(penalize, id)
			continue
		}
		valid = append(valid, e)
	}
	return valid, penalize
}

// Stake is a 128-bit sum of stakes.
type Stake struct{ Hi, Lo uint64 }

// Plus adds v.
func (s Stake) Plus(v uint64) Stake {
	lo, c := bits.Add64(s.Lo, v, 0)
	return Stake{s.Hi + c, lo}
}

// Less compares.
func (s Stake) Less(t Stake) bool { return s.Hi < t.Hi || s.Hi == t.Hi && s.Lo < t.Lo }

// Tally is one result's supporters.
type Tally struct {
	Result Hash
	Nodes  []NodeID
	Stake  Stake
}

// TallyResults groups entries by result, in order of first appearance.
func TallyResults(entries []Entry) []Tally {
	var out []Tally
	for _, e := range entries {
		i := 0
		for i < len(out) && out[i].Result != e.Result {
			i++
		}
		if i == len(out) {
			out = append(out, Tally{Result: e.Result})
		}
		out[i].Nodes = append(out[i].Nodes, e.Node)
		out[i].Stake = out[i].Stake.Plus(e.Stake)
	}
	return out
}

// Accept builds an accepted verdict for tallies[win]: its nodes agree; the
// nodes of every other result are penalised (generation is deterministic,
// so only one result can be right), with any extra penalties.
func Accept(tallies []Tally, win int, reason string, penalize ...NodeID) Decision {
	pen := append([]NodeID(nil), penalize...)
	for i, t := range tallies {
		if i != win {
			pen = append(pen, t.Nodes...)
		}
	}
	return Decision{Status: Accepted, Result: tallies[win].Result, Agree: Sorted(tallies[win].Nodes), Penalize: Sorted(pen), Reason: reason}
}
