package node

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node/proto"
	"github.com/dnahost/dnahost/runtime"
)

// promptTokens tokenizes a job's prompt with its bundle's tokenizer, as
// generation does.
func promptTokens(ctx context.Context, l *loaded, prompt string) ([]int32, error) {
	s, err := l.model.NewSession(ctx, runtime.SessionOptions{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Tokenize(prompt)
}

// decide verifies every reveal, runs the bundle's rule and publishes the
// decision (CamelidCoin §2.4 with the DNA Layer consensus).
func (n *Node) decide(r *JobRecord, j *proto.Job, cj *chain.Job) error {
	l, err := n.load(n.ctx, j.Bundle)
	if err != nil {
		return err
	}
	pt, err := promptTokens(n.ctx, l, j.Prompt)
	if err != nil {
		return err
	}
	mode, samples := verify.RASTiC, int(j.Samples)
	if j.Verify == proto.VerifyFull {
		mode = verify.Full
	}
	var client *keys.PrivateKey
	if j.Private {
		if fmt.Sprintf("%x", j.Client) != fmt.Sprintf("%x", n.pub) {
			return fmt.Errorf("private job of another client")
		}
		client = n.key
	}
	start := time.Now()
	var commitments []consensus.Commitment
	var checks []proto.NodeCheck
	texts := map[keys.Hash][]int32{}
	for _, st := range cj.Stakes {
		chk := proto.NodeCheck{Position: -1}
		var commit *proto.Commit
		for _, b := range r.Commits {
			if c, err := proto.DecodeCommit(b); err == nil && c.Address() == st.Node {
				commit = c
			}
		}
		var rev *proto.Reveal
		for _, b := range r.Reveals {
			if m, err := proto.DecodeReveal(b); err == nil && keys.Address(keys.Hash160(m.Node)) == st.Node {
				rev = m
			}
		}
		if commit == nil {
			continue // staked, never committed: the chain shows it, and it cannot agree
		}
		chk.Node = commit.Node
		if rev == nil {
			chk.Failed = "no reveal"
			checks = append(checks, chk)
			continue
		}
		chk.Revealed = true
		o, err := rev.Open(client)
		if err != nil {
			chk.Failed, chk.Verification = "opening", consensus.Refuted
			checks = append(checks, chk)
			continue
		}
		result := o.ResultHash()
		cm := consensus.Commitment{JobID: r.ID, Node: commit.Node, Stake: st.Amount, ResultHash: result,
			Reward: o.Reward, Signature: o.CommitmentSig, Revealed: true, Digest: o.Digest, Tokens: len(o.Tokens)}
		switch {
		case proto.Seal(result, commit.Node) != commit.Seal:
			// The reveal is not what this node sealed: a copied commitment
			// or a changed answer.
			chk.Failed, cm.Verification = "seal", consensus.Refuted
		default:
			claim := &verify.Claim{Bundle: j.Bundle.String(), Prompt: j.Prompt, PromptTokens: pt,
				MaxTokens: int(j.MaxTokens), Temperature: j.Temperature, TopK: int(j.TopK), Seed: j.Seed,
				Tokens: o.Tokens, Digest: o.Digest.String()}
			rep, err := l.ver.Verify(n.ctx, claim, verify.Options{Mode: mode, Samples: samples, Seed: secretSeed()})
			switch {
			case err != nil:
				chk.Failed, cm.Verification = "error: "+err.Error(), consensus.Refuted
			case rep.Valid:
				cm.Verification = consensus.Verified
				n.metrics.Verified.Add(1)
				texts[result] = o.Tokens
			default:
				chk.Failed, chk.Position, cm.Verification = rep.Failed, int32(rep.Position), consensus.Refuted
				n.metrics.Refuted.Add(1)
			}
		}
		chk.Verification = cm.Verification
		if len(chk.Failed) > proto.MaxFailedLen {
			chk.Failed = chk.Failed[:proto.MaxFailedLen]
		}
		checks = append(checks, chk)
		commitments = append(commitments, cm)
	}
	n.metrics.VerifyNanos.Add(uint64(time.Since(start)))
	dec := consensus.Evaluate(l.rule, consensus.Job{ID: r.ID, Replication: int(j.Replication)}, commitments)
	d := &proto.Decision{JobID: r.ID, Rule: dec.Rule.String(), RuleID: dec.Rule.ID(),
		Accepted: dec.Status == consensus.Accepted, Result: dec.Result, Reason: dec.Reason, Checks: checks}
	if len(d.Reason) > proto.MaxReasonLen {
		d.Reason = d.Reason[:proto.MaxReasonLen]
	}
	agree := map[consensus.NodeID]bool{}
	for _, a := range dec.Agree {
		agree[a] = true
	}
	for _, cm := range commitments {
		if agree[cm.NodeID()] {
			d.Agree = append(d.Agree, cm.Node)
		}
	}
	d.Sign(n.key)
	body := d.Encode()
	text := ""
	if toks, ok := texts[dec.Result]; ok {
		text = detokenize(n.ctx, l, toks)
	}
	// The record takes the decision before it is gossiped: an agreeing
	// node may sign and send its certificate signature at once, and one
	// that arrives before the record has the decision would be dropped.
	err = n.update(r.ID, func(r *JobRecord) error {
		r.DecidedAt = time.Now().UnixMilli()
		r.RecordAt = r.DecidedAt + n.cfg.SignWindow.Milliseconds()
		n.applyDecision(r, d, body)
		if toks, ok := texts[dec.Result]; ok {
			r.Tokens, r.Text = toks, text
		}
		if d.Accepted {
			r.event(StageDecided, 0, "%s accepted result %s with %d agreeing nodes (verification %s, %.0f ms)",
				d.Rule, d.Result.String()[:12], len(d.Agree), mode, float64(time.Since(start).Microseconds())/1000)
		} else {
			r.event(StageFailed, 0, "%s undecided: %s; the escrow returns to the client at the deadline", d.Rule, d.Reason)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if d.Accepted {
		n.metrics.JobsDecided.Add(1)
	} else {
		n.metrics.JobsFailed.Add(1)
	}
	return n.net.Publish(netq.TopicResults, tagged(kindDecision, body))
}

// applyDecision files a decision in a record (the coordinator's own, or
// one received).
func (n *Node) applyDecision(r *JobRecord, d *proto.Decision, body []byte) {
	r.Decision, r.Rule, r.Reason, r.Result = body, d.Rule, d.Reason, d.Result
	for _, c := range d.Checks {
		if len(c.Node) == 0 {
			continue
		}
		v := r.nodeView(keys.Address(keys.Hash160(c.Node)), n)
		v.Node = fmt.Sprintf("%x", c.Node)
		v.Revealed = c.Revealed
		v.Verification = c.Verification.String()
		v.Failed, v.Position = c.Failed, c.Position
	}
	for _, a := range d.Agree {
		r.nodeView(keys.Address(keys.Hash160(a)), n).Agree = true
	}
}

func detokenize(ctx context.Context, l *loaded, toks []int32) string {
	s, err := l.model.NewSession(ctx, runtime.SessionOptions{})
	if err != nil {
		return ""
	}
	defer s.Close()
	var out []byte
	prev := int32(1)
	for _, t := range toks {
		b, err := s.Detokenize(prev, t)
		if err != nil {
			break
		}
		out = append(out, b...)
		prev = t
	}
	return string(out)
}

// onDecision files a coordinator's decision at a non-coordinating node.
func (n *Node) onDecision(id keys.Hash, d *proto.Decision, body []byte) {
	_ = n.update(id, func(r *JobRecord) error {
		if r.Decision != nil || fmt.Sprintf("%x", d.Coordinator) != r.Coordinator {
			return nil
		}
		n.applyDecision(r, d, body)
		if r.Local != nil && r.Local.Computed && d.Accepted && d.Result == myResult(r.Local) {
			r.Tokens, r.Text = r.Local.Tokens, r.Local.Text
		}
		if d.Accepted {
			r.event(StageDecided, 0, "%s accepted result %s with %d agreeing nodes", d.Rule, d.Result.String()[:12], len(d.Agree))
		} else {
			r.event(StageFailed, 0, "%s undecided: %s", d.Rule, d.Reason)
		}
		return nil
	})
}

// record builds the certificate from the signatures in and sends the
// result transaction, once every agreeing node signed or the signing
// window closed with enough of them.
func (n *Node) record(r *JobRecord, j *proto.Job, cj *chain.Job, now int64) error {
	d, err := proto.DecodeDecision(r.Decision)
	if err != nil || !d.Accepted {
		return err
	}
	cert, err := r.certificate()
	if err != nil {
		return err
	}
	signed := map[string][]byte{}
	for _, a := range d.Agree {
		k := fmt.Sprintf("%x", a)
		if b, ok := r.CertSigs[k]; ok {
			if cs, err := proto.DecodeCertSig(b); err == nil {
				signed[k] = cs.Sig
			}
		}
	}
	l, err := n.load(n.ctx, j.Bundle)
	if err != nil {
		return err
	}
	required := 1
	if p, ok := l.rule.(consensus.Preset); ok {
		required = max(1, p.Required(int(j.Replication)))
	}
	if len(signed) < len(d.Agree) && (now < r.RecordAt || len(signed) < required) {
		return nil
	}
	var addrs []keys.Address
	for _, a := range d.Agree {
		k := fmt.Sprintf("%x", a)
		if sig, ok := signed[k]; ok {
			cert.Signers = append(cert.Signers, consensus.Signature{Node: a, Signature: sig})
			addrs = append(addrs, keys.Address(keys.Hash160(a)))
		}
	}
	sort.Slice(addrs, func(i, k int) bool { return string(addrs[i][:]) < string(addrs[k][:]) })
	res := &chain.Result{BundleRoot: j.Bundle, ResultHash: d.Result, Rule: d.RuleID.String(),
		Certificate: cert.Encode(), Agree: addrs}
	tx, err := n.sendTx(chain.TxResult, r.ID, res)
	if err != nil {
		if chain.CodeOf(err) == chain.ErrJobTooYoung {
			return nil // the chain's minimum job age has not passed: next time
		}
		return fmt.Errorf("result tx: %w", err)
	}
	return n.update(r.ID, func(r *JobRecord) error {
		r.ResultTx = tx.ID()
		r.event("", 0, "result transaction %s sent with a certificate of %d signatures", tx.ID().String()[:12], len(cert.Signers))
		return nil
	})
}

// serveVerify answers an outsourced verification request (§2.5.3).
func (n *Node) serveVerify(ctx context.Context, _ netq.PeerID, p []byte) (netq.Status, []byte) {
	q, err := verify.DecodeOutsourceRequest(p)
	if err != nil {
		return netq.StatusBadInput, []byte(err.Error())
	}
	if !n.bundles.Has(q.Job.Bundle) {
		return netq.StatusNotFound, []byte("bundle not held")
	}
	l, err := n.load(ctx, q.Job.Bundle)
	if err != nil {
		return netq.StatusError, []byte(err.Error())
	}
	a, err := l.ver.Answer(ctx, q)
	if err != nil {
		return netq.StatusBadInput, []byte(err.Error())
	}
	return netq.StatusOK, a.Encode()
}
