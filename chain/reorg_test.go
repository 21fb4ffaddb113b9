package chain_test

import (
	"fmt"
	"testing"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
)

// Competing branches of depth 1, 10 and 100: the chain switches to the one
// with more work and back, and after each switch its state (balances,
// nonces, jobs, stakes, escrows, queues, supply) is exactly that of a
// chain that only ever saw the winning branch, and of a replay from
// genesis.
func TestReorgDepths(t *testing.T) {
	for _, depth := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("depth=%d", depth), func(t *testing.T) {
			if testing.Short() && depth == 100 {
				t.Skip("depth 100 in -short")
			}
			a := chaintest.Open(t, nil)
			common := chaintest.NewWorkload(1, 6)
			common.Fund(a)
			for i := 0; i < 40; i++ {
				common.Step(a)
			}
			fork := a.Chain.Tip().Height

			// b shares the history, then grows a longer branch of its own.
			b := chaintest.Open(t, nil)
			b.Clock.Set(a.Clock.Now())
			b.Replay(a.Chain, 1, fork)
			// a' keeps a's own branch for the switch back.
			a2 := chaintest.Open(t, nil)
			a2.Clock.Set(a.Clock.Now())
			a2.Replay(a.Chain, 1, fork)

			wa, wb := chaintest.NewWorkload(2, 6), chaintest.NewWorkload(3, 6)
			for i := 0; i < depth; i++ {
				wa.Step(a)
			}
			a2.Replay(a.Chain, fork+1, fork+uint64(depth))
			for i := 0; i < depth+1; i++ {
				wb.Step(b)
			}
			if a.Digest() == b.Digest() {
				t.Fatal("the branches did not diverge")
			}

			// Feed b's branch to a: the last block makes it heavier.
			var last *chain.ProcessResult
			if b.Clock.Now().After(a.Clock.Now()) {
				a.Clock.Set(b.Clock.Now())
			}
			for h := fork + 1; h <= b.Chain.Tip().Height; h++ {
				blk, _ := b.Chain.BlockByHeight(h)
				res, err := a.Chain.ProcessBlock(blk)
				if err != nil {
					t.Fatalf("branch block %d: %v", h, err)
				}
				last = res
			}
			if !last.Reorg || last.Detached != depth || last.Attached != depth+1 {
				t.Fatalf("switch: %+v", last)
			}
			sameState(t, a, b, "after switching to the heavier branch")

			// a' grows its branch by two: a switches back.
			wa2 := chaintest.NewWorkload(4, 6)
			wa2.Step(a2)
			wa2.Step(a2)
			if a2.Clock.Now().After(a.Clock.Now()) {
				a.Clock.Set(a2.Clock.Now())
			}
			for h := fork + uint64(depth) + 1; h <= a2.Chain.Tip().Height; h++ {
				blk, _ := a2.Chain.BlockByHeight(h)
				if _, err := a.Chain.ProcessBlock(blk); err != nil {
					t.Fatalf("switch-back block %d: %v", h, err)
				}
			}
			sameState(t, a, a2, "after switching back")
			// The workload must have reached every job state for the
			// test to mean something.
			if depth == 100 {
				counts, _ := a.Chain.JobCounts()
				for _, st := range []chain.JobState{chain.JobCreated, chain.JobCompleted, chain.JobSettled, chain.JobDisputed, chain.JobExpired} {
					if counts[st] == 0 {
						t.Errorf("no job %s in the workload: %v", st, counts)
					}
				}
			}
		})
	}
}

// sameState checks a has want's tip and state, and that replaying a's best
// chain from genesis gives that state too.
func sameState(t *testing.T, a, want *chaintest.Env, when string) {
	t.Helper()
	if a.Chain.Tip().Hash != want.Chain.Tip().Hash {
		t.Fatalf("%s: tip %d, want %d", when, a.Chain.Tip().Height, want.Chain.Tip().Height)
	}
	if a.Digest() != want.Digest() {
		t.Fatalf("%s: state differs from the chain that only saw this branch", when)
	}
	r := chaintest.Open(t, nil)
	r.Replay(a.Chain, 1, a.Chain.Tip().Height)
	if r.Digest() != a.Digest() {
		t.Fatalf("%s: state differs from a replay from genesis", when)
	}
	if err := a.Chain.CheckInvariants(); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	counts, err := a.Chain.JobCounts()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: height %d, jobs %v", when, a.Chain.Tip().Height, counts)
}
