package proto

import (
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// Commit is a compute node's sealed result, published before any result
// is revealed. The seal binds the result to the node's own key, so another
// node can neither copy it (a copied seal names the original node) nor
// learn the result from it.
type Commit struct {
	JobID keys.Hash
	Node  []byte    // compressed public key
	Seal  keys.Hash // Seal(result hash, node)
	Stake uint64
	Sig   []byte
}

const commitDomain = "dna-commit"

// Seal is what a commit carries for a result hash.
func Seal(result keys.Hash, node []byte) keys.Hash {
	return keys.DomainHash("dna-seal", append(result[:], node...))
}

func (c *Commit) signed() []byte {
	var w writer
	w.hash(c.JobID)
	w.raw(c.Node)
	w.hash(c.Seal)
	w.u64(c.Stake)
	return w
}

// Sign sets Node and Sig.
func (c *Commit) Sign(k *keys.PrivateKey) {
	c.Node = k.Public().Bytes()
	c.Sig = k.SignDomain(commitDomain, c.signed())
}

// Encode writes job[32] ‖ node[33] ‖ seal[32] ‖ u64 stake ‖ sig[64].
func (c *Commit) Encode() []byte {
	w := writer(c.signed())
	w.raw(c.Sig)
	return w
}

// Check verifies the signature.
func (c *Commit) Check() error {
	pub, err := keys.ParsePublicKey(c.Node)
	if err != nil {
		return fmt.Errorf("%w: commit key: %v", ErrMessage, err)
	}
	if err := pub.VerifyDomain(commitDomain, c.signed(), c.Sig); err != nil {
		return fmt.Errorf("%w: commit signature: %v", ErrMessage, err)
	}
	return nil
}

// Address is the committing node's account.
func (c *Commit) Address() keys.Address { return keys.Address(keys.Hash160(c.Node)) }

// DecodeCommit parses a commit.
func DecodeCommit(b []byte) (*Commit, error) {
	r := &reader{b: b, what: "commit"}
	c := &Commit{JobID: r.hash(), Node: r.pubKey(), Seal: r.hash(), Stake: r.u64(), Sig: r.sig()}
	return c, r.done()
}
