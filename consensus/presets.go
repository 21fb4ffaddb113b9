package consensus

import (
	"fmt"
	"strconv"
	"strings"
)

// Preset names.
const (
	PresetMajority      = "majority"
	PresetSupermajority = "supermajority"
	PresetQuorum        = "quorum"
	PresetUnanimous     = "unanimous"
	PresetStakeMajority = "stake-majority"
	PresetFirstVerified = "first-verified"
)

// ParseRule parses a preset spec: a name, optionally with parameters,
// "quorum:k=2".
func ParseRule(spec string) (Rule, error) {
	name, params, _ := strings.Cut(spec, ":")
	kv := map[string]string{}
	if params != "" {
		for _, p := range strings.Split(params, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%w: parameter %q of %q", ErrRule, p, spec)
			}
			kv[k] = v
		}
	}
	switch name {
	case PresetMajority, PresetSupermajority, PresetUnanimous, PresetStakeMajority, PresetFirstVerified:
		if len(kv) > 0 {
			return nil, fmt.Errorf("%w: %s takes no parameters", ErrRule, name)
		}
		return Preset{Name: name}, nil
	case PresetQuorum:
		k, err := strconv.Atoi(kv["k"])
		if err != nil || k < 1 || len(kv) != 1 {
			return nil, fmt.Errorf("%w: quorum needs k=N with N ≥ 1", ErrRule)
		}
		return Preset{Name: name, K: k}, nil
	}
	return nil, fmt.Errorf("%w: unknown preset %q (majority, supermajority, quorum:k=N, unanimous, stake-majority, first-verified)", ErrRule, name)
}

// Preset is one of the network's built-in rules (version 1 of each).
type Preset struct {
	Name string
	K    int // quorum's k
}

// Ref names the preset.
func (p Preset) Ref() RuleRef {
	r := RuleRef{Name: p.Name, Version: 1}
	if p.Name == PresetQuorum {
		r.Params = map[string]string{"k": strconv.Itoa(p.K)}
	}
	return r
}

// replicas is n: the replication the job asked for, or the number of
// distinct nodes heard from when the job did not say.
func replicas(in *Input, n Normalized) int {
	if in.Replication > 0 {
		return in.Replication
	}
	return len(n.Entries) + len(n.Penalize)
}

// Required is how many agreeing nodes the preset needs out of n (for
// stake-majority and first-verified, the count a certificate must carry).
func (p Preset) Required(n int) int {
	switch p.Name {
	case PresetSupermajority:
		return (2*n + 2) / 3
	case PresetQuorum:
		return p.K
	case PresetUnanimous:
		return n
	case PresetFirstVerified:
		return 1
	}
	return n/2 + 1
}

// Decide applies the preset.
func (p Preset) Decide(in *Input) Decision {
	ref := p.Ref()
	norm := Normalize(in)
	tallies := TallyResults(norm.Entries)
	n := replicas(in, norm)
	if len(tallies) == 0 {
		return undecided(ref, norm.Penalize, "no valid commitments yet (%d expected)", n)
	}
	switch p.Name {
	case PresetFirstVerified:
		for _, e := range norm.Entries {
			if e.Verification == Verified {
				for i, t := range tallies {
					if t.Result == e.Result {
						return accept(ref, norm, tallies, i, "the first verified commitment")
					}
				}
			}
		}
		return undecided(ref, norm.Penalize, "none of %d commitments verified yet", len(norm.Entries))
	case PresetStakeMajority:
		var total Stake
		for _, t := range tallies {
			total = addStake(total, t.Stake)
		}
		best := 0
		for i, t := range tallies {
			if t.Stake.Cmp(tallies[best].Stake) > 0 {
				best = i
			}
		}
		if tallies[best].Stake.Double().Cmp(total) > 0 {
			return accept(ref, norm, tallies, best, fmt.Sprintf("more than half of %s staked", total))
		}
		return undecided(ref, norm.Penalize, "no result holds more than half of %s staked", total)
	}
	need := p.Required(n)
	if p.Name == PresetUnanimous && len(tallies) > 1 {
		return undecided(ref, norm.Penalize, "commitments disagree: %d different results", len(tallies))
	}
	// The result with the most nodes; a tie for the most cannot be decided.
	best, tie := 0, false
	for i, t := range tallies[1:] {
		switch c := len(t.Nodes); {
		case c > len(tallies[best].Nodes):
			best, tie = i+1, false
		case c == len(tallies[best].Nodes):
			tie = true
		}
	}
	got := len(tallies[best].Nodes)
	if got < need {
		return undecided(ref, norm.Penalize, "%d of %d nodes agree, %d required", got, n, need)
	}
	if tie {
		return undecided(ref, norm.Penalize, "two results each have %d of %d nodes", got, n)
	}
	return accept(ref, norm, tallies, best, fmt.Sprintf("%d of %d nodes agree (%d required)", len(tallies[best].Nodes), n, need))
}

func addStake(s, t Stake) Stake {
	lo := s.Lo + t.Lo
	hi := s.Hi + t.Hi
	if lo < s.Lo {
		hi++
	}
	return Stake{hi, lo}
}

// String prints a stake in decimal.
func (s Stake) String() string {
	if s.Hi == 0 {
		return strconv.FormatUint(s.Lo, 10)
	}
	return fmt.Sprintf("%d·2^64+%d", s.Hi, s.Lo)
}
