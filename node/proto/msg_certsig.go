package proto

import (
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// CertSig is an agreeing node's signature for a job's certificate
// (consensus.Certificate.SignedBytes), sent once the node has checked the
// decision against its own result and rule.
type CertSig struct {
	JobID keys.Hash
	Node  []byte
	Sig   []byte // over the certificate's signed bytes, as consensus.Certificate.Sign makes it
}

// Encode writes job[32] ‖ node[33] ‖ sig[64].
func (c *CertSig) Encode() []byte {
	var w writer
	w.hash(c.JobID)
	w.raw(c.Node)
	w.raw(c.Sig)
	return w
}

// DecodeCertSig parses a certificate signature.
func DecodeCertSig(b []byte) (*CertSig, error) {
	r := &reader{b: b, what: "certsig"}
	c := &CertSig{JobID: r.hash(), Node: r.pubKey(), Sig: r.sig()}
	if err := r.done(); err != nil {
		return nil, err
	}
	if len(c.Sig) != keys.SignatureSize {
		return nil, fmt.Errorf("%w: certsig signature", ErrMessage)
	}
	return c, nil
}
