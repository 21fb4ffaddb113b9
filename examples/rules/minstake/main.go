// Command minstake is a consensus rule: a strict majority of the job's
// replicas, counting only nodes that bonded at least the bundle's
// min_stake (a parameter in the manifest's consensus params). Nodes below
// the minimum are neither counted nor penalised.
package main

import (
	"strconv"

	"github.com/dnahost/dnahost/guest-sdk/consensus"
)

func decide(in *consensus.Input) consensus.Decision {
	minStake, err := strconv.ParseUint(in.Params["min_stake"], 10, 64)
	if err != nil {
		return consensus.Undecide("min_stake parameter missing or not a number")
	}
	valid, penalize := consensus.Normalize(in)
	var staked []consensus.Entry
	for _, e := range valid {
		if e.Stake >= minStake {
			staked = append(staked, e)
		}
	}
	n := in.Replication
	if n == 0 {
		n = len(valid) + len(penalize)
	}
	tallies := consensus.TallyResults(staked)
	for i, t := range tallies {
		if 2*len(t.Nodes) > n {
			return consensus.Accept(tallies, i, strconv.Itoa(len(t.Nodes))+" staked nodes of "+strconv.Itoa(n)+" agree", penalize...)
		}
	}
	return consensus.Undecide("no strict majority among nodes with stake ≥ "+in.Params["min_stake"], penalize...)
}

func init() { consensus.Register(decide) }

func main() {}
