// Package bundle is the bundle format (docs/bundles.md): a manifest, files
// cut into fixed-size chunks, a Merkle root over them that is the bundle
// ID, the author's signature over that ID, and the single-file .dna
// container in which chunks travel zstd-compressed.
//
// Every decoder here reads outside bytes: sizes are checked before anything
// is allocated, and each has a fuzz target.
package bundle
