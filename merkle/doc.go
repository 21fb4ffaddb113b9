// Package merkle is the project's Merkle tree: RFC 6962 (Certificate
// Transparency) hashing over SHA-256, with inclusion proofs.
//
// Leaves are hashed as SHA-256(0x00 ‖ data) and interior nodes as
// SHA-256(0x01 ‖ left ‖ right); a tree of n leaves splits at the largest power
// of two below n. The domain bytes stop a leaf from posing as a node (the
// second-preimage weakness of Bitcoin's duplicate-last tree). Bundles, chunk
// transfer and blocks all use this one tree.
package merkle
