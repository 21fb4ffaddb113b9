// Command digestmatch is a consensus rule: accept a result only when a
// strict majority of the replicas revealed it and a verifier recomputed its
// tokens and its digest (Verification == Verified). Committing is not
// enough: only a result whose digest also matches counts.
package main

import (
	"strconv"

	"github.com/dnahost/dnahost/guest-sdk/consensus"
)

func decide(in *consensus.Input) consensus.Decision {
	valid, penalize := consensus.Normalize(in)
	var checked []consensus.Entry
	for _, e := range valid {
		if e.Revealed && e.Verification == consensus.Verified {
			checked = append(checked, e)
		}
	}
	n := in.Replication
	if n == 0 {
		n = len(valid) + len(penalize)
	}
	tallies := consensus.TallyResults(checked)
	for i, t := range tallies {
		if 2*len(t.Nodes) > n {
			// Generation is deterministic: whoever committed anything else,
			// checked or not, is wrong.
			for _, e := range valid {
				if e.Result != t.Result {
					penalize = append(penalize, e.Node)
				}
			}
			return consensus.Accept(tallies, i, strconv.Itoa(len(t.Nodes))+" of "+strconv.Itoa(n)+" replicas revealed a verified result", penalize...)
		}
	}
	return consensus.Undecide(strconv.Itoa(len(checked))+" verified reveals so far; a majority of "+strconv.Itoa(n)+" needed", penalize...)
}

func init() { consensus.Register(decide) }

func main() {}
