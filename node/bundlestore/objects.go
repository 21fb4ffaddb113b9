package bundlestore

import (
	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
	"github.com/dnahost/dnahost/netq"
)

// Objects serves a store's bundles to peers as netq Merkle objects: leaf 0
// the manifest, then every chunk, zstd-compressed where that helps.
type Objects struct{ S Store }

func (o Objects) get(root merkle.Hash) (*bundle.Bundle, error) {
	b, err := o.S.Get(keys.Hash(root))
	if err != nil {
		return nil, netq.ErrNotFound
	}
	return b, nil
}

// Leaves lists a bundle's Merkle leaves.
func (o Objects) Leaves(root merkle.Hash) ([]merkle.Hash, error) {
	b, err := o.get(root)
	if err != nil {
		return nil, err
	}
	return b.Leaves(), nil
}

// Chunk returns leaf i's bytes.
func (o Objects) Chunk(root merkle.Hash, i int) (netq.Codec, []byte, error) {
	b, err := o.get(root)
	if err != nil {
		return 0, nil, err
	}
	raw, err := b.LeafData(i)
	if err != nil {
		return 0, nil, netq.ErrNotFound
	}
	if stored, codec := bundle.CompressChunk(raw); codec != 0 {
		return netq.CodecZstd, stored, nil
	}
	return netq.CodecRaw, raw, nil
}
