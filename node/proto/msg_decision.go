package proto

import (
	"fmt"

	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/keys"
)

// Caps on a decision.
const (
	MaxDecisionNodes = 255  // agreeing nodes and checks
	MaxReasonLen     = 1024 // the rule's reason
	MaxFailedLen     = 64   // a check's failure
)

// NodeCheck is what the coordinator found about one node's reveal.
type NodeCheck struct {
	Node         []byte // compressed public key
	Revealed     bool
	Verification consensus.Verification
	Failed       string // the failed check, if any
	Position     int32  // where (−1 when not about one token)
}

// Decision is the coordinator's outcome of a job's consensus: the rule,
// its verdict, and each node's verification. Agreeing nodes check it
// against their own result before signing the certificate.
type Decision struct {
	JobID       keys.Hash
	Rule        string    // consensus.RuleRef.String()
	RuleID      keys.Hash // consensus.RuleRef.ID()
	Accepted    bool
	Result      keys.Hash
	Agree       [][]byte // public keys, in the rule's order
	Reason      string
	Checks      []NodeCheck
	Coordinator []byte
	Sig         []byte
}

const decisionDomain = "dna-decision"

func (d *Decision) signed() []byte {
	var w writer
	w.hash(d.JobID)
	w.bytes([]byte(d.Rule))
	w.hash(d.RuleID)
	if d.Accepted {
		w.u8(1)
	} else {
		w.u8(0)
	}
	w.hash(d.Result)
	w.u8(uint8(len(d.Agree)))
	for _, a := range d.Agree {
		w.raw(a)
	}
	w.bytes([]byte(d.Reason))
	w.u8(uint8(len(d.Checks)))
	for _, c := range d.Checks {
		w.raw(c.Node)
		if c.Revealed {
			w.u8(1)
		} else {
			w.u8(0)
		}
		w.u8(uint8(c.Verification))
		w.bytes([]byte(c.Failed))
		w.u32(uint32(c.Position))
	}
	w.raw(d.Coordinator)
	return w
}

// Sign sets Coordinator and Sig.
func (d *Decision) Sign(k *keys.PrivateKey) {
	d.Coordinator = k.Public().Bytes()
	d.Sig = k.SignDomain(decisionDomain, d.signed())
}

// Encode writes the signed fields then sig[64].
func (d *Decision) Encode() []byte {
	w := writer(d.signed())
	w.raw(d.Sig)
	return w
}

// Check verifies the coordinator's signature.
func (d *Decision) Check() error {
	pub, err := keys.ParsePublicKey(d.Coordinator)
	if err != nil {
		return fmt.Errorf("%w: decision key: %v", ErrMessage, err)
	}
	if err := pub.VerifyDomain(decisionDomain, d.signed(), d.Sig); err != nil {
		return fmt.Errorf("%w: decision signature: %v", ErrMessage, err)
	}
	return nil
}

// DecodeDecision parses a decision.
func DecodeDecision(b []byte) (*Decision, error) {
	r := &reader{b: b, what: "decision"}
	d := &Decision{JobID: r.hash(), Rule: r.str(MaxRuleLen), RuleID: r.hash()}
	switch a := r.u8(); {
	case r.err != nil:
	case a > 1:
		r.fail("accepted flag %d", a)
	default:
		d.Accepted = a == 1
	}
	d.Result = r.hash()
	n := int(r.u8())
	if r.err == nil && n*33 > len(r.b) {
		r.fail("%d agreeing nodes in %d bytes", n, len(r.b))
	}
	for i := 0; i < n && r.err == nil; i++ {
		d.Agree = append(d.Agree, r.pubKey())
	}
	d.Reason = r.str(MaxReasonLen)
	n = int(r.u8())
	if r.err == nil && n*(33+2+4+4) > len(r.b) {
		r.fail("%d checks in %d bytes", n, len(r.b))
	}
	for i := 0; i < n && r.err == nil; i++ {
		c := NodeCheck{Node: r.pubKey()}
		switch v := r.u8(); {
		case r.err != nil:
		case v > 1:
			r.fail("revealed flag %d", v)
		default:
			c.Revealed = v == 1
		}
		c.Verification = consensus.Verification(r.u8())
		c.Failed = r.str(MaxFailedLen)
		c.Position = int32(r.u32())
		d.Checks = append(d.Checks, c)
	}
	d.Coordinator = r.pubKey()
	d.Sig = r.sig()
	return d, r.done()
}
