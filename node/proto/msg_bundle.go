package proto

import (
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// BundleAnnounce tells the network a node holds a bundle and serves its
// chunks: the Merkle root, the author's signature over it (which the
// chunks cannot carry), its model name and size.
type BundleAnnounce struct {
	Root      keys.Hash
	Signature []byte // the bundle author's
	Name      string
	Size      uint64
	Chunks    uint32 // Merkle leaves
	At        int64  // unix ms of the announcement: repeats are new messages
}

// Encode writes root[32] ‖ sig[64] ‖ u32 n ‖ name[n] ‖ u64 size ‖ u32 leaves ‖ u64 at.
func (b *BundleAnnounce) Encode() []byte {
	var w writer
	w.hash(b.Root)
	w.raw(b.Signature)
	w.bytes([]byte(b.Name))
	w.u64(b.Size)
	w.u32(b.Chunks)
	w.u64(uint64(b.At))
	return w
}

// DecodeBundleAnnounce parses an announcement.
func DecodeBundleAnnounce(b []byte) (*BundleAnnounce, error) {
	r := &reader{b: b, what: "bundle announce"}
	a := &BundleAnnounce{Root: r.hash(), Signature: r.sig(), Name: r.str(128), Size: r.u64(), Chunks: r.u32(), At: int64(r.u64())}
	if err := r.done(); err != nil {
		return nil, err
	}
	if a.Chunks == 0 {
		return nil, fmt.Errorf("%w: bundle of no chunks", ErrMessage)
	}
	return a, nil
}
