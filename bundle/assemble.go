package bundle

import (
	"fmt"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
)

// Assemble rebuilds a bundle from its Merkle leaves as peers serve them —
// leaf 0 the manifest bytes, then every chunk in order — and the author's
// signature, which travels beside the chunks. It checks everything Read
// does: the manifest, each chunk against its leaf, the root against want
// (when not zero) and the signature.
func Assemble(leaves [][]byte, signature []byte, want keys.Hash, o ReadOptions) (*Bundle, error) {
	if len(leaves) == 0 {
		return nil, fmt.Errorf("%w: no manifest", ErrContainer)
	}
	mb := leaves[0]
	if len(mb) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: manifest of %d bytes", ErrContainer, len(mb))
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, err
	}
	if m.ChunkCount()+1 != len(leaves) {
		return nil, fmt.Errorf("%w: %d chunks, the manifest implies %d", ErrContainer, len(leaves)-1, m.ChunkCount())
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	if total > o.maxBytes() {
		return nil, fmt.Errorf("%w: files total %d bytes, limit %d", ErrContainer, total, o.maxBytes())
	}
	sizes := chunkSizes(m)
	b := &Bundle{manifest: m, manifestBytes: mb, signature: signature, files: make(map[string][]byte, len(m.Files))}
	b.leaves = make([]merkle.Hash, 0, len(leaves))
	b.leaves = append(b.leaves, merkle.LeafHash(mb))
	for i, c := range leaves[1:] {
		if len(c) != sizes[i] {
			return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrCorrupt, m.ChunkName(i), len(c), sizes[i])
		}
		b.leaves = append(b.leaves, merkle.LeafHash(c))
	}
	b.id = merkle.Root(b.leaves)
	if !want.IsZero() && b.id != want {
		return nil, fmt.Errorf("%w: bundle ID %s, expected %s", ErrCorrupt, b.id, want)
	}
	if err := b.VerifySignature(); err != nil {
		return nil, err
	}
	i := 1
	for _, f := range m.Files {
		data := make([]byte, 0, f.Size)
		for off := int64(0); off < f.Size; off += int64(m.ChunkSize) {
			data = append(data, leaves[i]...)
			i++
		}
		b.files[f.Name] = data
	}
	return b, nil
}

// LeafData returns the bytes of Merkle leaf i: the manifest, then chunks.
func (b *Bundle) LeafData(i int) ([]byte, error) {
	if i < 0 || i >= len(b.leaves) {
		return nil, fmt.Errorf("%w: leaf %d of %d", ErrNoFile, i, len(b.leaves))
	}
	if i == 0 {
		return b.manifestBytes, nil
	}
	cs := int64(b.manifest.ChunkSize)
	j := i - 1
	for _, f := range b.manifest.Files {
		n := chunksOf(f.Size, b.manifest.ChunkSize)
		if j < n {
			off := int64(j) * cs
			return b.files[f.Name][off:min(off+cs, f.Size)], nil
		}
		j -= n
	}
	return nil, fmt.Errorf("%w: leaf %d of %d", ErrNoFile, i, len(b.leaves))
}
