package chain

import (
	"bytes"

	"github.com/dnahost/dnahost/keys"
)

// MaxCertificate bounds a result's certificate.
const MaxCertificate = 16 << 10

// Result records the decided output of job tx.JobID: its hash, the rule
// that decided it, the certificate (the agreeing nodes' signatures; checked
// by the chain's ResultVerifier) and the agreeing nodes, who share the
// reward at settlement. Anyone may submit it (the sender pays the fee).
type Result struct {
	BundleRoot  keys.Hash
	ResultHash  keys.Hash
	Rule        string
	Certificate []byte
	Agree       []keys.Address // sorted, distinct, each a staker of the job
}

// Encode writes bundle[32] ‖ result[32] ‖ u32 n ‖ rule[n] ‖ u32 n ‖
// certificate[n] ‖ u8 k ‖ k × address[20].
func (r *Result) Encode() []byte {
	var w writer
	w.hash(r.BundleRoot)
	w.hash(r.ResultHash)
	w.bytes([]byte(r.Rule))
	w.bytes(r.Certificate)
	w.u8(uint8(len(r.Agree)))
	for _, a := range r.Agree {
		w.addr(a)
	}
	return w
}

// DecodeResult parses a result payload.
func DecodeResult(b []byte) (*Result, error) {
	r := &reader{b: b, what: "result"}
	res := &Result{BundleRoot: r.hash(), ResultHash: r.hash(), Rule: string(r.bytes(maxRuleLen)),
		Certificate: r.bytes(MaxCertificate)}
	k := int(r.u8())
	if r.err == nil && k*keys.AddressSize > len(r.b) {
		r.fail("%d agreeing nodes in %d bytes", k, len(r.b))
	}
	if r.err == nil {
		res.Agree = make([]keys.Address, k)
		for i := range res.Agree {
			res.Agree[i] = r.addr()
		}
	}
	return res, r.done()
}

func (r *Result) sanity(tx *Tx, p *Params) error {
	if tx.JobID.IsZero() {
		return ruleErr(ErrEncoding, "result without a job ID")
	}
	if len(r.Agree) == 0 || len(r.Agree) > p.MaxReplication {
		return ruleErr(ErrBadAgreement, "%d agreeing nodes", len(r.Agree))
	}
	for i := 1; i < len(r.Agree); i++ {
		if bytes.Compare(r.Agree[i-1][:], r.Agree[i][:]) >= 0 {
			return ruleErr(ErrBadAgreement, "agreeing nodes not sorted and distinct")
		}
	}
	return nil
}
