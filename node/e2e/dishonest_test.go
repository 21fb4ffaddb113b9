package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/node"
)

// TestE2EDishonest runs one job per dishonest behavior on three nodes with
// replication 3, node 2 being the dishonest one: the two honest nodes'
// result is decided, and node 2 is caught, left out and loses its stake.
func TestE2EDishonest(t *testing.T) {
	start := time.Now()
	c := newCluster(t, clusterOptions{Nodes: 3, CommitWindow: 6 * time.Second, RevealWindow: 3 * time.Second})
	for i := range c.nodes {
		c.WaitBundle(i, 60*time.Second)
	}
	// An honest job first: every node is funded by then, and node 2 has
	// fetched the bundle (after a restart it would otherwise wait for the
	// next announcement to learn where to get it).
	c.WaitFunds(chain.Coin, 2*time.Minute)
	warm := &testJob{req: jobRequest{Prompt: "warm up", MaxTokens: 8, Seed: 1, Replication: 3}, coord: 0}
	c.submitAll([]*testJob{warm})
	if v := c.WaitFinal(0, []string{warm.id}, 2*time.Minute)[warm.id]; v.Stage != string(node.StageSettled) {
		t.Fatalf("honest job ended %s:\n%s", v.Stage, v.historyString())
	}
	t.Logf("honest warm-up job settled %s after the cluster started", time.Since(start).Round(time.Millisecond))

	// Node 2 mines no more, so that its balance moves only with its jobs.
	c.nodes[2].mine = false
	dishonest := c.nodes[2].address
	cases := []struct {
		behavior string
		caught   func(nv *node.NodeView) bool
	}{
		{"lazy", refuted("continuity", "integrity", "truncation")},
		{"copy", refuted("seal")},
		{"silent", func(nv *node.NodeView) bool { return nv.Committed && !nv.Revealed && nv.Failed == "no reveal" }},
		{"truncate", refuted("continuity", "integrity", "truncation")},
	}
	for k, tc := range cases {
		t.Run(tc.behavior, func(t *testing.T) {
			t0 := time.Now()
			c.Restart(2, tc.behavior)
			// Node 2 must hear the job's announcement: wait until it is
			// connected and on the others' chain.
			c.waitFor(30*time.Second, "node 2 to reconnect", func() bool {
				var info nodeInfo
				return c.get(2, "/api/node", &info) == nil && info.Peers >= 2
			})
			c.WaitSynced(30 * time.Second)
			before := c.NodeInfo(2).Balance
			j := &testJob{req: jobRequest{Prompt: "the " + tc.behavior + " node says", MaxTokens: 16, Seed: uint64(77 + k),
				Replication: 3}, coord: 0}
			if k%2 == 1 {
				j.req.Temperature, j.req.TopK = 0.9, 20
			}
			c.submitAll([]*testJob{j})
			v := c.WaitFinal(0, []string{j.id}, 2*time.Minute)[j.id]
			if v.Stage != string(node.StageSettled) {
				t.Fatalf("job ended %s:\n%s", v.Stage, v.historyString())
			}
			defer func() {
				if t.Failed() {
					t.Logf("coordinator's history:\n%s", v.historyString())
				}
			}()
			// The decided result is node 0's own honest one, and a local run's.
			if own, ok := v.localResult(); !ok || own.String() != v.Result {
				t.Errorf("decided result %.12s, node 0's own %.12s (computed %v)", v.Result, own, ok)
			}
			checkDeterminism(t, j, v)
			var stake uint64
			for i, p := range c.nodes {
				nv := v.view(p.address)
				if nv == nil {
					t.Fatalf("node %d (%s) not in the record", i, p.address)
				}
				if nv.Stake == 0 {
					t.Errorf("node %d did not stake", i)
				}
				if i < 2 {
					if !nv.Agree || nv.Paid <= 0 || nv.Verification != "verified" {
						t.Errorf("honest node %d: agree %v paid %d verification %q", i, nv.Agree, nv.Paid, nv.Verification)
					}
					continue
				}
				stake = nv.Stake
				if nv.Agree {
					t.Errorf("the %s node is in the agreement", tc.behavior)
				}
				if !tc.caught(nv) {
					t.Errorf("the %s node was not caught as expected: committed %v revealed %v verification %q failed %q",
						tc.behavior, nv.Committed, nv.Revealed, nv.Verification, nv.Failed)
				}
				if nv.Paid != -int64(nv.Stake) {
					t.Errorf("the %s node paid %d, want −%d (its stake)", tc.behavior, nv.Paid, nv.Stake)
				}
			}
			// Its balance: down by its stake and the stake transaction's fee.
			// Node 2's own record of the job must close first.
			c.WaitFinal(2, []string{j.id}, 30*time.Second)
			c.WaitSynced(30 * time.Second)
			after := c.NodeInfo(2).Balance
			const fee = 1000
			if want := before - stake - fee; after != want {
				t.Errorf("node 2's balance went from %d to %d (%+d), want %d (−stake %d −fee %d)", before, after,
					int64(after)-int64(before), want, stake, fee)
			}
			// Another node's record agrees.
			o := c.WaitFinal(1, []string{j.id}, 30*time.Second)[j.id]
			if nv := o.view(dishonest); o.Result != v.Result || nv == nil || nv.Agree || nv.Paid != -int64(stake) {
				t.Errorf("node 1's record: result %.12s, node 2's view %+v", o.Result, nv)
			}
			t.Logf("%s node caught (%s), job settled in %s", tc.behavior, describe(v.view(dishonest)),
				time.Since(t0).Round(time.Millisecond))
		})
	}
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

func refuted(checks ...string) func(nv *node.NodeView) bool {
	return func(nv *node.NodeView) bool {
		return nv.Revealed && nv.Verification == "refuted" && slices.Contains(checks, nv.Failed)
	}
}

func describe(nv *node.NodeView) string {
	if nv == nil {
		return "no view"
	}
	s := "revealed=" + boolStr(nv.Revealed) + " verification=" + nv.Verification + " failed=" + nv.Failed
	return s
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
