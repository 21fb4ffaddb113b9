// Package bundlestore keeps bundles by their Merkle root.
//
// Store is the seam for other backends: a node needs only Has, Get, Put
// and List, and bundles are self-verifying (every chunk hashes to a leaf,
// the leaves to the root, and the author signs the root), so any byte
// store can sit behind it — a directory (Dir, the default), memory (Mem,
// for tests), or a content-addressed network such as IPFS or Arweave
// (docs/operating.md shows how: map the root to the backend's address,
// fetch the .dna container, and let bundle.Read verify it).
package bundlestore
