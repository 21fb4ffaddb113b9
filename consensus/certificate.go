package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// Certificate proves a decision without its inputs: the agreeing nodes'
// signatures over (job, result, rule). A node signs only a decision it
// reached itself with the rule named.
//
// Signatures are a list of 64-byte secp256k1 signatures, each with its
// 33-byte key. At the replication factors jobs use (3 to a few dozen) that
// is a few kilobytes at most, it uses the keys nodes already have, and it
// needs no trusted setup or interactive signing round; BLS aggregation
// would shrink the signatures to 96 bytes plus a signer bitmap, at the price
// of a second key per node and a pairing library in every verifier.
type Certificate struct {
	JobID       keys.Hash
	Result      keys.Hash
	Rule        keys.Hash // RuleRef.ID of the deciding rule
	Replication uint32
	Signers     []Signature
}

// Signature is one node's signature in a certificate.
type Signature struct {
	Node      []byte // compressed public key
	Signature []byte
}

// Limits of an encoded certificate.
const MaxSigners = 1024

var (
	// ErrCertificate reports a certificate that does not verify.
	ErrCertificate = errors.New("consensus: invalid certificate")
)

// SignedBytes is what each signer signs.
func (c *Certificate) SignedBytes() []byte {
	b := make([]byte, 0, 100)
	b = append(b, c.JobID[:]...)
	b = append(b, c.Result[:]...)
	b = append(b, c.Rule[:]...)
	return binary.LittleEndian.AppendUint32(b, c.Replication)
}

// NewCertificate starts a certificate for a decision.
func NewCertificate(job Job, d Decision) (*Certificate, error) {
	if d.Status != Accepted {
		return nil, fmt.Errorf("%w: the decision is %s", ErrCertificate, d.Status)
	}
	return &Certificate{JobID: job.ID, Result: d.Result, Rule: d.Rule.ID(), Replication: uint32(job.Replication)}, nil
}

// Sign adds a node's signature.
func (c *Certificate) Sign(k *keys.PrivateKey) {
	c.Signers = append(c.Signers, Signature{Node: k.Public().Bytes(), Signature: k.SignDomain("certificate", c.SignedBytes())})
}

// Verify checks every signature, that no node signs twice, and that at
// least minSigners distinct nodes signed. It returns the signers' IDs.
func (c *Certificate) Verify(minSigners int) ([]NodeID, error) {
	if len(c.Signers) > MaxSigners {
		return nil, fmt.Errorf("%w: %d signers", ErrCertificate, len(c.Signers))
	}
	msg := c.SignedBytes()
	seen := map[NodeID]bool{}
	ids := make([]NodeID, 0, len(c.Signers))
	for i, s := range c.Signers {
		pub, err := keys.ParsePublicKey(s.Node)
		if err != nil {
			return nil, fmt.Errorf("%w: signer %d: %v", ErrCertificate, i, err)
		}
		if err := pub.VerifyDomain("certificate", msg, s.Signature); err != nil {
			return nil, fmt.Errorf("%w: signer %d: %v", ErrCertificate, i, err)
		}
		id := NodeIDOf(pub)
		if seen[id] {
			return nil, fmt.Errorf("%w: node %s signs twice", ErrCertificate, id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) < minSigners {
		return nil, fmt.Errorf("%w: %d signers, %d required", ErrCertificate, len(ids), minSigners)
	}
	return sortedIDs(ids), nil
}

// Encode is the certificate's wire form:
//
//	"dna-cert/1" ‖ job[32] ‖ result[32] ‖ rule[32] ‖ u32 replication ‖ u16 n ‖ n × (key[33] ‖ sig[64])
func (c *Certificate) Encode() []byte {
	b := make([]byte, 0, 10+96+6+97*len(c.Signers))
	b = append(b, "dna-cert/1"...)
	b = append(b, c.JobID[:]...)
	b = append(b, c.Result[:]...)
	b = append(b, c.Rule[:]...)
	b = binary.LittleEndian.AppendUint32(b, c.Replication)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(c.Signers)))
	for _, s := range c.Signers {
		b = append(b, s.Node...)
		b = append(b, s.Signature...)
	}
	return b
}

// DecodeCertificate parses the wire form (it does not verify signatures).
func DecodeCertificate(b []byte) (*Certificate, error) {
	const head = 10 + 96 + 6
	const per = keys.PublicKeySize + keys.SignatureSize
	if len(b) < head || string(b[:10]) != "dna-cert/1" {
		return nil, fmt.Errorf("%w: not a certificate", ErrCertificate)
	}
	c := &Certificate{}
	copy(c.JobID[:], b[10:])
	copy(c.Result[:], b[42:])
	copy(c.Rule[:], b[74:])
	c.Replication = binary.LittleEndian.Uint32(b[106:])
	n := int(binary.LittleEndian.Uint16(b[110:]))
	if n > MaxSigners || len(b) != head+n*per {
		return nil, fmt.Errorf("%w: %d signers in %d bytes", ErrCertificate, n, len(b))
	}
	for i := 0; i < n; i++ {
		p := head + i*per
		c.Signers = append(c.Signers, Signature{
			Node:      append([]byte(nil), b[p:p+keys.PublicKeySize]...),
			Signature: append([]byte(nil), b[p+keys.PublicKeySize:p+per]...),
		})
	}
	return c, nil
}
