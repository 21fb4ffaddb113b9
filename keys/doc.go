// Package keys holds the project's one implementation of keys, signatures and
// hashes: secp256k1 key pairs, 64-byte compact ECDSA signatures (low-S,
// RFC 6979 nonces), SHA-256 helpers and domain-separated message digests.
//
// Bundles (author signatures), netq (node identities) and the chain
// (transactions, addresses) all use it, so a key made by one works in all.
package keys
