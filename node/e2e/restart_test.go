package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node"
)

// TestE2ERestart kills nodes mid-job (SIGKILL), a compute node in a first
// round and a coordinator in a second, and starts them again: each
// resyncs, every job still ends (settled, or expired with the client
// refunded), the chain's coins add up on every node, and the killed nodes'
// job records agree with their chains.
func TestE2ERestart(t *testing.T) {
	start := time.Now()
	c := newCluster(t, clusterOptions{Nodes: 5, CommitWindow: 8 * time.Second, RevealWindow: 5 * time.Second,
		SignWindow: 3 * time.Second})
	for i := range c.nodes {
		c.WaitBundle(i, 60*time.Second)
	}
	// A first job: every node is funded, holds the bundle and has it
	// compiled by then, so that what follows is about restarts (a node
	// fetching the bundle from a peer that is killed waits for its
	// connection to time out).
	warm := &testJob{req: jobRequest{Prompt: "warm up", MaxTokens: 8, Seed: 1, Replication: 3}, coord: 0}
	c.submitAll([]*testJob{warm})
	if v := c.WaitFinal(0, []string{warm.id}, 2*time.Minute)[warm.id]; v.Stage != string(node.StageSettled) {
		t.Fatalf("warm-up job ended %s:\n%s", v.Stage, v.historyString())
	}
	for i := range c.nodes {
		c.WaitBundle(i, 30*time.Second)
	}
	perRound := max(1, envInt("DNA_E2E_RESTART_JOBS", 6)/2)
	const deadline = 45 // s: a job that cannot be decided expires soon enough for the test
	var all []*testJob

	round := func(name string, victim int, coords []int, midJob func(jobs []*testJob) bool) {
		jobs := c.makeJobs(perRound, coords)
		for i, j := range jobs {
			j.req.DeadlineS = deadline
			j.req.Prompt = fmt.Sprintf("%s round, job %d", name, i)
		}
		c.submitAll(jobs)
		all = append(all, jobs...)
		// Kill the victim mid-job.
		c.waitFor(60*time.Second, fmt.Sprintf("node %d to be mid-job", victim), func() bool { return midJob(jobs) })
		killedAt := time.Now()
		c.Kill(victim)
		time.Sleep(1500 * time.Millisecond)
		c.Start(victim)
		up := time.Now()
		// The peers of a SIGKILLed node take its new connections at once
		// (a new netq session replaces the dead connection), so it is on
		// the others' tip within moments.
		ci := c.WaitSynced(45 * time.Second)
		t.Logf("%s round: node %d killed mid-job, restarted after %s, on the others' tip (height %d) %s after it served again",
			name, victim, up.Sub(killedAt).Round(time.Millisecond), ci.Tip.Height, time.Since(up).Round(time.Millisecond))
	}

	// Round 1: a compute node (node 4, coordinating nothing) is killed once
	// it has staked on a job that is not over.
	round("compute", 4, []int{0, 1, 2}, func(jobs []*testJob) bool {
		for _, j := range jobs {
			v, err := c.Job(4, j.id)
			if err == nil && v.Local != nil && v.Local.Staked && !v.Local.Revealed && !v.final() {
				return true
			}
		}
		// Node 4 lost every stake race: kill it once the jobs are taken.
		for _, j := range jobs {
			if v, err := c.Job(j.coord, j.id); err != nil || v.AcceptedAt == 0 {
				return false
			}
		}
		t.Logf("node 4 staked on none of the first round's jobs; killing it anyway")
		return true
	})
	// Round 2: a coordinator (node 3) is killed once one of its jobs is
	// accepted and before it is decided.
	round("coordinator", 3, []int{3}, func(jobs []*testJob) bool {
		for _, j := range jobs {
			if v, err := c.Job(3, j.id); err == nil && v.AcceptedAt != 0 && v.DecidedAt == 0 {
				return true
			}
		}
		return false
	})

	// Every job ends, on its coordinator and on the killed nodes.
	ids := map[int][]string{}
	var allIDs []string
	for _, j := range all {
		ids[j.coord] = append(ids[j.coord], j.id)
		allIDs = append(allIDs, j.id)
	}
	final := map[string]*jobView{}
	for coord, l := range ids {
		for id, v := range c.WaitFinal(coord, l, deadline*time.Second+90*time.Second) {
			final[id] = v
		}
	}
	settled := 0
	for _, j := range all {
		v := final[j.id]
		switch node.Stage(v.Stage) {
		case node.StageSettled:
			settled++
			checkDeterminism(t, j, v)
		case node.StageExpired:
			t.Logf("job %s (coordinator %d) expired:\n%s", j.id[:12], j.coord, v.historyString())
		default:
			t.Errorf("job %s ended %s", j.id[:12], v.Stage)
		}
	}
	// Every node that heard of a job closes it as its coordinator did,
	// the restarted ones included.
	for i := range c.nodes {
		var known []string
		for _, id := range allIDs {
			if _, err := c.Job(i, id); err == nil {
				known = append(known, id)
			}
		}
		for id, v := range c.WaitFinal(i, known, 60*time.Second) {
			if w := final[id]; v.Stage != w.Stage || v.Result != w.Result || v.BlockHeight != w.BlockHeight {
				t.Errorf("job %s: node %d says %s result %.12s block %d, its coordinator %s %.12s block %d",
					id[:12], i, v.Stage, v.Result, v.BlockHeight, w.Stage, w.Result, w.BlockHeight)
			}
		}
		if (i == 3 || i == 4) && len(known) < len(allIDs) {
			t.Logf("restarted node %d heard of %d of the %d jobs", i, len(known), len(allIDs))
		}
	}
	// The same supply and job counts on every node at one tip.
	c.waitFor(30*time.Second, "every node on one tip with the same supply", func() bool {
		var first *chainInfo
		for i := range c.nodes {
			ci, err := c.Chain(i)
			if err != nil {
				return false
			}
			if first == nil {
				first = &ci
				continue
			}
			if ci.Tip.Hash != first.Tip.Hash {
				return false
			}
			if ci.Supply != first.Supply || fmt.Sprint(ci.Jobs.Chain) != fmt.Sprint(first.Jobs.Chain) {
				t.Errorf("node %d at tip %d: supply %+v, jobs %v; node 0: %+v, %v", i, ci.Tip.Height, ci.Supply,
					ci.Jobs.Chain, first.Supply, first.Jobs.Chain)
			}
		}
		return true
	})
	t.Logf("%d jobs: %d settled, %d expired", len(all), settled, len(all)-settled)

	// Stopped, each node's chain adds up and ends the jobs as the others'
	// do, and its job records agree with it.
	c.stopAll()
	var ref map[keys.Hash]*chain.Job
	for i, p := range c.nodes {
		states := checkStoppedNode(t, i, p.dir, allIDs)
		if ref == nil {
			ref = states
			continue
		}
		for id, cj := range states {
			r := ref[id]
			if cj.State != r.State || cj.ResultHash != r.ResultHash || fmt.Sprint(cj.Agree) != fmt.Sprint(r.Agree) ||
				fmt.Sprint(cj.Stakes) != fmt.Sprint(r.Stakes) {
				t.Errorf("job %s: node %d's chain says %s %.12s agree %v, node 0's %s %.12s agree %v", id.String()[:12], i,
					cj.State, cj.ResultHash, cj.Agree, r.State, r.ResultHash, r.Agree)
			}
		}
	}
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

// checkStoppedNode opens a stopped node's chain and job store: the chain's
// invariants hold (every coin accounted for: nothing paid twice), each job
// is closed once, and the node's record of it matches the chain.
func checkStoppedNode(t *testing.T, i int, dir string, ids []string) map[keys.Hash]*chain.Job {
	t.Helper()
	ch := openChain(t, dir)
	defer ch.Close()
	if err := ch.CheckInvariants(); err != nil {
		t.Errorf("node %d's chain: %v", i, err)
	}
	db, err := pebble.Open(filepath.Join(dir, "jobs", chain.DevNet.Name), &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("node %d's job store: %v", i, err)
	}
	defer db.Close()
	out := map[keys.Hash]*chain.Job{}
	for _, s := range ids {
		id, err := keys.ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		cj, err := ch.Job(id)
		if err != nil {
			t.Errorf("node %d's chain: job %s: %v", i, s[:12], err)
			continue
		}
		out[id] = cj
		if cj.State != chain.JobSettled && cj.State != chain.JobExpired {
			t.Errorf("node %d's chain: job %s is %s", i, s[:12], cj.State)
		}
		b, closer, err := db.Get(append([]byte{'j'}, id[:]...))
		if errors.Is(err, pebble.ErrNotFound) {
			continue // the node never heard of the job (it was down when it was announced)
		}
		if err != nil {
			t.Errorf("node %d: record of job %s: %v", i, s[:12], err)
			continue
		}
		var r node.JobRecord
		err = json.Unmarshal(b, &r)
		closer.Close()
		if err != nil {
			t.Errorf("node %d: record of job %s: %v", i, s[:12], err)
			continue
		}
		want := map[chain.JobState]node.Stage{chain.JobSettled: node.StageSettled, chain.JobExpired: node.StageExpired}[cj.State]
		if r.Stage != want {
			t.Errorf("node %d: job %s is %s in its record, %s on its chain", i, s[:12], r.Stage, cj.State)
		}
		// Closed once, or again only after the chain reorganised.
		finals, closed, twice := 0, false, false
		for _, e := range r.History {
			switch {
			case e.Stage.Final():
				finals++
				twice = twice || closed
				closed = true
			case strings.HasPrefix(e.What, "the chain reorganised"):
				closed = false
			}
		}
		if finals == 0 || twice {
			var h string
			for _, e := range r.History {
				h += fmt.Sprintf("  %s %-10s %s\n", e.Time.Format("15:04:05.000"), e.Stage, e.What)
			}
			t.Errorf("node %d: job %s closed %d times in its record:\n%s", i, s[:12], finals, h)
		}
		if cj.State == chain.JobSettled {
			_, loc, err := ch.Tx(cj.ResultTx)
			if err != nil || r.Result != cj.ResultHash || r.ResultTx != cj.ResultTx || r.BlockHeight != loc.Height || r.BlockHash != loc.Block {
				t.Errorf("node %d: job %s recorded as %.12s in block %d, the chain has %.12s in block %d (%v)", i, s[:12],
					r.Result, r.BlockHeight, cj.ResultHash, loc.Height, err)
			}
		}
		// Who was paid what, as the chain settled it.
		agree := map[keys.Address]bool{}
		for _, a := range cj.Agree {
			agree[a] = true
		}
		for _, st := range cj.Stakes {
			var nv *node.NodeView
			for k := range r.Nodes {
				if r.Nodes[k].Address == st.Node.Encode(chain.DevNet.AddressVersion) {
					nv = &r.Nodes[k]
				}
			}
			switch {
			case nv == nil:
				t.Errorf("node %d: job %s: staker %x not in the record", i, s[:12], st.Node[:6])
			case cj.State == chain.JobSettled && agree[st.Node] && (nv.Paid <= 0 || !nv.Agree):
				t.Errorf("node %d: job %s: agreeing %s paid %d, agree %v", i, s[:12], nv.Address, nv.Paid, nv.Agree)
			case !agree[st.Node]:
				// Settled outside the agreement, or expired after every
				// stake was in: the stake went to the client. Expired
				// before that: it was returned.
				want := -int64(st.Amount)
				if cj.State == chain.JobExpired && len(cj.Stakes) < int(cj.Replication) {
					want = 0
				}
				if nv.Paid != want {
					t.Errorf("node %d: job %s: %s outside the agreement paid %d, want %d", i, s[:12], nv.Address, nv.Paid, want)
				}
			}
		}
	}
	return out
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
