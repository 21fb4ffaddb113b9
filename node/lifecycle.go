package node

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node/proto"
	"github.com/dnahost/dnahost/runtime"
)

// reconcileLoop drives every open job from its persisted record and the
// chain's state. It is the only place jobs advance, so a restarted node
// resumes exactly where the record says.
func (n *Node) reconcileLoop() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	inflight := map[keys.Hash]bool{}
	done := make(chan keys.Hash, 64)
	for {
		select {
		case <-n.ctx.Done():
			return
		case id := <-done:
			delete(inflight, id)
			continue
		case <-t.C:
		}
		n.releaseDeadTxs(time.Now())
		n.mu.Lock()
		var ids []keys.Hash
		for id, r := range n.jobs {
			if (!r.Stage.Final() || n.recheck[id]) && !inflight[id] {
				ids = append(ids, id)
				delete(n.recheck, id)
			}
		}
		n.mu.Unlock()
		for _, id := range ids {
			inflight[id] = true
			// Tracked by wg: Close waits for it before closing the stores
			// it uses.
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				if err := n.advance(id); err != nil && n.ctx.Err() == nil {
					n.log.Debug("advance", "job", id.String()[:12], "err", err)
				}
				select {
				case done <- id:
				case <-n.ctx.Done():
				}
			}()
		}
	}
}

// advance takes every step a job's state allows now.
func (n *Node) advance(id keys.Hash) error {
	r, err := n.Job(id)
	if err != nil {
		return err
	}
	j, err := r.Job()
	if err != nil {
		return err
	}
	cj, err := n.chain.Job(id)
	if errors.Is(err, chain.ErrNotFound) {
		cj = nil
	} else if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	if r.Stage.Final() {
		// Only a reorganisation brings a closed job here.
		return n.recheckClosed(id, j, cj, now)
	}
	if err := n.observeChain(r, j, cj, now); err != nil {
		return err
	}
	if r, err = n.Job(id); err != nil || r.Stage.Final() {
		return err
	}
	if cj == nil {
		// Not in a block yet: keep the escrow in the pool (a restart
		// empties it), unless its deadline has passed.
		if r.Coordinating && now < j.Deadline {
			if tx, err := chain.DecodeTx(r.EscrowTx); err == nil && !n.pool.Has(tx.ID()) {
				_ = n.submitTx(tx)
			}
		}
		return nil
	}
	if n.cfg.Compute {
		if err := n.computeSteps(r, j, cj, now); err != nil {
			return err
		}
		if err := n.maybeDispute(r, j, cj); err != nil {
			return err
		}
	}
	if r.Coordinating {
		return n.coordinatorSteps(id, j, cj, now)
	}
	return nil
}

// observeChain moves the record along what the chain says.
func (n *Node) observeChain(r *JobRecord, j *proto.Job, cj *chain.Job, now int64) error {
	if cj == nil {
		return nil
	}
	return n.update(r.ID, func(r *JobRecord) error {
		tip := n.chain.Tip().Height
		// The stakes as the chain has them now (a reorganisation may have
		// changed who staked).
		for i := range r.Nodes {
			r.Nodes[i].Stake = 0
		}
		for _, st := range cj.Stakes {
			v := r.nodeView(st.Node, n)
			v.Stake = st.Amount
		}
		if r.Stage == StageSubmitted {
			r.event(StageEscrowed, tip, "escrow of %d in a block; taking %d stakes", j.Reward, j.Replication)
		}
		if cj.State >= chain.JobAccepted && r.AcceptedAt == 0 {
			r.AcceptedAt = now
			r.RevealAt = now + n.cfg.CommitWindow.Milliseconds()
			if r.Stage == StageEscrowed {
				r.event(StageAccepted, tip, "all %d stakes in; computing", len(cj.Stakes))
			}
		}
		// The commit phase ends when every staker has committed or the
		// window closes; the reveal phase when every committed node has
		// revealed or its window closes.
		if r.Stage == StageAccepted && (now >= r.RevealAt || r.stakersCommitted(cj) >= len(cj.Stakes)) {
			r.DecideAt = now + n.cfg.RevealWindow.Milliseconds()
			r.event(StageCommitted, 0, "commit phase over: %d of %d committed", r.stakersCommitted(cj), len(cj.Stakes))
		}
		if r.Stage == StageCommitted && (now >= r.DecideAt || len(r.Reveals) >= len(r.Commits)) {
			r.event(StageRevealed, 0, "reveal phase over: %d of %d revealed", len(r.Reveals), len(r.Commits))
		}
		if r.BlockHeight != 0 {
			// A reorganisation may have moved the result to another block,
			// or taken it out of the chain until it is mined again.
			if cj.ResultTx.IsZero() {
				r.BlockHash, r.BlockHeight, r.RecordedAt = keys.Hash{}, 0, 0
				r.reopen(StageDecided, tip, "the chain reorganised: the result is out of the chain until it is mined again")
			} else if _, loc, err := n.chain.Tx(cj.ResultTx); err == nil && (loc.Block != r.BlockHash || r.ResultTx != cj.ResultTx) {
				r.ResultTx, r.BlockHash, r.BlockHeight = cj.ResultTx, loc.Block, loc.Height
				r.event("", loc.Height, "the chain reorganised: the result is now in block %d", loc.Height)
			}
		}
		if !cj.ResultTx.IsZero() && r.BlockHeight == 0 {
			r.ResultTx = cj.ResultTx
			if _, loc, err := n.chain.Tx(cj.ResultTx); err == nil {
				r.BlockHash, r.BlockHeight = loc.Block, loc.Height
			}
			r.RecordedAt = now
			if r.Result.IsZero() {
				r.Result = cj.ResultHash
			}
			r.event(StageRecorded, r.BlockHeight, "result %s recorded in block %d; %d agreeing nodes; dispute window until %s",
				cj.ResultHash.String()[:12], r.BlockHeight, len(cj.Agree), time.UnixMilli(cj.SettleAt).Format(time.TimeOnly))
			n.metrics.JobsRecorded.Add(1)
		}
		switch cj.State {
		case chain.JobSettled, chain.JobDisputed, chain.JobExpired:
			n.closeJob(r, j, cj, tip, now)
		}
		return nil
	})
}

// closeJob records how the chain ended a job and who was paid what.
func (n *Node) closeJob(r *JobRecord, j *proto.Job, cj *chain.Job, tip uint64, now int64) {
	agree := map[keys.Address]int{}
	for i, a := range cj.Agree {
		agree[a] = i
	}
	share := int64(0)
	if len(cj.Agree) > 0 {
		share = int64(cj.Reward / uint64(len(cj.Agree)))
	}
	for _, st := range cj.Stakes {
		v := r.nodeView(st.Node, n)
		i, ok := agree[st.Node]
		if !cj.ResultTx.IsZero() {
			// The recorded agreement is the certificate's signers: an
			// agreeing node whose signature did not make it is not paid.
			v.Agree = ok
		}
		switch {
		case cj.State == chain.JobSettled && ok:
			v.Agree, v.Paid = true, share
			if i == 0 {
				v.Paid += int64(cj.Reward) - share*int64(len(cj.Agree))
			}
		case cj.State == chain.JobSettled, cj.State == chain.JobDisputed && ok,
			cj.State == chain.JobExpired && len(cj.Stakes) == int(cj.Replication):
			v.Paid = -int64(st.Amount)
		}
	}
	r.ClosedAt = now
	switch cj.State {
	case chain.JobSettled:
		r.event(StageSettled, tip, "settled: %d paid to %d agreeing nodes, stakes returned; non-agreeing stakes to the client", cj.Reward, len(cj.Agree))
		n.metrics.JobsSettled.Add(1)
	case chain.JobDisputed:
		r.event(StageDisputed, tip, "disputed: agreeing stakes slashed, client refunded")
		n.metrics.JobsDisputed.Add(1)
	case chain.JobExpired:
		r.event(StageExpired, tip, "expired without a result: client refunded")
		n.metrics.JobsExpired.Add(1)
	}
}

// recheckClosed brings a closed job's record in line with the chain after
// a reorganisation: the new chain may have closed it another way (a node
// that mined alone for a while may have expired a job the others
// settled), or not yet.
func (n *Node) recheckClosed(id keys.Hash, j *proto.Job, cj *chain.Job, now int64) error {
	return n.update(id, func(r *JobRecord) error {
		if !r.Stage.Final() {
			return nil
		}
		tip := n.chain.Tip().Height
		state := "not in the chain"
		if cj != nil {
			state = cj.State.String()
		}
		closed := map[chain.JobState]Stage{chain.JobSettled: StageSettled, chain.JobDisputed: StageDisputed,
			chain.JobExpired: StageExpired}
		if cj != nil && closed[cj.State] != "" {
			if closed[cj.State] == r.Stage && (cj.ResultTx.IsZero() || cj.ResultTx == r.ResultTx) {
				if _, loc, err := n.chain.Tx(cj.ResultTx); err == nil && loc.Block != r.BlockHash {
					r.BlockHash, r.BlockHeight = loc.Block, loc.Height
					r.event("", loc.Height, "the chain reorganised: the result is now in block %d", loc.Height)
				}
				return nil
			}
			// Closed another way on the new chain.
			r.ResultTx, r.BlockHash, r.BlockHeight = cj.ResultTx, keys.Hash{}, 0
			if _, loc, err := n.chain.Tx(cj.ResultTx); err == nil {
				r.BlockHash, r.BlockHeight, r.Result = loc.Block, loc.Height, cj.ResultHash
			}
			for i := range r.Nodes {
				r.Nodes[i].Paid, r.Nodes[i].Agree = 0, false
			}
			r.event("", tip, "the chain reorganised: the job is %s on the new chain, not %s", state, r.Stage)
			n.closeJob(r, j, cj, tip, now)
			return nil
		}
		// Open again: the normal course takes it from here.
		r.ClosedAt = 0
		for i := range r.Nodes {
			r.Nodes[i].Paid = 0
		}
		stage := StageSubmitted
		switch {
		case cj == nil:
		case cj.State == chain.JobCreated:
			stage = StageEscrowed
		case cj.State == chain.JobCompleted:
			stage = StageRecorded
			r.ResultTx, r.Result = cj.ResultTx, cj.ResultHash
			if _, loc, err := n.chain.Tx(cj.ResultTx); err == nil {
				r.BlockHash, r.BlockHeight = loc.Block, loc.Height
			}
		case decisionAccepted(r.Decision):
			stage = StageDecided
			r.BlockHash, r.BlockHeight = keys.Hash{}, 0
		case r.Decision != nil:
			stage = StageFailed
		default:
			stage = StageAccepted
			r.BlockHash, r.BlockHeight = keys.Hash{}, 0
		}
		r.reopen(stage, tip, "the chain reorganised: the job is %s again", state)
		return nil
	})
}

func decisionAccepted(b []byte) bool {
	d, err := proto.DecodeDecision(b)
	return err == nil && d.Accepted
}

// computeSteps: stake, compute (queued), commit, reveal, sign.
func (n *Node) computeSteps(r *JobRecord, j *proto.Job, cj *chain.Job, now int64) error {
	me := n.Account()
	_, staked := cj.StakeOf(me)
	loc := r.Local
	switch {
	case loc == nil:
		if cj.State != chain.JobCreated || len(cj.Stakes) >= int(cj.Replication) || now >= j.Deadline {
			return nil
		}
		if !n.canRun(j.Bundle) {
			return nil
		}
		amount := max(n.cfg.Stake, j.MinStake)
		tx, err := n.sendTx(chain.TxStake, r.ID, &chain.Stake{Amount: amount})
		if err != nil {
			return fmt.Errorf("stake: %w", err)
		}
		err = n.update(r.ID, func(r *JobRecord) error {
			r.Local = &LocalWork{StakeTx: tx.ID()}
			r.event("", 0, "staked %d (tx %s)", amount, tx.ID().String()[:12])
			return nil
		})
		n.enqueue(r.ID)
		return err
	case loc.Dropped && !staked:
		return nil
	case loc.Dropped:
		// A reorganisation put this node's stake in after all: its work is
		// owed, or the stake goes to the client.
		err := n.update(r.ID, func(r *JobRecord) error {
			r.Local.Dropped, r.Local.Staked = false, true
			r.event("", 0, "the chain reorganised: this node's stake is in after all")
			return nil
		})
		n.enqueue(r.ID)
		return err
	case loc.Staked && !staked && cj.State != chain.JobCreated:
		// A reorganisation took this node's stake out and the job filled
		// without it.
		return n.update(r.ID, func(r *JobRecord) error {
			r.Local.Dropped, r.Local.Staked = true, false
			r.event("", 0, "the chain reorganised: the job filled without this node's stake; its output is dropped")
			return nil
		})
	case !loc.Staked:
		if staked {
			return n.update(r.ID, func(r *JobRecord) error { r.Local.Staked = true; return nil })
		}
		if cj.State != chain.JobCreated {
			return n.update(r.ID, func(r *JobRecord) error {
				r.Local.Dropped = true
				r.event("", 0, "job filled with other nodes' stakes; this node's output is dropped")
				return nil
			})
		}
		if !n.pool.Has(loc.StakeTx) {
			if _, _, err := n.chain.Tx(loc.StakeTx); err != nil {
				amount := max(n.cfg.Stake, j.MinStake)
				tx, err := n.sendTx(chain.TxStake, r.ID, &chain.Stake{Amount: amount})
				if err == nil {
					return n.update(r.ID, func(r *JobRecord) error { r.Local.StakeTx = tx.ID(); return nil })
				}
			}
		}
		return nil
	}
	if !loc.Computed {
		n.enqueue(r.ID)
		return nil
	}
	if cj.State < chain.JobAccepted {
		return nil
	}
	if !loc.Committed {
		return n.commit(r, j)
	}
	if !loc.Revealed && r.AcceptedAt != 0 && (now >= r.RevealAt || r.stakersCommitted(cj) >= len(cj.Stakes)) {
		if n.cfg.Behavior == "silent" {
			return nil
		}
		return n.reveal(r, j)
	}
	if loc.Revealed && !loc.CertSigned && r.Decision != nil {
		return n.signCertificate(r, j)
	}
	return nil
}

// canRun reports whether the node holds or can fetch a bundle.
func (n *Node) canRun(root keys.Hash) bool {
	if n.bundles.Has(root) {
		return true
	}
	n.modelsMu.Lock()
	defer n.modelsMu.Unlock()
	return n.sigs[root] != nil
}

func (n *Node) enqueue(id keys.Hash) {
	select {
	case n.computeQ <- id:
	default:
	}
}

// stakersCommitted counts the stakers whose commit is in.
func (r *JobRecord) stakersCommitted(cj *chain.Job) int {
	k := 0
	for _, b := range r.Commits {
		if c, err := proto.DecodeCommit(b); err == nil {
			if _, ok := cj.StakeOf(c.Address()); ok {
				k++
			}
		}
	}
	return k
}

// myResult is the node's result hash for a job (what it commits to).
func myResult(l *LocalWork) keys.Hash { return consensus.ResultHash(l.Tokens, l.Digest) }

func (n *Node) commit(r *JobRecord, j *proto.Job) error {
	stake, _ := n.stakeOf(r.ID)
	c := &proto.Commit{JobID: r.ID, Seal: proto.Seal(myResult(r.Local), n.pub), Stake: stake}
	if n.cfg.Behavior == "copy" {
		// Copy the first other node's commitment instead of our own.
		var other *proto.Commit
		for k, b := range r.Commits {
			if k != fmt.Sprintf("%x", n.pub) {
				if oc, err := proto.DecodeCommit(b); err == nil {
					other = oc
					break
				}
			}
		}
		if other == nil {
			return nil // wait for someone to copy
		}
		c.Seal = other.Seal
	}
	c.Sign(n.key)
	body := c.Encode()
	if err := n.net.Publish(netq.TopicCommitments, tagged(kindCommit, body)); err != nil {
		return err
	}
	n.onJobMessage(tagged(kindCommit, body))
	return n.update(r.ID, func(r *JobRecord) error {
		r.Local.Committed = true
		r.event("", 0, "committed (sealed result %s)", c.Seal.String()[:12])
		return nil
	})
}

func (n *Node) stakeOf(id keys.Hash) (uint64, bool) {
	cj, err := n.chain.Job(id)
	if err != nil {
		return 0, false
	}
	return cj.StakeOf(n.Account())
}

func (n *Node) reveal(r *JobRecord, j *proto.Job) error {
	stake, _ := n.stakeOf(r.ID)
	tokens, digest := r.Local.Tokens, r.Local.Digest
	if n.cfg.Behavior == "copy" {
		// Reveal another node's output as our own.
		for k, b := range r.Reveals {
			if k == fmt.Sprintf("%x", n.pub) {
				continue
			}
			if m, err := proto.DecodeReveal(b); err == nil && !m.Encrypted {
				if o, err := m.Open(nil); err == nil {
					tokens, digest = o.Tokens, o.Digest
					break
				}
			}
		}
	}
	result := consensus.ResultHash(tokens, digest)
	reward := n.Address(n.Account())
	cm := consensus.Commitment{JobID: r.ID, Stake: stake, ResultHash: result, Reward: reward}
	cm.Sign(n.key)
	o := &proto.Opening{Tokens: tokens, Digest: digest, Reward: reward, CommitmentSig: cm.Signature}
	client, err := j.ClientKey()
	if err != nil {
		return err
	}
	m, err := proto.NewReveal(n.key, r.ID, o, j.Private, client)
	if err != nil {
		return err
	}
	body := m.Encode()
	if err := n.net.Publish(netq.TopicResults, tagged(kindReveal, body)); err != nil {
		return err
	}
	n.onJobMessage(tagged(kindReveal, body))
	return n.update(r.ID, func(r *JobRecord) error {
		r.Local.Revealed = true
		r.event("", 0, "revealed %d tokens", len(tokens))
		return nil
	})
}

// signCertificate signs the decided result if it is this node's own and
// the rule is the bundle's.
func (n *Node) signCertificate(r *JobRecord, j *proto.Job) error {
	d, err := proto.DecodeDecision(r.Decision)
	if err != nil || !d.Accepted {
		return err
	}
	if !slices.ContainsFunc(d.Agree, func(p []byte) bool { return string(p) == string(n.pub) }) {
		return n.update(r.ID, func(r *JobRecord) error { r.Local.CertSigned = true; return nil })
	}
	l, err := n.load(n.ctx, j.Bundle)
	if err != nil {
		return err
	}
	if d.Result != myResult(r.Local) || d.RuleID != l.rule.Ref().ID() {
		return n.update(r.ID, func(r *JobRecord) error {
			r.Local.CertSigned = true
			r.event("", 0, "refused to sign: the decision is not this node's result or rule")
			return nil
		})
	}
	cert, err := r.certificate()
	if err != nil {
		return err
	}
	cert.Sign(n.key)
	cs := &proto.CertSig{JobID: r.ID, Node: n.pub, Sig: cert.Signers[len(cert.Signers)-1].Signature}
	body := cs.Encode()
	if err := n.net.Publish(netq.TopicCommitments, tagged(kindCertSig, body)); err != nil {
		return err
	}
	n.onJobMessage(tagged(kindCertSig, body))
	return n.update(r.ID, func(r *JobRecord) error { r.Local.CertSigned = true; return nil })
}

// certificate is the unsigned certificate of the record's decision.
func (r *JobRecord) certificate() (*consensus.Certificate, error) {
	d, err := proto.DecodeDecision(r.Decision)
	if err != nil {
		return nil, err
	}
	j, err := r.Job()
	if err != nil {
		return nil, err
	}
	return &consensus.Certificate{JobID: r.ID, Result: d.Result, Rule: d.RuleID, Replication: uint32(j.Replication)}, nil
}

// computeLoop runs queued jobs on this node's share of workers.
func (n *Node) computeLoop() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case id := <-n.computeQ:
			if err := n.compute(id); err != nil && n.ctx.Err() == nil {
				n.log.Warn("compute", "job", id.String()[:12], "err", err)
			}
		}
	}
}

func (n *Node) compute(id keys.Hash) error {
	r, err := n.Job(id)
	if err != nil || r.Local == nil || r.Local.Computed || r.Local.Dropped {
		return err
	}
	j, err := r.Job()
	if err != nil {
		return err
	}
	l, err := n.load(n.ctx, j.Bundle)
	if err != nil {
		return err
	}
	start := time.Now()
	job := runtime.Job{Prompt: j.Prompt, MaxTokens: int(j.MaxTokens), Temperature: j.Temperature,
		TopK: int(j.TopK), Seed: j.Seed}
	var tokens []int32
	var digest keys.Hash
	var text string
	var units uint64
	if n.cfg.Behavior == "lazy" {
		// Plausible tokens without running the model: the prompt's own
		// tokens, repeated.
		s, err := l.model.NewSession(n.ctx, runtime.SessionOptions{})
		if err != nil {
			return err
		}
		pt, err := s.Tokenize(j.Prompt)
		s.Close()
		if err != nil {
			return err
		}
		for len(tokens) < int(j.MaxTokens) && len(pt) > 0 {
			tokens = append(tokens, pt[len(tokens)%len(pt)])
		}
		digest = keys.SHA256([]byte("lazy"), id[:])
	} else {
		idx := 0
		res, err := l.model.Generate(n.ctx, job, runtime.Callbacks{Token: func(t runtime.Token) error {
			n.mu.Lock()
			if rec, ok := n.jobs[id]; ok {
				n.notifyLocked(rec, nil, &Update{Token: t.Text, Index: idx})
			}
			n.mu.Unlock()
			idx++
			return nil
		}})
		if err != nil {
			return err
		}
		tokens, digest, text, units = res.Tokens, res.Digest, res.Text, res.WorkUnits
		if n.cfg.Behavior == "truncate" && len(tokens) > 1 {
			tokens = tokens[:len(tokens)/2]
		}
	}
	elapsed := time.Since(start)
	n.metrics.JobsComputed.Add(1)
	n.metrics.TokensGenerated.Add(uint64(len(tokens)))
	n.metrics.ComputeNanos.Add(uint64(elapsed))
	return n.update(id, func(r *JobRecord) error {
		r.Local.Computed, r.Local.Tokens, r.Local.Digest, r.Local.Text = true, tokens, digest, text
		r.Local.Compute, r.Local.WorkUnits = elapsed, units
		r.event("", 0, "computed %d tokens in %s", len(tokens), elapsed.Round(time.Millisecond))
		return nil
	})
}

// secretSeed is a verifier-secret seed for RASTiC's positions.
func secretSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func (n *Node) coordinatorSteps(id keys.Hash, j *proto.Job, cj *chain.Job, now int64) error {
	r, err := n.Job(id)
	if err != nil {
		return err
	}
	switch {
	case r.Stage == StageRevealed && r.Decision == nil && r.DecidedAt == 0:
		return n.decide(r, j, cj)
	case r.Decision != nil && r.ResultTx.IsZero() && r.Stage == StageDecided:
		return n.record(r, j, cj, now)
	case !r.ResultTx.IsZero() && r.BlockHeight == 0 && cj.State == chain.JobAccepted && !n.pool.Has(r.ResultTx):
		// The result left the pool (a restart, a reorg): send it again.
		return n.update(id, func(r *JobRecord) error { r.ResultTx = keys.Hash{}; return nil })
	}
	return nil
}
