package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// NodeID names a node: the SHA-256 of its compressed public key.
type NodeID = keys.Hash

// NodeIDOf returns the ID of a public key.
func NodeIDOf(pub *keys.PublicKey) NodeID { return keys.SHA256(pub.Bytes()) }

// ResultHash binds a result: the output tokens and the digest.
func ResultHash(tokens []int32, digest keys.Hash) keys.Hash {
	b := make([]byte, 0, 4+4*len(tokens)+32)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tokens)))
	for _, t := range tokens {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	b = append(b, digest[:]...)
	return keys.DomainHash("result", b)
}

// Verification is what a verifier found when it checked a revealed result.
type Verification uint8

const (
	NotVerified Verification = iota // nobody checked (yet)
	Verified                        // recomputation confirmed it
	Refuted                         // recomputation found a wrong token or digest
)

func (v Verification) String() string {
	switch v {
	case Verified:
		return "verified"
	case Refuted:
		return "refuted"
	}
	return "not verified"
}

// Commitment is one node's signed statement of its result for a job, made
// before any result is revealed so that no node can copy another's. After
// the commit phase it may carry the revealed result and its verification.
type Commitment struct {
	JobID      keys.Hash
	Node       []byte    // compressed secp256k1 public key of the node
	Stake      uint64    // stake bonded to the job
	ResultHash keys.Hash // ResultHash(tokens, digest)
	Reward     string    // where the node wants to be paid (an address)
	Signature  []byte    // by Node over SignedBytes

	// Revealed, set after the commit phase: the digest of the revealed
	// result and its token count (the host checked that they hash to
	// ResultHash together with the tokens).
	Revealed     bool
	Digest       keys.Hash
	Tokens       int
	Verification Verification
}

// Limits of a commitment's fields.
const MaxRewardLen = 128

var (
	// ErrCommitment reports a malformed commitment.
	ErrCommitment = errors.New("consensus: malformed commitment")
	// ErrSignature reports a commitment whose signature does not verify.
	ErrSignature = errors.New("consensus: bad commitment signature")
)

// SignedBytes is what the node signs: job, result, stake and reward address.
func (c *Commitment) SignedBytes() []byte {
	b := make([]byte, 0, 32+32+8+2+len(c.Reward))
	b = append(b, c.JobID[:]...)
	b = append(b, c.ResultHash[:]...)
	b = binary.LittleEndian.AppendUint64(b, c.Stake)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(c.Reward)))
	return append(b, c.Reward...)
}

// Sign fills Node and Signature.
func (c *Commitment) Sign(k *keys.PrivateKey) {
	c.Node = k.Public().Bytes()
	c.Signature = k.SignDomain("commitment", c.SignedBytes())
}

// NodeID is the committing node's ID (zero if Node is not a key).
func (c *Commitment) NodeID() NodeID {
	if len(c.Node) != keys.PublicKeySize {
		return NodeID{}
	}
	return keys.SHA256(c.Node)
}

// Check verifies the commitment's form and signature.
func (c *Commitment) Check() error {
	if len(c.Reward) > MaxRewardLen {
		return fmt.Errorf("%w: reward address of %d bytes", ErrCommitment, len(c.Reward))
	}
	pub, err := keys.ParsePublicKey(c.Node)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if err := pub.VerifyDomain("commitment", c.SignedBytes(), c.Signature); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}
