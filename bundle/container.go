package bundle

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
)

// The .dna container:
//
//	magic      "DNABNDL\x01"
//	u32        manifest length, then the manifest bytes
//	u32        signature length (64), then the signature
//	u32        chunk count, then per chunk: leaf hash [32], u32 raw length,
//	           u32 stored length, u8 codec (0 raw, 1 zstd)
//	           the chunk payloads, in order
//
// All integers are little-endian.
var containerMagic = [8]byte{'D', 'N', 'A', 'B', 'N', 'D', 'L', 1}

// Expansion bound of a container: files may total at most MaxExpansion
// times the container's size, beyond the first MaxExpansionFloor bytes.
const (
	MaxExpansion      = 256
	MaxExpansionFloor = 64 << 20
)

const (
	codecRaw  = 0
	codecZstd = 1
	entrySize = 32 + 4 + 4 + 1
)

// ErrContainer reports a .dna file that is not well-formed.
var ErrContainer = errors.New("bundle: malformed .dna container")

// ReadOptions bounds what a reader will accept. The zero value means the
// defaults.
type ReadOptions struct {
	// MaxBytes bounds the total size of the files (default 16 GiB), so a
	// small, highly compressed container cannot make the reader allocate
	// without limit.
	MaxBytes int64
	// ExpectID, when set, must equal the bundle's Merkle root.
	ExpectID keys.Hash
}

func (o ReadOptions) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return 16 << 30
	}
	return o.MaxBytes
}

var (
	encOnce sync.Once
	encoder *zstd.Encoder
	decOnce sync.Once
	decoder *zstd.Decoder
)

func zstdEncoder() *zstd.Encoder {
	encOnce.Do(func() {
		encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	})
	return encoder
}

func zstdDecoder() *zstd.Decoder {
	decOnce.Do(func() {
		decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxChunkSize),
			zstd.WithDecoderMaxWindow(MaxChunkSize))
	})
	return decoder
}

// CompressChunk returns the stored form of a chunk and its codec: zstd when
// that is smaller, else the raw bytes.
func CompressChunk(raw []byte) ([]byte, byte) {
	c := zstdEncoder().EncodeAll(raw, nil)
	if len(c) < len(raw) {
		return c, codecZstd
	}
	return raw, codecRaw
}

// DecompressChunk expands a stored chunk of known raw length into dst (which
// must have room for rawLen bytes) and checks it against its leaf hash.
func DecompressChunk(dst, stored []byte, codec byte, rawLen int, leaf merkle.Hash) error {
	switch codec {
	case codecRaw:
		if len(stored) != rawLen {
			return fmt.Errorf("%w: raw chunk of %d bytes, want %d", ErrContainer, len(stored), rawLen)
		}
		copy(dst, stored)
	case codecZstd:
		out, err := zstdDecoder().DecodeAll(stored, dst[:0:rawLen])
		if err != nil {
			return fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		if len(out) != rawLen || (rawLen > 0 && &out[0] != &dst[0]) {
			return fmt.Errorf("%w: chunk expands to %d bytes, want %d", ErrCorrupt, len(out), rawLen)
		}
	default:
		return fmt.Errorf("%w: unknown codec %d", ErrContainer, codec)
	}
	if merkle.LeafHash(dst[:rawLen]) != leaf {
		return fmt.Errorf("%w: hash mismatch", ErrCorrupt)
	}
	return nil
}

// WriteTo writes the bundle as a .dna container.
func (b *Bundle) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	u32 := func(v int) { binary.Write(cw, binary.LittleEndian, uint32(v)) }
	cw.Write(containerMagic[:])
	u32(len(b.manifestBytes))
	cw.Write(b.manifestBytes)
	u32(len(b.signature))
	cw.Write(b.signature)
	chunks := b.Chunks()
	stored := make([][]byte, len(chunks))
	codecs := make([]byte, len(chunks))
	for i, c := range chunks {
		stored[i], codecs[i] = CompressChunk(c.Data)
	}
	u32(len(chunks))
	for i, c := range chunks {
		leaf := b.leaves[i+1]
		cw.Write(leaf[:])
		u32(len(c.Data))
		u32(len(stored[i]))
		cw.Write([]byte{codecs[i]})
	}
	for _, s := range stored {
		cw.Write(s)
	}
	if cw.err == nil {
		cw.err = cw.w.(*bufio.Writer).Flush()
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// WriteFile writes the bundle to path atomically (temporary file, then rename).
func (b *Bundle) WriteFile(path string) error {
	// A temporary file of its own: writers of the same bundle at once must
	// not interleave in one file.
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := b.WriteTo(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// ReadFile opens and fully verifies a .dna file.
func ReadFile(path string, o ReadOptions) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b, err := Read(bufio.NewReaderSize(f, 1<<20), st.Size(), o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Read decodes and fully verifies a container of size bytes: every chunk
// against its leaf hash (a bad chunk is named), the Merkle root, and the
// author's signature.
func Read(r io.Reader, size int64, o ReadOptions) (*Bundle, error) {
	rd := &limitReader{r: r, left: size}
	var magic [8]byte
	if err := rd.full(magic[:]); err != nil || magic != containerMagic {
		return nil, fmt.Errorf("%w: not a .dna file (bad magic)", ErrContainer)
	}
	mlen, err := rd.u32()
	if err != nil {
		return nil, err
	}
	if mlen > MaxManifestBytes || int64(mlen) > rd.left {
		return nil, fmt.Errorf("%w: manifest of %d bytes", ErrContainer, mlen)
	}
	mb := make([]byte, mlen)
	if err := rd.full(mb); err != nil {
		return nil, err
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, err
	}
	slen, err := rd.u32()
	if err != nil {
		return nil, err
	}
	if slen != keys.SignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrSignature, slen)
	}
	sig := make([]byte, slen)
	if err := rd.full(sig); err != nil {
		return nil, err
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	if total > o.maxBytes() {
		return nil, fmt.Errorf("%w: files total %d bytes, limit %d", ErrContainer, total, o.maxBytes())
	}
	// zstd turns 16 MiB of zeros into under 2 KiB: bound the expansion so a
	// small signed container cannot make the reader fill gigabytes.
	if total > MaxExpansionFloor && total/MaxExpansion > size {
		return nil, fmt.Errorf("%w: %d bytes of files in a %d-byte container (more than %d× expansion)", ErrContainer, total, size, MaxExpansion)
	}
	n, err := rd.u32()
	if err != nil {
		return nil, err
	}
	if int(n) != m.ChunkCount() {
		return nil, fmt.Errorf("%w: %d chunks, the manifest implies %d", ErrContainer, n, m.ChunkCount())
	}
	if int64(n)*entrySize > rd.left {
		return nil, fmt.Errorf("%w: chunk table larger than the file", ErrContainer)
	}
	type entry struct {
		leaf        merkle.Hash
		raw, stored int
		codec       byte
	}
	table := make([]entry, n)
	var payload int64
	rawSizes := chunkSizes(m)
	for i := range table {
		var e [entrySize]byte
		if err := rd.full(e[:]); err != nil {
			return nil, err
		}
		t := &table[i]
		copy(t.leaf[:], e[:32])
		t.raw = int(binary.LittleEndian.Uint32(e[32:]))
		t.stored = int(binary.LittleEndian.Uint32(e[36:]))
		t.codec = e[40]
		if t.raw != rawSizes[i] {
			return nil, fmt.Errorf("%w: %s has raw length %d, want %d", ErrContainer, m.ChunkName(i), t.raw, rawSizes[i])
		}
		if t.codec != codecRaw && t.codec != codecZstd {
			return nil, fmt.Errorf("%w: %s: unknown codec %d", ErrContainer, m.ChunkName(i), t.codec)
		}
		if t.stored > MaxChunkSize+MaxChunkSize/8 || (t.codec == codecRaw && t.stored != t.raw) {
			return nil, fmt.Errorf("%w: %s stored as %d bytes with codec %d", ErrContainer, m.ChunkName(i), t.stored, t.codec)
		}
		payload += int64(t.stored)
	}
	if payload != rd.left {
		return nil, fmt.Errorf("%w: chunk payloads of %d bytes, %d remain in the file", ErrContainer, payload, rd.left)
	}
	b := &Bundle{manifest: m, manifestBytes: mb, signature: sig, files: make(map[string][]byte, len(m.Files))}
	b.leaves = make([]merkle.Hash, 0, n+1)
	b.leaves = append(b.leaves, merkle.LeafHash(mb))
	for _, e := range table {
		b.leaves = append(b.leaves, e.leaf)
	}
	b.id = merkle.Root(b.leaves)
	if !o.ExpectID.IsZero() && b.id != o.ExpectID {
		return nil, fmt.Errorf("%w: bundle ID %s, expected %s", ErrCorrupt, b.id, o.ExpectID)
	}
	if err := b.VerifySignature(); err != nil {
		return nil, err
	}
	// Chunks arrive in file order; allocate each file only as its first
	// chunk arrives, and fill it chunk by chunk.
	var stored []byte
	i := 0
	for _, f := range m.Files {
		data := make([]byte, f.Size)
		for off := int64(0); off < f.Size; off += int64(m.ChunkSize) {
			e := table[i]
			want := e.raw
			if cap(stored) < e.stored {
				stored = make([]byte, e.stored)
			}
			if err := rd.full(stored[:e.stored]); err != nil {
				return nil, err
			}
			if err := DecompressChunk(data[off:off+int64(want)], stored[:e.stored], e.codec, want, e.leaf); err != nil {
				return nil, fmt.Errorf("%s: %w", m.ChunkName(i), err)
			}
			i++
		}
		b.files[f.Name] = data
	}
	return b, nil
}

// chunkSizes lists the raw size of every chunk the manifest implies.
func chunkSizes(m *Manifest) []int {
	out := make([]int, 0, m.ChunkCount())
	for _, f := range m.Files {
		for off := int64(0); off < f.Size; off += int64(m.ChunkSize) {
			out = append(out, int(min(int64(m.ChunkSize), f.Size-off)))
		}
	}
	return out
}

type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) full(p []byte) error {
	if int64(len(p)) > l.left {
		return fmt.Errorf("%w: truncated", ErrContainer)
	}
	if _, err := io.ReadFull(l.r, p); err != nil {
		return fmt.Errorf("%w: truncated: %v", ErrContainer, err)
	}
	l.left -= int64(len(p))
	return nil
}

func (l *limitReader) u32() (uint32, error) {
	var b [4]byte
	if err := l.full(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}
