package merkle

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// Hash is a node or leaf hash.
type Hash = keys.Hash

// MaxProofLen bounds the length of an inclusion proof: a tree of at most 2^63
// leaves has depth at most 63.
const MaxProofLen = 63

var (
	// ErrBadProof reports an inclusion proof that does not lead to the root.
	ErrBadProof = errors.New("merkle: inclusion proof does not match root")
	// ErrIndex reports a leaf index outside the tree.
	ErrIndex = errors.New("merkle: leaf index out of range")
)

// LeafHash hashes a leaf's data.
func LeafHash(data []byte) Hash {
	d := sha256.New()
	d.Write([]byte{0})
	d.Write(data)
	var h Hash
	d.Sum(h[:0])
	return h
}

// NodeHash hashes two children.
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[1+sha256.Size:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot is the root of a tree with no leaves: SHA-256 of the empty string.
var EmptyRoot = Hash(sha256.Sum256(nil))

// Root computes the root over leaf hashes (already passed through LeafHash).
func Root(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return EmptyRoot
	}
	level := append([]Hash(nil), leaves...)
	for len(level) > 1 {
		level = up(level)
	}
	return level[0]
}

// up pairs a level's nodes in place, carrying an odd last node up
// unchanged: bottom-up, that is exactly RFC 6962's
// split-at-the-largest-power-of-two tree.
func up(level []Hash) []Hash {
	next := level[:0]
	for i := 0; i < len(level); i += 2 {
		if i+1 < len(level) {
			next = append(next, NodeHash(level[i], level[i+1]))
		} else {
			next = append(next, level[i])
		}
	}
	return next
}

// Proof returns the audit path for leaf i, ordered from the leaf upward.
func Proof(leaves []Hash, i int) ([]Hash, error) {
	if i < 0 || i >= len(leaves) {
		return nil, fmt.Errorf("%w: %d of %d", ErrIndex, i, len(leaves))
	}
	var path []Hash
	level := append([]Hash(nil), leaves...)
	idx := i
	for len(level) > 1 {
		sib := idx ^ 1
		if sib < len(level) {
			path = append(path, level[sib])
		}
		level = up(level)
		idx /= 2
	}
	return path, nil
}

// VerifyProof checks that leaf is leaf number i of a tree of n leaves with the
// given root.
func VerifyProof(root, leaf Hash, i, n uint64, proof []Hash) error {
	if i >= n {
		return fmt.Errorf("%w: %d of %d", ErrIndex, i, n)
	}
	if len(proof) > MaxProofLen {
		return fmt.Errorf("%w: %d hashes", ErrBadProof, len(proof))
	}
	h := leaf
	idx, size := i, n
	p := 0
	for size > 1 {
		if idx^1 < size { // has a sibling at this level
			if p >= len(proof) {
				return ErrBadProof
			}
			if idx&1 == 1 {
				h = NodeHash(proof[p], h)
			} else {
				h = NodeHash(h, proof[p])
			}
			p++
		}
		idx /= 2
		size = (size + 1) / 2
	}
	if p != len(proof) || h != root {
		return ErrBadProof
	}
	return nil
}
