// Package proto is the node-to-node job protocol (docs/protocol.md): the
// client's signed job, the commit and reveal of each compute node, the
// coordinator's decision, the agreeing nodes' certificate signatures, and
// bundle announcements. One file per message; every decoder checks sizes
// against the bytes present before allocating and has a fuzz target.
//
// Encodings are canonical little-endian: a message re-encodes to the
// bytes it was decoded from, so its hash is its identity.
package proto
