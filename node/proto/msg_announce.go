package proto

import (
	"fmt"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// Announce spreads a job on the jobs topic: the signed job, the client's
// escrow transaction that pays for it, and the coordinator — the node the
// client submitted to, which collects commitments and reveals, runs the
// verification and the consensus rule, and records the result.
type Announce struct {
	Job         *Job
	Escrow      []byte // encoded chain.Tx
	Coordinator []byte // compressed public key
	Sig         []byte // coordinator's, over the job ID and escrow
}

const announceDomain = "dna-job-announce"

func (a *Announce) signed() []byte {
	id := a.Job.ID()
	return append(id[:], a.Escrow...)
}

// Sign sets Coordinator and Sig.
func (a *Announce) Sign(k *keys.PrivateKey) {
	a.Coordinator = k.Public().Bytes()
	a.Sig = k.SignDomain(announceDomain, a.signed())
}

// Encode writes u32 n ‖ job[n] ‖ u32 n ‖ escrow[n] ‖ coordinator[33] ‖ sig[64].
func (a *Announce) Encode() []byte {
	var w writer
	w.bytes(a.Job.Encode())
	w.bytes(a.Escrow)
	w.raw(a.Coordinator)
	w.raw(a.Sig)
	return w
}

// Check verifies the job, the escrow's terms and the coordinator's
// signature, and returns the decoded escrow.
func (a *Announce) Check() (*chain.Tx, error) {
	if err := a.Job.Check(); err != nil {
		return nil, err
	}
	tx, err := chain.DecodeTx(a.Escrow)
	if err != nil {
		return nil, fmt.Errorf("%w: escrow: %v", ErrMessage, err)
	}
	if err := a.Job.CheckEscrow(tx); err != nil {
		return nil, err
	}
	pub, err := keys.ParsePublicKey(a.Coordinator)
	if err != nil {
		return nil, fmt.Errorf("%w: coordinator key: %v", ErrMessage, err)
	}
	if err := pub.VerifyDomain(announceDomain, a.signed(), a.Sig); err != nil {
		return nil, fmt.Errorf("%w: announce signature: %v", ErrMessage, err)
	}
	return tx, nil
}

// DecodeAnnounce parses an announcement (Check verifies it).
func DecodeAnnounce(b []byte) (*Announce, error) {
	r := &reader{b: b, what: "announce"}
	jb := r.bytes(MaxPromptBytes + 512)
	esc := r.bytes(chain.MainNet.MaxTxBytes)
	a := &Announce{Escrow: esc, Coordinator: r.pubKey(), Sig: r.sig()}
	if err := r.done(); err != nil {
		return nil, err
	}
	j, err := DecodeJob(jb)
	if err != nil {
		return nil, err
	}
	a.Job = j
	return a, nil
}
