package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node/proto"
)

// Update is what a watcher of a job receives: a new history event, a
// generated token (from this node's own computation), or the end.
type Update struct {
	Job    keys.Hash  `json:"job"`
	Stage  Stage      `json:"stage"`
	Event  *Event     `json:"event,omitempty"`
	Token  string     `json:"token,omitempty"`
	Index  int        `json:"index,omitempty"`
	Text   string     `json:"text,omitempty"` // the decided text, with the decision
	Final  bool       `json:"final,omitempty"`
	Record *JobRecord `json:"-"`
}

// SubmitRequest is a job a client asks this node to run and pay for from
// the node's own account (clients with an API key); clients that pay
// themselves sign a proto.Job and its escrow and use SubmitSigned.
type SubmitRequest struct {
	Bundle      keys.Hash
	Prompt      string
	MaxTokens   int
	Temperature float32
	TopK        int
	Seed        uint64
	Replication int           // default 1
	Reward      uint64        // default 1 coin
	MinStake    uint64        // default 0.1 coin
	Deadline    time.Duration // from now (default 2 min on devnet, 1 h elsewhere)
	Verify      string        // "rastic" (default) or "full"
	Samples     int
	Private     bool
}

// ErrBadJob reports a submission that cannot be run.
var ErrBadJob = errors.New("node: bad job")

// Submit builds, signs and pays for a job from the node's account, and
// coordinates it.
func (n *Node) Submit(ctx context.Context, req SubmitRequest) (*JobRecord, error) {
	if req.Replication == 0 {
		req.Replication = 1
	}
	if req.Reward == 0 {
		req.Reward = chain.Coin
	}
	if req.MinStake == 0 {
		req.MinStake = chain.Coin / 10
	}
	if req.Deadline == 0 {
		req.Deadline = time.Hour
		if n.p.Name == "devnet" {
			req.Deadline = 2 * time.Minute
		}
	}
	if req.MaxTokens <= 0 {
		req.MaxTokens = 64
	}
	if req.Replication > n.p.MaxReplication || req.Replication > 255 {
		return nil, fmt.Errorf("%w: replication %d above %d", ErrBadJob, req.Replication, n.p.MaxReplication)
	}
	mode := proto.VerifyRASTiC
	switch req.Verify {
	case "", "rastic":
	case "full":
		mode = proto.VerifyFull
	default:
		return nil, fmt.Errorf("%w: verification %q (rastic or full)", ErrBadJob, req.Verify)
	}
	// The deadline is in chain time, which trails the clock by about half
	// the median-time-past window.
	j := &proto.Job{Bundle: req.Bundle, Prompt: req.Prompt, MaxTokens: uint32(req.MaxTokens),
		Temperature: req.Temperature, TopK: uint32(max(req.TopK, 0)), Seed: req.Seed,
		Replication: uint8(req.Replication), Reward: req.Reward, MinStake: req.MinStake,
		Deadline: n.chain.MedianTimePast() + req.Deadline.Milliseconds(), Verify: mode,
		Samples: uint8(min(max(req.Samples, 0), 255)), Private: req.Private, Created: time.Now().UnixNano()}
	j.Sign(n.key)
	if err := j.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadJob, err)
	}
	e := j.Escrow()
	escrow, err := n.sendTx(chain.TxJobEscrow, j.ID(), &e)
	if err != nil {
		return nil, fmt.Errorf("node: escrow: %w", err)
	}
	return n.coordinate(j, escrow)
}

// SubmitSigned coordinates a job signed and paid for by its client.
func (n *Node) SubmitSigned(j *proto.Job, escrow *chain.Tx) (*JobRecord, error) {
	if err := j.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadJob, err)
	}
	if j.Private {
		return nil, fmt.Errorf("%w: a private job must be coordinated by a node holding the client key", ErrBadJob)
	}
	if err := j.CheckEscrow(escrow); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadJob, err)
	}
	if err := n.submitTx(escrow); err != nil {
		return nil, fmt.Errorf("node: escrow: %w", err)
	}
	return n.coordinate(j, escrow)
}

func (n *Node) coordinate(j *proto.Job, escrow *chain.Tx) (*JobRecord, error) {
	a := &proto.Announce{Job: j, Escrow: escrow.Encode()}
	a.Sign(n.key)
	b := a.Encode()
	if _, err := n.accept(a); err != nil {
		return nil, err
	}
	if err := n.net.Publish(netq.TopicJobs, b); err != nil {
		return nil, err
	}
	n.metrics.JobsCoordinated.Add(1)
	return n.Job(j.ID())
}

func (n *Node) validateAnnounce(_ netq.PeerID, b []byte) error {
	a, err := proto.DecodeAnnounce(b)
	if err != nil {
		return err
	}
	_, err = n.checkAnnounce(a)
	return err
}

// checkAnnounce verifies an announcement and that its escrow is a valid,
// signed transaction of this network (or the job could never be paid).
func (n *Node) checkAnnounce(a *proto.Announce) (*chain.Tx, error) {
	escrow, err := a.Check()
	if err != nil {
		return nil, err
	}
	if err := chain.CheckTxSanity(escrow, n.p, n.chain.GenesisHash()); err != nil {
		return nil, fmt.Errorf("%w: escrow: %v", proto.ErrEscrow, err)
	}
	return escrow, nil
}

func (n *Node) onAnnounce(b []byte) {
	a, err := proto.DecodeAnnounce(b)
	if err != nil {
		return
	}
	if _, err := n.accept(a); err != nil {
		n.log.Debug("announce", "err", err)
	}
}

// accept records a newly announced job.
func (n *Node) accept(a *proto.Announce) (*JobRecord, error) {
	escrow, err := n.checkAnnounce(a)
	if err != nil {
		return nil, err
	}
	id := a.Job.ID()
	model := ""
	n.modelsMu.Lock()
	if l, ok := n.models[a.Job.Bundle]; ok {
		model = l.b.Manifest().Name
	}
	n.modelsMu.Unlock()
	n.mu.Lock()
	if _, ok := n.jobs[id]; ok {
		n.mu.Unlock()
		return nil, nil
	}
	coord := fmt.Sprintf("%x", a.Coordinator)
	r := &JobRecord{ID: id, JobBytes: a.Job.Encode(), EscrowTx: escrow.Encode(), Coordinator: coord,
		Coordinating: coord == fmt.Sprintf("%x", n.pub), Bundle: a.Job.Bundle.String(), Prompt: a.Job.Prompt,
		Received: time.Now().UnixMilli(), Commits: map[string][]byte{}, Reveals: map[string][]byte{},
		CertSigs: map[string][]byte{}, Model: model}
	r.event(StageSubmitted, 0, "job %s announced by %s: %d tokens, replication %d, reward %d", id.String()[:12],
		coord[:12], a.Job.MaxTokens, a.Job.Replication, a.Job.Reward)
	n.jobs[id] = r
	pend := n.pending[id]
	delete(n.pending, id)
	err = n.jobdb.put(r)
	n.notifyLocked(r, r.History[len(r.History)-1:], nil)
	c := r.clone() // under the lock: the reconciler may change r at once
	n.mu.Unlock()
	n.metrics.JobsSeen.Add(1)
	if err != nil {
		return nil, err
	}
	if !n.pool.Has(escrow.ID()) {
		_ = n.pool.Add(escrow) // may be in a block already
	}
	if pend != nil {
		for _, m := range pend.msgs {
			n.onJobMessage(m)
		}
	}
	return c, nil
}

// update applies f to a job's record under the lock, persists it and
// tells watchers what f added to the history.
func (n *Node) update(id keys.Hash, f func(r *JobRecord) error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.jobs[id]
	if !ok {
		return errNoJob
	}
	before := len(r.History)
	old, _ := json.Marshal(r)
	if err := f(r); err != nil {
		return err
	}
	if now, _ := json.Marshal(r); bytes.Equal(old, now) {
		return nil // nothing changed: no write
	}
	if err := n.jobdb.put(r); err != nil {
		n.log.Error("persist job", "job", id.String()[:12], "err", err)
		return err
	}
	n.notifyLocked(r, r.History[before:], nil)
	return nil
}

func (n *Node) notifyLocked(r *JobRecord, evs []Event, extra *Update) {
	send := func(u Update) {
		for ch := range n.watchers[r.ID] {
			select {
			case ch <- u:
			default: // a slow watcher loses updates rather than stalling the node
			}
		}
		for ch := range n.allWatch {
			select {
			case ch <- u:
			default:
			}
		}
	}
	for i := range evs {
		e := evs[i]
		send(Update{Job: r.ID, Stage: r.Stage, Event: &e, Final: r.Stage.Final(), Text: textIfDecided(r, e)})
	}
	if extra != nil {
		extra.Job, extra.Stage = r.ID, r.Stage
		send(*extra)
	}
}

func textIfDecided(r *JobRecord, e Event) string {
	if e.Stage == StageDecided {
		return r.Text
	}
	return ""
}

// Watch streams a job's updates (all jobs' when id is zero) until cancel.
func (n *Node) Watch(id keys.Hash) (<-chan Update, func()) {
	ch := make(chan Update, 1024)
	n.mu.Lock()
	if id.IsZero() {
		n.allWatch[ch] = struct{}{}
	} else {
		if n.watchers[id] == nil {
			n.watchers[id] = map[chan Update]struct{}{}
		}
		n.watchers[id][ch] = struct{}{}
	}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(n.allWatch, ch)
		delete(n.watchers[id], ch)
		if len(n.watchers[id]) == 0 {
			delete(n.watchers, id)
		}
		n.mu.Unlock()
	}
}

// Job returns a copy of a job's record.
func (n *Node) Job(id keys.Hash) (*JobRecord, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.jobs[id]
	if !ok {
		return nil, errNoJob
	}
	return r.clone(), nil
}

// Jobs returns the most recently received jobs, newest first.
func (n *Node) Jobs(limit int) []*JobRecord {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*JobRecord, 0, len(n.jobs))
	for _, r := range n.jobs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Received > out[j].Received })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i] = out[i].clone()
	}
	return out
}

// JobCounts counts jobs by stage.
func (n *Node) JobCounts() map[Stage]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := map[Stage]int{}
	for _, r := range n.jobs {
		m[r.Stage]++
	}
	return m
}

// onJobMessage files a commit, reveal, decision or certificate signature
// with its job (holding it back if the job's announcement has not come).
func (n *Node) onJobMessage(b []byte) {
	if len(b) < 1+32 {
		return
	}
	var id keys.Hash
	copy(id[:], b[1:33])
	n.mu.Lock()
	if _, ok := n.jobs[id]; !ok {
		p := n.pending[id]
		if p == nil {
			if len(n.pending) > 4096 {
				n.mu.Unlock()
				return
			}
			p = &pendingMsgs{}
			n.pending[id] = p
		}
		if len(p.msgs) < 256 {
			p.msgs = append(p.msgs, b)
		}
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	kind, body := b[0], b[1:]
	switch kind {
	case kindCommit:
		c, err := proto.DecodeCommit(body)
		if err != nil || c.Check() != nil {
			return
		}
		_ = n.update(id, func(r *JobRecord) error {
			k := fmt.Sprintf("%x", c.Node)
			if _, dup := r.Commits[k]; dup {
				return nil
			}
			if len(r.Reveals) > 0 {
				// Once any result is public a commit proves nothing: it
				// could seal a copy.
				r.event("", 0, "late commit from %s ignored (reveals had begun)", n.short(c.Address()))
				return nil
			}
			r.Commits[k] = body
			v := r.nodeView(c.Address(), n)
			v.Node, v.Committed = k, true
			r.event("", 0, "commit from %s", n.short(c.Address()))
			return nil
		})
	case kindReveal:
		m, err := proto.DecodeReveal(body)
		if err != nil || m.Check() != nil {
			return
		}
		_ = n.update(id, func(r *JobRecord) error {
			k := fmt.Sprintf("%x", m.Node)
			if _, dup := r.Reveals[k]; dup {
				return nil
			}
			r.Reveals[k] = body
			v := r.nodeView(keys.Address(keys.Hash160(m.Node)), n)
			v.Node, v.Revealed = k, true
			r.event("", 0, "reveal from %s", n.short(keys.Address(keys.Hash160(m.Node))))
			return nil
		})
	case kindDecision:
		d, err := proto.DecodeDecision(body)
		if err != nil || d.Check() != nil {
			return
		}
		n.onDecision(id, d, body)
	case kindCertSig:
		c, err := proto.DecodeCertSig(body)
		if err != nil {
			return
		}
		_ = n.update(id, func(r *JobRecord) error {
			k := fmt.Sprintf("%x", c.Node)
			if _, dup := r.CertSigs[k]; dup || r.Decision == nil {
				return nil
			}
			cert, err := r.certificate()
			if err != nil {
				return nil
			}
			pub, err := keys.ParsePublicKey(c.Node)
			if err != nil || pub.VerifyDomain("certificate", cert.SignedBytes(), c.Sig) != nil {
				return nil
			}
			r.CertSigs[k] = body
			v := r.nodeView(pub.Address(), n)
			v.Signed = true
			r.event("", 0, "certificate signed by %s", n.short(pub.Address()))
			return nil
		})
	}
}

func (n *Node) short(a keys.Address) string {
	s := n.Address(a)
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// nodeView finds or adds the view of the node with account a.
func (r *JobRecord) nodeView(a keys.Address, n *Node) *NodeView {
	s := n.Address(a)
	for i := range r.Nodes {
		if r.Nodes[i].Address == s {
			return &r.Nodes[i]
		}
	}
	r.Nodes = append(r.Nodes, NodeView{Address: s})
	return &r.Nodes[len(r.Nodes)-1]
}
