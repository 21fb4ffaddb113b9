package e2e

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/node"
)

// testJob is a job the tests submit, with the request kept for the local
// reference run.
type testJob struct {
	req   jobRequest
	coord int
	id    string
}

// makeJobs makes k jobs spread over the coordinators: different prompts
// and seeds, greedy and sampled.
func (c *cluster) makeJobs(k int, coords []int) []*testJob {
	prompts := []string{"once upon a time", "the cat sat on", "hello world", "a small model", "in the morning",
		"she said that", "why is the sky", "tell me about"}
	var out []*testJob
	for i := range k {
		r := jobRequest{Prompt: fmt.Sprintf("%s %d", prompts[i%len(prompts)], i), MaxTokens: 12 + i%3*4,
			Seed: uint64(1000 + 7*i), Replication: 3}
		if i%2 == 1 {
			r.Temperature = 0.8
			r.TopK = []int{0, 5, 40}[i/2%3]
		}
		out = append(out, &testJob{req: r, coord: coords[i%len(coords)]})
	}
	return out
}

// submitAll submits jobs to their coordinators (waiting for funds).
func (c *cluster) submitAll(jobs []*testJob) {
	c.tb.Helper()
	for _, j := range jobs {
		v := c.SubmitWhenFunded(j.coord, j.req, 2*time.Minute)
		j.id = v.ID
		if v.Stage != string(node.StageSubmitted) || !v.Coordinating {
			c.tb.Fatalf("job %s on node %d: stage %s, coordinating %v", v.ID, j.coord, v.Stage, v.Coordinating)
		}
	}
}

// checkDeterminism compares a decided result with a local run.
func checkDeterminism(t testing.TB, j *testJob, v *jobView) {
	t.Helper()
	res, hash := localRun(t, j.req.Prompt, j.req.MaxTokens, float32(j.req.Temperature), j.req.TopK, j.req.Seed)
	if !slices.Equal(res.Tokens, v.Tokens) {
		t.Errorf("job %s: decided tokens %v, a local run gives %v", j.id[:12], v.Tokens, res.Tokens)
	}
	if v.Result != hash.String() {
		t.Errorf("job %s: decided result %s, a local run's is %s", j.id[:12], v.Result, hash)
	}
}

func TestE2EFiveNodes(t *testing.T) {
	start := time.Now()
	c := newCluster(t, clusterOptions{Nodes: 5})
	k := envInt("DNA_E2E_JOBS", 20)
	jobs := c.makeJobs(k, []int{0, 1, 2, 3, 4})
	recs, elapsed := c.runBatch(jobs)
	stats := newPhaseStats()
	var slow *jobView
	var slowMs float64
	slowCoord := 0
	for _, j := range jobs {
		v := recs[j.id]
		if v.Stage != string(node.StageSettled) {
			t.Errorf("job %s on node %d ended %s:\n%s", j.id[:12], j.coord, v.Stage, v.historyString())
			continue
		}
		if v.BlockHeight == 0 || v.ResultTx == "" || v.BlockHash == "" {
			t.Errorf("job %s: settled without a recorded result (block %d, tx %q)", j.id[:12], v.BlockHeight, v.ResultTx)
		}
		var agree, stakers []string
		for _, nv := range v.Nodes {
			// Nodes that lost the race for a stake (or whose stake a
			// reorganisation took out) may be in the record too.
			if nv.Stake == 0 {
				if nv.Agree || nv.Paid != 0 {
					t.Errorf("job %s: non-staker %s agree %v paid %d", j.id[:12], nv.Address, nv.Agree, nv.Paid)
				}
				continue
			}
			stakers = append(stakers, nv.Address)
			if nv.Revealed && (!nv.Agree || nv.Verification != "verified") {
				t.Errorf("job %s: node %s revealed but agree=%v verification=%q failed=%q", j.id[:12], nv.Address, nv.Agree, nv.Verification, nv.Failed)
			}
			if nv.Agree {
				agree = append(agree, nv.Address)
				if nv.Paid <= 0 {
					t.Errorf("job %s: agreeing node %s paid %d:\n%s", j.id[:12], nv.Address, nv.Paid, v.historyString())
				}
			}
		}
		if len(stakers) != 3 {
			t.Errorf("job %s: %d stakers, want 3", j.id[:12], len(stakers))
		}
		if len(agree) < 2 {
			t.Errorf("job %s: %d agreeing nodes", j.id[:12], len(agree))
		} else if len(agree) < 3 {
			t.Logf("job %s: only %d of 3 stakers agreed:\n%s", j.id[:12], len(agree), v.historyString())
		}
		checkDeterminism(t, j, v)
		c.crossCheck(t, j, v, agree)
		p := c.phasesWithCompute(v)
		stats.add(p)
		if p.Total > slowMs {
			slow, slowMs, slowCoord = v, p.Total, j.coord
		}
	}
	t.Logf("%d jobs, replication 3, 5 nodes: all final %s after the first submission (%.1f jobs/min)", k,
		elapsed.Round(time.Millisecond), float64(k)/elapsed.Minutes())
	t.Logf("%s", stats)
	if slow != nil {
		t.Logf("slowest job %s (%.0f ms), coordinator %d:\n%s", slow.ID[:12], slowMs, slowCoord, slow.historyString())
	}
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

// runBatch submits jobs once every node knows the bundle (each waiting for
// its coordinator's funds) and waits until each is final on its
// coordinator. It returns the coordinators' records and the time from the
// first submission to the last job's end.
func (c *cluster) runBatch(jobs []*testJob) (map[string]*jobView, time.Duration) {
	c.tb.Helper()
	for i := range c.nodes {
		c.WaitBundle(i, 60*time.Second)
	}
	t0 := time.Now()
	c.submitAll(jobs)
	c.tb.Logf("%d jobs submitted in %s (the cluster started %s earlier)", len(jobs), time.Since(t0).Round(time.Millisecond),
		t0.Sub(c.start).Round(time.Millisecond))
	byCoord := map[int][]string{}
	for _, j := range jobs {
		byCoord[j.coord] = append(byCoord[j.coord], j.id)
	}
	recs := map[string]*jobView{}
	for coord, ids := range byCoord {
		for id, v := range c.WaitFinal(coord, ids, 4*time.Minute) {
			recs[id] = v
		}
	}
	var last int64
	for _, v := range recs {
		last = max(last, v.ClosedAt)
	}
	elapsed := time.Since(t0)
	if last > 0 {
		elapsed = time.UnixMilli(last).Sub(t0)
	}
	return recs, elapsed
}

// phasesWithCompute is phasesOf with the agreeing nodes' mean compute time
// from their own records.
func (c *cluster) phasesWithCompute(v *jobView) phases {
	p := phasesOf(v)
	for i, n := range c.nodes {
		if nv := v.view(n.address); nv == nil || !nv.Agree {
			continue
		}
		if o, err := c.Job(i, v.ID); err == nil && o.Local != nil && o.Local.Computed {
			p.Compute += o.computeMs()
			p.ComputeN++
		}
	}
	if p.ComputeN > 0 {
		p.Compute /= float64(p.ComputeN)
	}
	return p
}

// crossCheck compares the coordinator's record of a settled job with
// another node's record and with the block that holds the result.
func (c *cluster) crossCheck(t testing.TB, j *testJob, v *jobView, agree []string) {
	t.Helper()
	other := (j.coord + 1) % len(c.nodes)
	o := c.WaitFinal(other, []string{j.id}, 30*time.Second)[j.id]
	if o.Stage != v.Stage || o.Result != v.Result || o.BlockHeight != v.BlockHeight || o.BlockHash != v.BlockHash || o.ResultTx != v.ResultTx {
		t.Errorf("job %s: node %d says %s result %.12s block %d %.12s tx %.12s, node %d says %s result %.12s block %d %.12s tx %.12s",
			j.id[:12], j.coord, v.Stage, v.Result, v.BlockHeight, v.BlockHash, v.ResultTx,
			other, o.Stage, o.Result, o.BlockHeight, o.BlockHash, o.ResultTx)
	}
	for _, nv := range v.Nodes {
		if nv.Stake == 0 {
			continue
		}
		if ov := o.view(nv.Address); ov == nil || ov.Stake != nv.Stake || ov.Paid != nv.Paid || ov.Agree != nv.Agree {
			t.Errorf("job %s: node %d's view of %s differs from the coordinator's: %+v vs %+v", j.id[:12], other, nv.Address, ov, nv)
		}
	}
	var blk blockView
	if err := c.get(other, fmt.Sprintf("/api/blocks/%d", v.BlockHeight), &blk); err != nil {
		t.Errorf("job %s: block %d on node %d: %v", j.id[:12], v.BlockHeight, other, err)
		return
	}
	if !blk.BestChain {
		t.Errorf("job %s: block %d not on node %d's best chain", j.id[:12], v.BlockHeight, other)
	}
	found := false
	for _, tx := range blk.Transactions {
		if tx.ID != v.ResultTx {
			continue
		}
		found = true
		if tx.Type != chain.TxResult.String() || tx.Job != j.id {
			t.Errorf("job %s: tx %s is a %s for job %s", j.id[:12], tx.ID[:12], tx.Type, tx.Job)
		}
		var onChain []string
		if a, ok := tx.Body["agree"].([]any); ok {
			for _, s := range a {
				onChain = append(onChain, fmt.Sprint(s))
			}
		}
		want := append([]string(nil), agree...)
		sort.Strings(want)
		sort.Strings(onChain)
		if !slices.Equal(want, onChain) {
			t.Errorf("job %s: the result tx names agreeing nodes %v, the record %v", j.id[:12], onChain, want)
		}
		if tx.Body["result"] != v.Result {
			t.Errorf("job %s: the result tx records %v, the record %s", j.id[:12], tx.Body["result"], v.Result)
		}
	}
	if !found {
		t.Errorf("job %s: result tx %s not in block %d", j.id[:12], v.ResultTx, v.BlockHeight)
	}
}
