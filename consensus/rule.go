package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dnahost/dnahost/keys"
)

// Entry is one authenticated commitment as a rule sees it.
type Entry struct {
	Node         NodeID
	Stake        uint64
	Result       keys.Hash
	Revealed     bool
	Digest       keys.Hash
	Tokens       int
	Verification Verification
}

// Input is what a rule decides on: the job, how many nodes it asked for,
// and the authenticated commitments in arrival order. Duplicates from one
// node are possible; signatures have been checked by the host.
type Input struct {
	JobID       keys.Hash
	Replication int
	Entries     []Entry
}

// Status of a decision.
type Status uint8

const (
	Undecided Status = iota // need more commitments (or the rule could not decide)
	Accepted                // a result is accepted
)

func (s Status) String() string {
	if s == Accepted {
		return "accepted"
	}
	return "undecided"
}

// Decision is a rule's verdict.
type Decision struct {
	Status   Status
	Result   keys.Hash // the accepted result (zero when undecided)
	Agree    []NodeID  // nodes that committed the accepted result, sorted
	Penalize []NodeID  // nodes to penalise, sorted
	Reason   string
	Rule     RuleRef // which rule and version decided
}

// Rule is a consensus rule. Decide must be deterministic: a pure function
// of its input, so that every honest node reaches the same decision; it
// must not depend on time, randomness, map iteration order or anything
// outside the input.
type Rule interface {
	Ref() RuleRef
	Decide(in *Input) Decision
}

// RuleRef names a rule precisely: name, version and parameters. Its ID
// goes into certificates.
type RuleRef struct {
	Name    string
	Version uint32
	Params  map[string]string
}

// ID hashes the canonical encoding of the reference (parameters sorted).
func (r RuleRef) ID() keys.Hash {
	b := binary.LittleEndian.AppendUint32([]byte(r.Name+"\x00"), r.Version)
	ks := make([]string, 0, len(r.Params))
	for k := range r.Params {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		b = append(append(append(b, k...), 0), r.Params[k]...)
		b = append(b, 0)
	}
	return keys.DomainHash("rule", b)
}

// String is name@version(k=v,…).
func (r RuleRef) String() string {
	s := r.Name + "@" + strconv.FormatUint(uint64(r.Version), 10)
	if len(r.Params) > 0 {
		ks := make([]string, 0, len(r.Params))
		for k := range r.Params {
			ks = append(ks, k+"="+r.Params[k])
		}
		sort.Strings(ks)
		s += "(" + strings.Join(ks, ",") + ")"
	}
	return s
}

// ErrRule reports an unknown or badly parameterised rule.
var ErrRule = errors.New("consensus: bad rule")

// undecided is the decision a rule returns when it cannot decide.
func undecided(ref RuleRef, pen []NodeID, format string, args ...any) Decision {
	return Decision{Status: Undecided, Penalize: sortedIDs(pen), Reason: fmt.Sprintf(format, args...), Rule: ref}
}

func sortedIDs(ids []NodeID) []NodeID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b NodeID) int { return compareIDs(a, b) })
	return slices.Compact(out)
}

func compareIDs(a, b NodeID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Normalized is the part every preset starts from: one entry per node (its
// first), with equivocators (nodes that committed two different results)
// and refuted results set aside for penalties.
type Normalized struct {
	Entries  []Entry  // distinct nodes, arrival order, neither equivocating nor refuted
	Penalize []NodeID // equivocators and nodes whose result was refuted
}

// Normalize applies the shared preprocessing.
func Normalize(in *Input) Normalized {
	first := map[NodeID]int{}
	equivocated := map[NodeID]bool{}
	var order []NodeID
	for i, e := range in.Entries {
		j, seen := first[e.Node]
		if !seen {
			first[e.Node] = i
			order = append(order, e.Node)
			continue
		}
		if in.Entries[j].Result != e.Result {
			equivocated[e.Node] = true
		}
	}
	var n Normalized
	for _, id := range order {
		e := in.Entries[first[id]]
		switch {
		case equivocated[id]:
			n.Penalize = append(n.Penalize, id)
		case e.Verification == Refuted:
			n.Penalize = append(n.Penalize, id)
		default:
			n.Entries = append(n.Entries, e)
		}
	}
	return n
}

// Tally groups entries by result.
type Tally struct {
	Result keys.Hash
	Nodes  []NodeID
	Stake  Stake
}

// Stake is a 128-bit sum of stakes: no overflow however many nodes commit.
type Stake struct{ Hi, Lo uint64 }

// Add returns s + v.
func (s Stake) Add(v uint64) Stake {
	lo := s.Lo + v
	hi := s.Hi
	if lo < s.Lo {
		hi++
	}
	return Stake{hi, lo}
}

// Cmp compares s with t.
func (s Stake) Cmp(t Stake) int {
	switch {
	case s.Hi != t.Hi:
		if s.Hi < t.Hi {
			return -1
		}
		return 1
	case s.Lo != t.Lo:
		if s.Lo < t.Lo {
			return -1
		}
		return 1
	}
	return 0
}

// Double returns 2s (a 128-bit value times two cannot overflow for sums of
// fewer than 2^63 stakes).
func (s Stake) Double() Stake { return Stake{s.Hi<<1 | s.Lo>>63, s.Lo << 1} }

// TallyResults counts each result's nodes and stake, results in order of
// first appearance.
func TallyResults(entries []Entry) []Tally {
	var out []Tally
	idx := map[keys.Hash]int{}
	for _, e := range entries {
		i, ok := idx[e.Result]
		if !ok {
			i = len(out)
			idx[e.Result] = i
			out = append(out, Tally{Result: e.Result})
		}
		out[i].Nodes = append(out[i].Nodes, e.Node)
		out[i].Stake = out[i].Stake.Add(e.Stake)
	}
	return out
}

// accept builds the decision for an accepted result: every other committed
// result is wrong (generation is deterministic), so its nodes are penalised.
func accept(ref RuleRef, n Normalized, tallies []Tally, win int, reason string) Decision {
	pen := slices.Clone(n.Penalize)
	for i, t := range tallies {
		if i != win {
			pen = append(pen, t.Nodes...)
		}
	}
	return Decision{Status: Accepted, Result: tallies[win].Result, Agree: sortedIDs(tallies[win].Nodes),
		Penalize: sortedIDs(pen), Reason: reason, Rule: ref}
}
