package bundle

import (
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
)

// SignatureDomain separates bundle signatures from every other signature.
const SignatureDomain = "bundle"

var (
	// ErrSignature reports a bundle whose author signature is missing or wrong.
	ErrSignature = errors.New("bundle: bad author signature")
	// ErrCorrupt reports content that does not match its hashes.
	ErrCorrupt = errors.New("bundle: corrupt")
	// ErrNoFile reports a file the bundle does not have.
	ErrNoFile = errors.New("bundle: no such file")
)

// Bundle is a complete, verified bundle in memory.
type Bundle struct {
	manifest      *Manifest
	manifestBytes []byte
	signature     []byte
	files         map[string][]byte
	leaves        []merkle.Hash // leaf 0 is the manifest, then every chunk
	id            keys.Hash
}

// Source is one file to put in a bundle.
type Source struct {
	Name string
	Data []byte
}

// Build makes and signs a bundle. The manifest's Files, ChunkSize (when
// zero) and Author are filled in from files and key.
func Build(m Manifest, files []Source, key *keys.PrivateKey) (*Bundle, error) {
	if m.Format == "" {
		m.Format = Format
	}
	if m.ChunkSize == 0 {
		m.ChunkSize = DefaultChunkSize
	}
	m.Files = make([]File, len(files))
	data := make(map[string][]byte, len(files))
	for i, f := range files {
		m.Files[i] = File{Name: f.Name, Size: int64(len(f.Data))}
		data[f.Name] = f.Data
	}
	m.Author = key.Public().Hex()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	mb, err := m.Encode()
	if err != nil {
		return nil, err
	}
	if len(mb) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: encodes to %d bytes, limit %d", ErrManifest, len(mb), MaxManifestBytes)
	}
	b := &Bundle{manifest: &m, manifestBytes: mb, files: data}
	b.leaves = append(b.leaves, merkle.LeafHash(mb))
	for _, c := range b.Chunks() {
		b.leaves = append(b.leaves, merkle.LeafHash(c.Data))
	}
	b.id = merkle.Root(b.leaves)
	b.signature = key.SignDomain(SignatureDomain, b.id[:])
	return b, nil
}

// ID is the bundle's Merkle root.
func (b *Bundle) ID() keys.Hash { return b.id }

// Manifest returns the manifest (callers must not modify it).
func (b *Bundle) Manifest() *Manifest { return b.manifest }

// ManifestBytes are the manifest's exact bytes, the first Merkle leaf.
func (b *Bundle) ManifestBytes() []byte { return b.manifestBytes }

// Signature is the author's signature over the ID.
func (b *Bundle) Signature() []byte { return b.signature }

// Leaves returns the Merkle leaves: the manifest, then each chunk.
func (b *Bundle) Leaves() []merkle.Hash { return b.leaves }

// File returns a file's bytes.
func (b *Bundle) File(name string) ([]byte, error) {
	d, ok := b.files[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoFile, name)
	}
	return d, nil
}

// Size is the total size of the files.
func (b *Bundle) Size() int64 {
	var n int64
	for _, f := range b.manifest.Files {
		n += f.Size
	}
	return n
}

// Chunk is one chunk of a file.
type Chunk struct {
	Index  int    // chunk number; Merkle leaf Index+1
	File   string // the file it belongs to
	Offset int64  // its offset in that file
	Data   []byte
}

// Chunks cuts the files into chunks, in manifest order.
func (b *Bundle) Chunks() []Chunk {
	var out []Chunk
	cs := int64(b.manifest.ChunkSize)
	for _, f := range b.manifest.Files {
		d := b.files[f.Name]
		for off := int64(0); off < f.Size; off += cs {
			out = append(out, Chunk{Index: len(out), File: f.Name, Offset: off, Data: d[off:min(off+cs, f.Size)]})
		}
	}
	return out
}

// ChunkName describes chunk i for error messages: its file and byte range.
func (m *Manifest) ChunkName(i int) string {
	cs := int64(m.ChunkSize)
	j := i // index within the current file
	for _, f := range m.Files {
		n := chunksOf(f.Size, m.ChunkSize)
		if j < n {
			lo := int64(j) * cs
			return fmt.Sprintf("chunk %d (%s bytes %d–%d)", i, f.Name, lo, min(lo+cs, f.Size))
		}
		j -= n
	}
	return fmt.Sprintf("chunk %d (beyond the files)", i)
}

// Author returns the author's public key.
func (b *Bundle) Author() (*keys.PublicKey, error) {
	return keys.ParsePublicKeyHex(b.manifest.Author)
}

// VerifySignature checks the author signature over the ID.
func (b *Bundle) VerifySignature() error {
	pub, err := b.Author()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if err := pub.VerifyDomain(SignatureDomain, b.id[:], b.signature); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}

// Verify recomputes every chunk hash and the root, and checks the signature.
func (b *Bundle) Verify() error {
	if merkle.LeafHash(b.manifestBytes) != b.leaves[0] {
		return fmt.Errorf("%w: manifest does not match its leaf", ErrCorrupt)
	}
	chunks := b.Chunks()
	if len(chunks)+1 != len(b.leaves) {
		return fmt.Errorf("%w: %d chunks for %d leaves", ErrCorrupt, len(chunks), len(b.leaves))
	}
	for _, c := range chunks {
		if merkle.LeafHash(c.Data) != b.leaves[c.Index+1] {
			return fmt.Errorf("%w: %s: hash mismatch", ErrCorrupt, b.manifest.ChunkName(c.Index))
		}
	}
	if merkle.Root(b.leaves) != b.id {
		return fmt.Errorf("%w: Merkle root mismatch", ErrCorrupt)
	}
	return b.VerifySignature()
}
