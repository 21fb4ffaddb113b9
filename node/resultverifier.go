package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node/proto"
)

// resultVerifier gives the chain's result and dispute records their
// meaning. Both checks are deterministic: certificates are signatures, and
// dispute evidence is judged by full verification, which every honest
// node computes bit for bit the same.
type resultVerifier struct{ n *Node }

// CheckResult: the certificate is for this job and result, every agreeing
// node signed it, and the signers are exactly the agreeing nodes.
func (v resultVerifier) CheckResult(job *chain.Job, res *chain.Result) error {
	cert, err := consensus.DecodeCertificate(res.Certificate)
	if err != nil {
		return err
	}
	switch {
	case cert.JobID != job.ID:
		return errors.New("certificate for another job")
	case cert.Result != res.ResultHash:
		return errors.New("certificate for another result")
	case cert.Rule.String() != res.Rule:
		return errors.New("certificate for another rule")
	case cert.Replication != uint32(job.Replication):
		return errors.New("certificate with another replication")
	}
	if _, err := cert.Verify(max(1, len(res.Agree))); err != nil {
		return err
	}
	signers := make([]keys.Address, len(cert.Signers))
	for i, s := range cert.Signers {
		signers[i] = keys.Address(keys.Hash160(s.Node))
	}
	sort.Slice(signers, func(i, k int) bool { return string(signers[i][:]) < string(signers[k][:]) })
	if len(signers) != len(res.Agree) {
		return fmt.Errorf("%d signers for %d agreeing nodes", len(signers), len(res.Agree))
	}
	for i := range signers {
		if signers[i] != res.Agree[i] {
			return errors.New("signers are not the agreeing nodes")
		}
	}
	return nil
}

// ErrNotProven reports dispute evidence that does not prove the result wrong.
var ErrNotProven = errors.New("node: evidence does not prove the result wrong")

// CheckDispute: the evidence opens the recorded result for this job, and
// full verification of it fails.
func (v resultVerifier) CheckDispute(job *chain.Job, evidence []byte) error {
	e, err := proto.DecodeEvidence(evidence)
	if err != nil {
		return err
	}
	if e.Job.ID() != job.ID {
		return fmt.Errorf("%w: evidence is about another job", ErrNotProven)
	}
	if e.Opening.ResultHash() != job.ResultHash {
		return fmt.Errorf("%w: the opening is not the recorded result", ErrNotProven)
	}
	rep, err := v.n.verifyOpening(e.Job, e.Opening, verify.Full)
	if err != nil {
		return err
	}
	if rep.Valid {
		return fmt.Errorf("%w: the recorded result verifies", ErrNotProven)
	}
	return nil
}

// verifyOpening runs a verification of an opening for a job.
func (n *Node) verifyOpening(j *proto.Job, o *proto.Opening, mode verify.Mode) (*verify.Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := n.load(ctx, j.Bundle)
	if err != nil {
		return nil, err
	}
	pt, err := promptTokens(ctx, l, j.Prompt)
	if err != nil {
		return nil, err
	}
	claim := &verify.Claim{Bundle: j.Bundle.String(), Prompt: j.Prompt, PromptTokens: pt,
		MaxTokens: int(j.MaxTokens), Temperature: j.Temperature, TopK: int(j.TopK), Seed: j.Seed,
		Tokens: o.Tokens, Digest: o.Digest.String()}
	return l.ver.Verify(ctx, claim, verify.Options{Mode: mode})
}

// maybeDispute files a dispute when the recorded result is one this node
// can open (a public reveal) and it fails full verification.
func (n *Node) maybeDispute(r *JobRecord, j *proto.Job, cj *chain.Job) error {
	if cj.State != chain.JobCompleted || j.Private || r.Local == nil || !r.Local.Computed {
		return nil
	}
	if myResult(r.Local) == cj.ResultHash || r.Local.Error == "disputed" {
		return nil
	}
	for _, b := range r.Reveals {
		m, err := proto.DecodeReveal(b)
		if err != nil || m.Encrypted {
			continue
		}
		o, err := m.Open(nil)
		if err != nil || o.ResultHash() != cj.ResultHash {
			continue
		}
		rep, err := n.verifyOpening(j, o, verify.Full)
		if err != nil || rep.Valid {
			return err
		}
		ev := &proto.Evidence{Job: j, Opening: o}
		tx, err := n.sendTx(chain.TxDispute, r.ID, &chain.Dispute{Evidence: ev.Encode()})
		if err != nil {
			return err
		}
		return n.update(r.ID, func(r *JobRecord) error {
			r.Local.Error = "disputed"
			r.event("", 0, "disputed the recorded result (%s at position %d), tx %s", rep.Failed, rep.Position, tx.ID().String()[:12])
			return nil
		})
	}
	return nil
}
