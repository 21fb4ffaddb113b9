// Command presets re-implements the network's preset rules as a guest
// module, independently of the host's code, selected by the parameter
// "preset" (and "k" for quorum). The differential test requires both to
// decide identically on thousands of random inputs.
package main

import (
	"strconv"

	"github.com/dnahost/dnahost/guest-sdk/consensus"
)

func decide(in *consensus.Input) consensus.Decision {
	valid, penalize := consensus.Normalize(in)
	tallies := consensus.TallyResults(valid)
	n := in.Replication
	if n == 0 {
		n = len(valid) + len(penalize)
	}
	if len(tallies) == 0 {
		return consensus.Undecide("no valid commitments", penalize...)
	}
	preset := in.Params["preset"]
	switch preset {
	case "first-verified":
		for _, e := range valid {
			if e.Verification != consensus.Verified {
				continue
			}
			for i, t := range tallies {
				if t.Result == e.Result {
					return consensus.Accept(tallies, i, "first verified", penalize...)
				}
			}
		}
		return consensus.Undecide("nothing verified", penalize...)
	case "stake-majority":
		var total consensus.Stake
		best := 0
		for i, t := range tallies {
			total = add(total, t.Stake)
			if tallies[best].Stake.Less(t.Stake) {
				best = i
			}
		}
		// 2·best > total, in 128 bits.
		b := tallies[best].Stake
		twice := consensus.Stake{Hi: b.Hi<<1 | b.Lo>>63, Lo: b.Lo << 1}
		if total.Less(twice) {
			return consensus.Accept(tallies, best, "stake majority", penalize...)
		}
		return consensus.Undecide("no stake majority", penalize...)
	case "unanimous":
		if len(tallies) > 1 {
			return consensus.Undecide("disagreement", penalize...)
		}
	}
	var need int
	switch preset {
	case "majority":
		need = n/2 + 1
	case "supermajority":
		need = (2*n + 2) / 3
	case "quorum":
		k, err := strconv.Atoi(in.Params["k"])
		if err != nil || k < 1 {
			return consensus.Undecide("bad k")
		}
		need = k
	case "unanimous":
		need = n
	default:
		return consensus.Undecide("unknown preset " + preset)
	}
	counts := make([]int, len(tallies))
	top := 0
	for i, t := range tallies {
		counts[i] = len(t.Nodes)
		top = max(top, counts[i])
	}
	if top < need {
		return consensus.Undecide("not enough agreement", penalize...)
	}
	win := -1
	for i, c := range counts {
		if c == top {
			if win >= 0 {
				return consensus.Undecide("tie", penalize...)
			}
			win = i
		}
	}
	return consensus.Accept(tallies, win, "agreement", penalize...)
}

func add(a, b consensus.Stake) consensus.Stake {
	s := a.Plus(b.Lo)
	s.Hi += b.Hi
	return s
}

func init() { consensus.Register(decide) }

func main() {}
