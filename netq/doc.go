// Package netq is dnahost's peer-to-peer layer over QUIC (quic-go): node
// identities bound to TLS, framed messages with hard size caps, discovery
// (seeds, peer exchange, a persistent address book), topic gossip with
// de-duplication, bounded fan-out and lazy pull, request/response streams,
// parallel Merkle-verified chunk transfer, and misbehaviour scores that
// throttle, disconnect and ban hostile peers.
//
// A node's identity is its secp256k1 key; its peer ID is the SHA-256 of the
// compressed public key. The TLS certificate each side presents carries a
// signature by the node key over the certificate's own public key, checked
// during the handshake, so a peer ID cannot be claimed without the key.
//
// The protocol is specified in docs/network.md. Subpackage netqtest starts
// clusters of real nodes on 127.0.0.1 for tests.
package netq
