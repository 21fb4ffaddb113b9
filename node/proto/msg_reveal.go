package proto

import (
	"fmt"

	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/keys"
)

// MaxRewardLen bounds a reveal's reward address.
const MaxRewardLen = consensus.MaxRewardLen

// Opening is what a reveal discloses: the node's output and its signed
// consensus commitment (over job, result hash, stake and reward address).
type Opening struct {
	Tokens        []int32
	Digest        keys.Hash
	Reward        string
	CommitmentSig []byte
}

// Encode writes u32 n ‖ n × i32 ‖ digest[32] ‖ u32 n ‖ reward[n] ‖ sig[64].
func (o *Opening) Encode() []byte {
	var w writer
	w.tokens(o.Tokens)
	w.hash(o.Digest)
	w.bytes([]byte(o.Reward))
	w.raw(o.CommitmentSig)
	return w
}

// DecodeOpening parses an opening.
func DecodeOpening(b []byte) (*Opening, error) {
	r := &reader{b: b, what: "opening"}
	o := &Opening{Tokens: r.tokens(MaxJobTokens + 1), Digest: r.hash(), Reward: r.str(MaxRewardLen), CommitmentSig: r.sig()}
	return o, r.done()
}

// ResultHash is the consensus result hash of the opening.
func (o *Opening) ResultHash() keys.Hash { return consensus.ResultHash(o.Tokens, o.Digest) }

// Reveal discloses a committed result after the commit phase, in the clear
// or, for a private job, sealed to the client's key.
type Reveal struct {
	JobID     keys.Hash
	Node      []byte
	Encrypted bool
	Body      []byte // Opening.Encode(), or keys.SealTo of it
	Sig       []byte
}

const revealDomain = "dna-reveal"

// MaxRevealBody bounds a reveal's body.
const MaxRevealBody = 4*(MaxJobTokens+1) + 32 + 4 + MaxRewardLen + 64 + 4 + keys.SealOverhead

func (m *Reveal) signed() []byte {
	var w writer
	w.hash(m.JobID)
	w.raw(m.Node)
	if m.Encrypted {
		w.u8(1)
	} else {
		w.u8(0)
	}
	w.bytes(m.Body)
	return w
}

// Sign sets Node and Sig.
func (m *Reveal) Sign(k *keys.PrivateKey) {
	m.Node = k.Public().Bytes()
	m.Sig = k.SignDomain(revealDomain, m.signed())
}

// Encode writes job[32] ‖ node[33] ‖ u8 encrypted ‖ u32 n ‖ body[n] ‖ sig[64].
func (m *Reveal) Encode() []byte {
	w := writer(m.signed())
	w.raw(m.Sig)
	return w
}

// Check verifies the signature.
func (m *Reveal) Check() error {
	pub, err := keys.ParsePublicKey(m.Node)
	if err != nil {
		return fmt.Errorf("%w: reveal key: %v", ErrMessage, err)
	}
	if err := pub.VerifyDomain(revealDomain, m.signed(), m.Sig); err != nil {
		return fmt.Errorf("%w: reveal signature: %v", ErrMessage, err)
	}
	return nil
}

// Open returns the opening, decrypting it with the client's key for a
// private job (client may be nil for a public one).
func (m *Reveal) Open(client *keys.PrivateKey) (*Opening, error) {
	body := m.Body
	if m.Encrypted {
		if client == nil {
			return nil, fmt.Errorf("%w: a private reveal needs the client's key", ErrMessage)
		}
		var err error
		if body, err = client.Open(revealDomain, body, m.JobID[:]); err != nil {
			return nil, err
		}
	}
	return DecodeOpening(body)
}

// NewReveal seals o for the client when private is set.
func NewReveal(k *keys.PrivateKey, job keys.Hash, o *Opening, private bool, client *keys.PublicKey) (*Reveal, error) {
	m := &Reveal{JobID: job, Body: o.Encode(), Encrypted: private}
	if private {
		box, err := keys.SealTo(client, revealDomain, m.Body, job[:])
		if err != nil {
			return nil, err
		}
		m.Body = box
	}
	m.Sign(k)
	return m, nil
}

// DecodeReveal parses a reveal.
func DecodeReveal(b []byte) (*Reveal, error) {
	r := &reader{b: b, what: "reveal"}
	m := &Reveal{JobID: r.hash(), Node: r.pubKey()}
	switch e := r.u8(); {
	case r.err != nil:
	case e > 1:
		r.fail("encrypted flag %d", e)
	default:
		m.Encrypted = e == 1
	}
	m.Body = r.bytes(MaxRevealBody)
	m.Sig = r.sig()
	return m, r.done()
}
