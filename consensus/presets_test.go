package consensus

import (
	"os"
	"testing"
)

// TestPresetCases runs the recorded commitment sets in testdata through
// their presets and compares with the expected decisions.
func TestPresetCases(t *testing.T) {
	raw, err := os.ReadFile("testdata/presets.json")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseCases(raw)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range cs.Cases {
		t.Run(c.Name, func(t *testing.T) {
			rule, err := ParseRule(c.Rule)
			if err != nil {
				t.Fatal(err)
			}
			seen[rule.Ref().Name] = true
			d := Evaluate(rule, c.JobInfo(), c.Signed())
			got := c.Names(d)
			if c.Expect == nil {
				t.Fatal("case has no expectation")
			}
			if !c.Expect.Matches(got) {
				t.Fatalf("got %+v, want %+v", got, *c.Expect)
			}
			if d.Rule.Name != rule.Ref().Name || d.Rule.Version != 1 {
				t.Fatalf("decision records rule %s", d.Rule)
			}
		})
	}
	for _, p := range []string{PresetMajority, PresetSupermajority, PresetQuorum, PresetUnanimous, PresetStakeMajority, PresetFirstVerified} {
		if !seen[p] {
			t.Errorf("no case for preset %s", p)
		}
	}
}

func TestParseRule(t *testing.T) {
	for _, ok := range []string{"majority", "supermajority", "quorum:k=3", "unanimous", "stake-majority", "first-verified"} {
		if _, err := ParseRule(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "plurality", "quorum", "quorum:k=0", "quorum:k=x", "majority:k=1", "quorum:k=2,j=1", "quorum:=2"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	a, _ := ParseRule("quorum:k=2")
	b, _ := ParseRule("quorum:k=3")
	if a.Ref().ID() == b.Ref().ID() {
		t.Fatal("different parameters, same rule ID")
	}
}

// A rule whose decision does not fit its input is overruled.
type liar struct{ d Decision }

func (l liar) Ref() RuleRef              { return RuleRef{Name: "liar", Version: 1} }
func (l liar) Decide(in *Input) Decision { return l.d }

func TestEvaluateOverrulesBadDecisions(t *testing.T) {
	c := Case{Job: "j", Replication: 3, Commitments: []CaseCommitment{{Node: "a", Result: "A"}, {Node: "b", Result: "B"}}}
	a, b := NodeIDOf(CaseKey("a").Public()), NodeIDOf(CaseKey("b").Public())
	stranger := NodeIDOf(CaseKey("z").Public())
	for name, d := range map[string]Decision{
		"result nobody committed":    {Status: Accepted, Result: CaseHash("result", "C"), Agree: []NodeID{a}},
		"agreeing node disagreed":    {Status: Accepted, Result: CaseHash("result", "A"), Agree: []NodeID{a, b}},
		"accepted, nobody agrees":    {Status: Accepted, Result: CaseHash("result", "A")},
		"penalised stranger":         {Status: Accepted, Result: CaseHash("result", "A"), Agree: []NodeID{a}, Penalize: []NodeID{stranger}},
		"agrees and penalised":       {Status: Accepted, Result: CaseHash("result", "A"), Agree: []NodeID{a}, Penalize: []NodeID{a}},
		"undecided with a result":    {Status: Undecided, Result: CaseHash("result", "A")},
		"unknown status":             {Status: 7},
		"agreeing node listed twice": {Status: Accepted, Result: CaseHash("result", "A"), Agree: []NodeID{a, a}},
	} {
		got := Evaluate(liar{d}, c.JobInfo(), c.Signed())
		if got.Status != Undecided || len(got.Agree) > 0 || len(got.Penalize) > 0 {
			t.Errorf("%s: %+v", name, got)
		}
	}
}
