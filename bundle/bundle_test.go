package bundle_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
)

const cs = bundle.MinChunkSize // every test bundle uses the smallest chunks

// randBytes is incompressible, so its chunks are stored raw.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textBytes compresses well, so its chunks are stored as zstd.
func textBytes(seed uint64, n int) []byte {
	words := []string{"once ", "upon ", "a ", "time ", "there ", "was ", "a ", "little ", "model. "}
	r := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

func baseManifest() bundle.Manifest {
	return bundle.Manifest{
		Name:      "test-model",
		Version:   "1.0.0",
		ABI:       1,
		Arch:      "llama",
		Config:    map[string]string{"dim": "64", "n_layers": "2"},
		Model:     bundle.Model{VocabSize: 512, ContextLength: 256, StopTokens: []int32{1, 2}},
		Tokenizer: bundle.Tokenizer{Kind: "llama2c", File: "tokenizer.bin"},
		Entry:     bundle.Entry{Inference: "model.wasm"},
		Weights:   "weights.dnt",
		Resources: bundle.Resources{MemoryPages: 64, TensorBytes: 1 << 20, Handles: 16, WorkPerToken: 1000},
		Consensus: bundle.Consensus{Rule: "majority"},
		ChunkSize: cs,
	}
}

// baseFiles has raw and zstd chunks, a one-byte file and files spanning
// several chunks: chunks 0–2 are model.wasm, 3–6 weights.dnt, 7 tokenizer.bin.
func baseFiles() []bundle.Source {
	return []bundle.Source{
		{Name: "model.wasm", Data: randBytes(1, 2*cs+100)},
		{Name: "weights.dnt", Data: textBytes(2, 3*cs+7)},
		{Name: "tokenizer.bin", Data: []byte{42}},
		{Name: "empty.txt", Data: nil},
	}
}

func build(t testing.TB, m bundle.Manifest, files []bundle.Source, k *keys.PrivateKey) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Build(m, files, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(t testing.TB, b *bundle.Bundle) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func read(data []byte, o bundle.ReadOptions) (*bundle.Bundle, error) {
	return bundle.Read(bytes.NewReader(data), int64(len(data)), o)
}

// sameBundle checks that two bundles agree in everything a reader sees.
func sameBundle(t testing.TB, got, want *bundle.Bundle) {
	t.Helper()
	if got.ID() != want.ID() {
		t.Fatalf("ID %s, want %s", got.ID(), want.ID())
	}
	if !bytes.Equal(got.ManifestBytes(), want.ManifestBytes()) {
		t.Fatal("manifest bytes differ")
	}
	if !bytes.Equal(got.Signature(), want.Signature()) {
		t.Fatal("signatures differ")
	}
	if fmt.Sprint(got.Leaves()) != fmt.Sprint(want.Leaves()) {
		t.Fatal("leaves differ")
	}
	if fmt.Sprint(got.Manifest().FileNames()) != fmt.Sprint(want.Manifest().FileNames()) || got.Size() != want.Size() {
		t.Fatal("file lists differ")
	}
	for _, name := range want.Manifest().FileNames() {
		g, err := got.File(name)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := want.File(name)
		if !bytes.Equal(g, w) {
			t.Fatalf("file %s differs", name)
		}
	}
}

// layout is a parsed container, so tests can damage precise fields.
type layout struct {
	manifestOff, manifestLen int
	sigOff                   int
	countOff                 int
	entries                  []entry
}

type entry struct {
	off         int // of the entry in the table
	leaf        merkle.Hash
	raw, stored int
	codec       byte
	payloadOff  int
}

const entrySize = 32 + 4 + 4 + 1

func parseLayout(t testing.TB, data []byte) layout {
	t.Helper()
	u32 := func(off int) int { return int(binary.LittleEndian.Uint32(data[off:])) }
	if string(data[:8]) != "DNABNDL\x01" {
		t.Fatalf("magic %q", data[:8])
	}
	var l layout
	l.manifestOff, l.manifestLen = 12, u32(8)
	p := 12 + l.manifestLen
	if u32(p) != keys.SignatureSize {
		t.Fatalf("signature length %d", u32(p))
	}
	l.sigOff = p + 4
	l.countOff = l.sigOff + keys.SignatureSize
	n := u32(l.countOff)
	p = l.countOff + 4
	payload := p + n*entrySize
	for i := 0; i < n; i++ {
		e := entry{off: p, raw: u32(p + 32), stored: u32(p + 36), codec: data[p+40], payloadOff: payload}
		copy(e.leaf[:], data[p:])
		l.entries = append(l.entries, e)
		p += entrySize
		payload += e.stored
	}
	if payload != len(data) {
		t.Fatalf("layout ends at %d of %d", payload, len(data))
	}
	return l
}

// assemble writes a container from its parts (no checks), for hand-made and
// re-encoded containers.
func assemble(manifest, sig []byte, leaves []merkle.Hash, raw []int, codecs []byte, payloads [][]byte) []byte {
	var b bytes.Buffer
	u32 := func(v int) { binary.Write(&b, binary.LittleEndian, uint32(v)) }
	b.WriteString("DNABNDL\x01")
	u32(len(manifest))
	b.Write(manifest)
	u32(len(sig))
	b.Write(sig)
	u32(len(leaves))
	for i, l := range leaves {
		b.Write(l[:])
		u32(raw[i])
		u32(len(payloads[i]))
		b.WriteByte(codecs[i])
	}
	for _, p := range payloads {
		b.Write(p)
	}
	return b.Bytes()
}

// recode writes b's container with every chunk stored by codec (0 raw, 1
// zstd at the given level), whatever is smaller.
func recode(b *bundle.Bundle, codec byte, level zstd.EncoderLevel) []byte {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level))
	defer enc.Close()
	var raw []int
	var codecs []byte
	var payloads [][]byte
	for _, c := range b.Chunks() {
		raw = append(raw, len(c.Data))
		codecs = append(codecs, codec)
		if codec == 0 {
			payloads = append(payloads, c.Data)
		} else {
			payloads = append(payloads, enc.EncodeAll(c.Data, nil))
		}
	}
	return assemble(b.ManifestBytes(), b.Signature(), b.Leaves()[1:], raw, codecs, payloads)
}

func TestRoundTrip(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	if err := b.Verify(); err != nil {
		t.Fatal(err)
	}
	data := encode(t, b)
	l := parseLayout(t, data)
	var sawRaw, sawZstd bool
	for _, e := range l.entries {
		sawRaw = sawRaw || e.codec == 0
		sawZstd = sawZstd || e.codec == 1
	}
	if !sawRaw || !sawZstd {
		t.Fatalf("test data should exercise both codecs (raw %v, zstd %v)", sawRaw, sawZstd)
	}
	got, err := read(data, bundle.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, got, b)
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	pub, err := got.Author()
	if err != nil || !pub.Equal(testmodels.Key().Public()) {
		t.Fatalf("author %v, %v", pub, err)
	}
	for i, src := range baseFiles() {
		if got.Manifest().Files[i] != (bundle.File{Name: src.Name, Size: int64(len(src.Data))}) {
			t.Fatalf("manifest file %d = %+v", i, got.Manifest().Files[i])
		}
	}
	if _, err := got.File("nope"); !errors.Is(err, bundle.ErrNoFile) {
		t.Fatalf("missing file: %v", err)
	}
	// Writing again gives the same container.
	if !bytes.Equal(encode(t, got), data) {
		t.Fatal("re-encoding a read bundle changed its bytes")
	}
	if _, err := read(data, bundle.ReadOptions{ExpectID: b.ID()}); err != nil {
		t.Fatalf("ExpectID equal to the ID: %v", err)
	}

	// Through the file system, atomically.
	dir := t.TempDir()
	path := filepath.Join(dir, "m.dna")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("WriteFile left %d entries in the directory", len(ents))
	}
	fb, err := bundle.ReadFile(path, bundle.ReadOptions{ExpectID: b.ID()})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, fb, b)
	onDisk, _ := os.ReadFile(path)
	onDisk[len(onDisk)-1] ^= 0xff
	os.WriteFile(path, onDisk, 0o644)
	if _, err := bundle.ReadFile(path, bundle.ReadOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("a damaged file: %v", err)
	}
}

func TestChunking(t *testing.T) {
	cases := [][]int{
		{0},
		{1},
		{cs - 1},
		{cs},
		{cs + 1},
		{2 * cs},
		{0, 0, 1},
		{3*cs + 5, 0, 1, cs, cs + 1},
	}
	k := testmodels.Key()
	for _, sizes := range cases {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			m := baseManifest()
			m.Weights, m.Tokenizer.File = "", ""
			var files []bundle.Source
			wantChunks := 0
			for i, n := range sizes {
				name := fmt.Sprintf("f%d.bin", i)
				if i == 0 {
					name = "model.wasm"
				}
				files = append(files, bundle.Source{Name: name, Data: randBytes(uint64(i), n)})
				wantChunks += (n + cs - 1) / cs
			}
			b := build(t, m, files, k)
			if got := b.Manifest().ChunkCount(); got != wantChunks {
				t.Fatalf("ChunkCount %d, want %d", got, wantChunks)
			}
			chunks := b.Chunks()
			if len(chunks) != wantChunks || len(b.Leaves()) != wantChunks+1 {
				t.Fatalf("%d chunks, %d leaves; want %d chunks", len(chunks), len(b.Leaves()), wantChunks)
			}
			// Chunks, concatenated per file, give back the files, each chunk
			// full-sized but the last of its file.
			rebuilt := map[string][]byte{}
			for i, c := range chunks {
				if c.Index != i || c.Offset != int64(len(rebuilt[c.File])) || c.Offset%cs != 0 {
					t.Fatalf("chunk %d: index %d, offset %d", i, c.Index, c.Offset)
				}
				if len(c.Data) == 0 || len(c.Data) > cs {
					t.Fatalf("chunk %d has %d bytes", i, len(c.Data))
				}
				rebuilt[c.File] = append(rebuilt[c.File], c.Data...)
				if b.Leaves()[i+1] != merkle.LeafHash(c.Data) {
					t.Fatalf("leaf %d is not the chunk's hash", i+1)
				}
				if got, want := b.Manifest().ChunkName(i), chunkRange(c); !strings.HasSuffix(got, want) {
					t.Fatalf("ChunkName %q, want it to end in %q", got, want)
				}
			}
			for _, f := range files {
				if !bytes.Equal(rebuilt[f.Name], f.Data) {
					t.Fatalf("%s does not reassemble from its chunks", f.Name)
				}
			}
			if !strings.Contains(b.Manifest().ChunkName(wantChunks), "beyond") {
				t.Fatalf("ChunkName past the end: %q", b.Manifest().ChunkName(wantChunks))
			}
			if b.Leaves()[0] != merkle.LeafHash(b.ManifestBytes()) || b.ID() != merkle.Root(b.Leaves()) {
				t.Fatal("the ID is not the Merkle root over [manifest, chunks...]")
			}
			got, err := read(encode(t, b), bundle.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameBundle(t, got, b)
		})
	}
}

// chunkRange is the file and byte range part of a chunk's name.
func chunkRange(c bundle.Chunk) string {
	return fmt.Sprintf("(%s bytes %d–%d)", c.File, c.Offset, c.Offset+int64(len(c.Data)))
}

// Chunk numbers in messages must be global (the Merkle leaf minus one), not
// the index within the chunk's file.
func TestChunkNameNumbering(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	var wrong []string
	for i, c := range b.Chunks() {
		want := fmt.Sprintf("chunk %d %s", i, chunkRange(c))
		if got := b.Manifest().ChunkName(i); got != want {
			wrong = append(wrong, fmt.Sprintf("ChunkName(%d) = %q, want %q", i, got, want))
		}
	}
	checkBug(t, "chunk-name-number", len(wrong) > 0, strings.Join(wrong, "; "))
	// The same numbers must reach Read's errors.
	data := encode(t, b)
	l := parseLayout(t, data)
	data[l.entries[5].payloadOff] ^= 1
	if _, err := read(data, bundle.ReadOptions{}); !strings.Contains(fmt.Sprint(err), "chunk 5 (weights.dnt bytes 131072–196608)") {
		t.Fatalf("damaged chunk 5: %v", err)
	}
}

func TestIDChanges(t *testing.T) {
	k := testmodels.Key()
	base := build(t, baseManifest(), baseFiles(), k)
	if again := build(t, baseManifest(), baseFiles(), k); again.ID() != base.ID() || !bytes.Equal(again.Signature(), base.Signature()) {
		t.Fatal("building the same bundle twice gave a different ID or signature")
	}
	ids := map[keys.Hash]string{base.ID(): "base"}
	differ := func(label string, b *bundle.Bundle) {
		t.Helper()
		if prev, dup := ids[b.ID()]; dup {
			t.Fatalf("%s has the same ID as %s", label, prev)
		}
		ids[b.ID()] = label
	}
	// Any one byte of any file.
	for fi, f := range baseFiles() {
		done := map[int]bool{}
		for _, pos := range []int{0, len(f.Data) / 2, len(f.Data) - 1, 2*cs + 3} {
			if pos < 0 || pos >= len(f.Data) || done[pos] {
				continue
			}
			done[pos] = true
			files := baseFiles()
			files[fi].Data[pos] ^= 0x01
			differ(fmt.Sprintf("%s byte %d", f.Name, pos), build(t, baseManifest(), files, k))
		}
	}
	// A byte appended to the empty file (no chunk before, one after).
	files := baseFiles()
	files[3].Data = []byte{0}
	differ("empty file grown", build(t, baseManifest(), files, k))
	// File order and names.
	files = baseFiles()
	files[2], files[3] = files[3], files[2]
	differ("files reordered", build(t, baseManifest(), files, k))
	files = baseFiles()
	files[3].Name = "empty2.txt"
	differ("file renamed", build(t, baseManifest(), files, k))
	// Every kind of manifest change.
	edits := map[string]func(*bundle.Manifest){
		"version":    func(m *bundle.Manifest) { m.Version = "1.0.1" },
		"name":       func(m *bundle.Manifest) { m.Name = "test-model2" },
		"config":     func(m *bundle.Manifest) { m.Config["dim"] = "65" },
		"config key": func(m *bundle.Manifest) { m.Config["extra"] = "" },
		"stop":       func(m *bundle.Manifest) { m.Model.StopTokens = []int32{2} },
		"resources":  func(m *bundle.Manifest) { m.Resources.WorkPerToken++ },
		"consensus":  func(m *bundle.Manifest) { m.Consensus.Rule = "unanimous" },
		"chunk size": func(m *bundle.Manifest) { m.ChunkSize = 2 * cs },
		"arch":       func(m *bundle.Manifest) { m.Arch = "" },
	}
	for label, edit := range edits {
		m := baseManifest()
		edit(&m)
		differ(label, build(t, m, baseFiles(), k))
	}
	differ("author", build(t, baseManifest(), baseFiles(), otherKey(t)))

	// The codec each chunk is stored with is not part of the ID.
	data := encode(t, base)
	for _, c := range []struct {
		name  string
		codec byte
		level zstd.EncoderLevel
	}{{"all raw", 0, zstd.SpeedDefault}, {"zstd fastest", 1, zstd.SpeedFastest}, {"zstd best", 1, zstd.SpeedBestCompression}} {
		re := recode(base, c.codec, c.level)
		if bytes.Equal(re, data) {
			t.Fatalf("%s: the re-encoding is the original container", c.name)
		}
		got, err := read(re, bundle.ReadOptions{ExpectID: base.ID()})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		sameBundle(t, got, base)
	}
}

func otherKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	seed := keys.SHA256([]byte("another author"))
	k, err := keys.ParsePrivateKey(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerifyDetectsChangedFile(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	// File returns the bundle's own bytes, so changing them is what a
	// memory corruption would look like; Verify must notice.
	w, _ := b.File("weights.dnt")
	w[cs+10] ^= 0x80
	err := b.Verify()
	if !errors.Is(err, bundle.ErrCorrupt) || !strings.Contains(err.Error(), "(weights.dnt bytes 65536–131072): hash mismatch") {
		t.Fatalf("Verify after a change: %v", err)
	}
	w[cs+10] ^= 0x80
	if err := b.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptPayload(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	data := encode(t, b)
	l := parseLayout(t, data)
	for i, e := range l.entries {
		name := chunkRange(b.Chunks()[i])
		for _, pos := range []int{0, e.stored / 2, e.stored - 1} {
			bad := bytes.Clone(data)
			bad[e.payloadOff+pos] ^= 0x10
			_, err := read(bad, bundle.ReadOptions{})
			if !errors.Is(err, bundle.ErrCorrupt) || !strings.Contains(err.Error(), name) {
				t.Fatalf("codec %d, byte %d of %s flipped: %v", e.codec, pos, name, err)
			}
		}
	}
	// Chunk 2 is the raw tail of model.wasm: check the exact message once.
	bad := bytes.Clone(data)
	bad[l.entries[2].payloadOff] ^= 1
	_, err := read(bad, bundle.ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "chunk 2 (model.wasm bytes 131072–131172)") || !strings.Contains(err.Error(), "hash mismatch") {
		t.Fatalf("error %v", err)
	}
}

func TestCorruptChunkTable(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	data := encode(t, b)
	l := parseLayout(t, data)
	u32 := func(d []byte, off, v int) { binary.LittleEndian.PutUint32(d[off:], uint32(v)) }

	// A changed leaf hash changes the ID, so the signature fails; with
	// ExpectID the ID mismatch is reported first.
	bad := bytes.Clone(data)
	bad[l.entries[1].off+5] ^= 1
	if _, err := read(bad, bundle.ReadOptions{}); !errors.Is(err, bundle.ErrSignature) {
		t.Fatalf("leaf hash changed: %v", err)
	}
	if _, err := read(bad, bundle.ReadOptions{ExpectID: b.ID()}); !errors.Is(err, bundle.ErrCorrupt) || !strings.Contains(err.Error(), b.ID().String()) {
		t.Fatalf("leaf hash changed, ExpectID: %v", err)
	}

	// Raw length, stored lengths (keeping their sum), codec, count.
	rawChunk, zChunk := l.entries[0], l.entries[3]
	if rawChunk.codec != 0 || zChunk.codec != 1 {
		t.Fatalf("codecs %d, %d", rawChunk.codec, zChunk.codec)
	}
	cases := map[string]struct {
		edit func(d []byte)
		want error
		text string
	}{
		"raw length": {func(d []byte) { u32(d, zChunk.off+32, zChunk.raw-1) }, bundle.ErrContainer, "(weights.dnt bytes 0–65536) has raw length 65535"},
		"stored lengths shifted": {func(d []byte) {
			u32(d, zChunk.off+36, zChunk.stored+1)
			u32(d, l.entries[4].off+36, l.entries[4].stored-1)
		}, bundle.ErrCorrupt, "(weights.dnt bytes 0–65536)"},
		"raw stored short": {func(d []byte) {
			u32(d, rawChunk.off+36, rawChunk.stored-1)
			u32(d, l.entries[1].off+36, l.entries[1].stored+1)
		}, bundle.ErrContainer, "chunk 0 (model.wasm bytes 0–65536) stored as 65535"},
		"unknown codec":     {func(d []byte) { d[zChunk.off+40] = 7 }, bundle.ErrContainer, "unknown codec 7"},
		"raw read as zstd":  {func(d []byte) { d[rawChunk.off+40] = 1 }, bundle.ErrCorrupt, "chunk 0 (model.wasm bytes 0–65536)"},
		"zstd read as raw":  {func(d []byte) { d[zChunk.off+40] = 0 }, bundle.ErrContainer, "(weights.dnt bytes 0–65536) stored as"},
		"one chunk too few": {func(d []byte) { u32(d, l.countOff, len(l.entries)-1) }, bundle.ErrContainer, "chunks"},
		"one chunk more":    {func(d []byte) { u32(d, l.countOff, len(l.entries)+1) }, bundle.ErrContainer, "chunks"},
		"stored too large":  {func(d []byte) { u32(d, zChunk.off+36, 1<<31) }, bundle.ErrContainer, ""},
		"manifest length":   {func(d []byte) { u32(d, 8, l.manifestLen-2) }, bundle.ErrManifest, ""},
		"manifest too big":  {func(d []byte) { u32(d, 8, bundle.MaxManifestBytes+1) }, bundle.ErrContainer, ""},
		"signature length":  {func(d []byte) { u32(d, l.sigOff-4, 63) }, bundle.ErrSignature, ""},
		"magic":             {func(d []byte) { d[7] = 2 }, bundle.ErrContainer, "magic"},
	}
	for name, c := range cases {
		bad := bytes.Clone(data)
		c.edit(bad)
		_, err := read(bad, bundle.ReadOptions{})
		if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.text) {
			t.Errorf("%s: %v (want %v, %q)", name, err, c.want, c.text)
		}
	}
}

func TestSignatureChecks(t *testing.T) {
	author, other := testmodels.Key(), otherKey(t)
	b := build(t, baseManifest(), baseFiles(), author)
	data := encode(t, b)
	l := parseLayout(t, data)
	id := b.ID()
	withSig := func(d []byte, sig []byte) []byte {
		d = bytes.Clone(d)
		copy(d[l.sigOff:], sig)
		return d
	}
	rejected := map[string][]byte{
		"flipped bit":       withSig(data, flip(b.Signature(), 17)),
		"other key":         withSig(data, other.SignDomain(bundle.SignatureDomain, id[:])),
		"no domain":         withSig(data, author.Sign(id)),
		"other domain":      withSig(data, author.SignDomain("block", id[:])),
		"zero":              withSig(data, make([]byte, 64)),
		"over another ID":   withSig(data, author.SignDomain(bundle.SignatureDomain, flip(id[:], 0))),
		"other author only": swapAuthor(t, data, l, other, b.Signature()),
	}
	for name, d := range rejected {
		if _, err := read(d, bundle.ReadOptions{}); !errors.Is(err, bundle.ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Positive control for the swap: the other author's own signature over
	// the new ID is accepted, so the rejection above is the signature's doing.
	newManifest := bytes.Replace(b.ManifestBytes(), []byte(author.Public().Hex()), []byte(other.Public().Hex()), 1)
	newID := merkle.Root(append([]merkle.Hash{merkle.LeafHash(newManifest)}, b.Leaves()[1:]...))
	got, err := read(swapAuthor(t, data, l, other, other.SignDomain(bundle.SignatureDomain, newID[:])), bundle.ReadOptions{})
	if err != nil {
		t.Fatalf("re-signed by the new author: %v", err)
	}
	if got.ID() != newID || got.ID() == id {
		t.Fatal("the author is not part of the ID")
	}
}

func flip(b []byte, bit int) []byte {
	b = bytes.Clone(b)
	b[bit/8] ^= 1 << (bit % 8)
	return b
}

// swapAuthor replaces the manifest's author (same length) and the signature.
func swapAuthor(t testing.TB, data []byte, l layout, k *keys.PrivateKey, sig []byte) []byte {
	t.Helper()
	d := bytes.Clone(data)
	m := d[l.manifestOff : l.manifestOff+l.manifestLen]
	i := bytes.Index(m, []byte(`"author": "`))
	if i < 0 {
		t.Fatal("no author in the manifest")
	}
	copy(m[i+len(`"author": "`):], k.Public().Hex())
	copy(d[l.sigOff:], sig)
	return d
}

func TestTruncatedAndTrailing(t *testing.T) {
	m := baseManifest()
	files := []bundle.Source{
		{Name: "model.wasm", Data: randBytes(5, cs+10)},
		{Name: "weights.dnt", Data: textBytes(6, cs)},
		{Name: "tokenizer.bin", Data: []byte("tok")},
	}
	data := encode(t, build(t, m, files, testmodels.Key()))
	l := parseLayout(t, data)
	var cuts []int
	for c := 0; c < l.entries[0].payloadOff+64; c++ { // every byte of the header
		cuts = append(cuts, c)
	}
	for c := l.entries[0].payloadOff + 64; c < len(data); c += 1013 {
		cuts = append(cuts, c)
	}
	for _, e := range l.entries { // each payload's edges
		cuts = append(cuts, e.payloadOff+e.stored-1, e.payloadOff+e.stored)
	}
	for c := len(data) - 16; c < len(data); c++ {
		cuts = append(cuts, c)
	}
	for _, c := range cuts {
		if c >= len(data) {
			continue
		}
		// The file is shorter, and knows it.
		if _, err := read(data[:c], bundle.ReadOptions{}); !errors.Is(err, bundle.ErrContainer) {
			t.Fatalf("cut at %d: %v", c, err)
		}
		// The size claims more than the reader delivers.
		if _, err := bundle.Read(bytes.NewReader(data[:c]), int64(len(data)), bundle.ReadOptions{}); !errors.Is(err, bundle.ErrContainer) {
			t.Fatalf("cut at %d, full size claimed: %v", c, err)
		}
	}
	for _, extra := range [][]byte{{0}, bytes.Repeat([]byte{0xAB}, 100)} {
		if _, err := read(append(bytes.Clone(data), extra...), bundle.ReadOptions{}); !errors.Is(err, bundle.ErrContainer) {
			t.Fatalf("%d trailing bytes: %v", len(extra), err)
		}
	}
	// A size smaller than the data: the reader must stop at the size.
	if _, err := bundle.Read(bytes.NewReader(data), int64(len(data)-1), bundle.ReadOptions{}); !errors.Is(err, bundle.ErrContainer) {
		t.Fatalf("size one short: %v", err)
	}
	if _, err := read(data, bundle.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestMaxBytes(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	data := encode(t, b)
	if _, err := read(data, bundle.ReadOptions{MaxBytes: b.Size()}); err != nil {
		t.Fatalf("MaxBytes equal to the size: %v", err)
	}
	if _, err := read(data, bundle.ReadOptions{MaxBytes: b.Size() - 1}); !errors.Is(err, bundle.ErrContainer) {
		t.Fatalf("MaxBytes one short: %v", err)
	}

	// Hand-made containers whose manifests declare huge files but hold no
	// data: each must be refused quickly, without allocating for the files.
	huge := func(sizes ...int64) []byte {
		m := baseManifest()
		m.Weights, m.Tokenizer.File = "", ""
		m.ChunkSize = bundle.MaxChunkSize
		m.Author = testmodels.Key().Public().Hex()
		m.Format = bundle.Format
		for i, s := range sizes {
			name := fmt.Sprintf("f%d", i)
			if i == 0 {
				name = "model.wasm"
			}
			m.Files = append(m.Files, bundle.File{Name: name, Size: s})
		}
		mb, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return assemble(mb, make([]byte, 64), nil, nil, nil, nil)
	}
	cases := map[string]struct {
		data []byte
		o    bundle.ReadOptions
	}{
		"64 GiB file, default limit":   {huge(bundle.MaxFileBytes), bundle.ReadOptions{}},
		"4×8 GiB, default limit":       {huge(8<<30, 8<<30, 8<<30, 8<<30), bundle.ReadOptions{}},
		"1 GiB file, 1 MiB limit":      {huge(1 << 30), bundle.ReadOptions{MaxBytes: 1 << 20}},
		"8 GiB within limit, no table": {huge(8 << 30), bundle.ReadOptions{}},
	}
	for name, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := read(c.data, c.o)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, bundle.ErrContainer) {
			t.Errorf("%s: %v", name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", name, alloc)
		}
		if elapsed > time.Second {
			t.Errorf("%s: took %v", name, elapsed)
		}
	}
	// A chunk table claiming the right count but larger than the file (the
	// files stay under the expansion floor, so the table check is reached).
	m := huge(48 << 20)
	binary.LittleEndian.PutUint32(m[len(m)-4:], uint32(48<<20/bundle.MaxChunkSize))
	if _, err := read(m, bundle.ReadOptions{}); !errors.Is(err, bundle.ErrContainer) || !strings.Contains(err.Error(), "chunk table") {
		t.Fatalf("oversized chunk table: %v", err)
	}
}

func TestExpectID(t *testing.T) {
	b := build(t, baseManifest(), baseFiles(), testmodels.Key())
	data := encode(t, b)
	wrong := b.ID()
	wrong[31] ^= 1
	_, err := read(data, bundle.ReadOptions{ExpectID: wrong})
	if !errors.Is(err, bundle.ErrCorrupt) || !strings.Contains(err.Error(), wrong.String()) || !strings.Contains(err.Error(), b.ID().String()) {
		t.Fatalf("wrong ExpectID: %v", err)
	}
}

// A manifest at the size limit must still be readable; Build must not make
// bundles that Read refuses.
func TestBuildManifestSizeLimit(t *testing.T) {
	m := baseManifest()
	m.Config = map[string]string{}
	for i := 0; i < bundle.MaxConfigEntries; i++ {
		m.Config[fmt.Sprintf("k%03d", i)] = strings.Repeat("<", 4096) // JSON escapes '<' as \u003c
	}
	b, err := bundle.Build(m, []bundle.Source{{Name: "model.wasm", Data: []byte{1}}, {Name: "weights.dnt"}, {Name: "tokenizer.bin"}}, testmodels.Key())
	if err != nil {
		if !errors.Is(err, bundle.ErrManifest) {
			t.Fatalf("Build refused with %v, want ErrManifest", err)
		}
		return
	}
	_, err = read(encode(t, b), bundle.ReadOptions{})
	checkBug(t, "build-manifest-max", err != nil, fmt.Sprintf("Build signed a %d-byte manifest that Read refuses: %v", len(b.ManifestBytes()), err))
}

func TestBuildErrors(t *testing.T) {
	k := testmodels.Key()
	files := baseFiles()
	dup := append(baseFiles(), bundle.Source{Name: "model.wasm", Data: []byte{1}})
	if _, err := bundle.Build(baseManifest(), dup, k); !errors.Is(err, bundle.ErrManifest) {
		t.Fatalf("duplicate file: %v", err)
	}
	if _, err := bundle.Build(baseManifest(), files[1:], k); !errors.Is(err, bundle.ErrManifest) {
		t.Fatalf("entry module missing: %v", err)
	}
	m := baseManifest()
	m.ChunkSize = 0 // defaulted
	b, err := bundle.Build(m, files, k)
	if err != nil || b.Manifest().ChunkSize != bundle.DefaultChunkSize || b.Manifest().Format != bundle.Format {
		t.Fatalf("defaults: %v", err)
	}
	m.ChunkSize = cs + 1
	if _, err := bundle.Build(m, files, k); !errors.Is(err, bundle.ErrManifest) {
		t.Fatalf("bad chunk size: %v", err)
	}
}

// A chunk of MaxChunkSize must round-trip through zstd within the
// decoder's memory limit.
func TestMaxChunkSize(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB chunks")
	}
	m := baseManifest()
	m.ChunkSize = bundle.MaxChunkSize
	m.Weights, m.Tokenizer.File = "", ""
	files := []bundle.Source{{Name: "model.wasm", Data: textBytes(9, bundle.MaxChunkSize+3)}}
	b := build(t, m, files, testmodels.Key())
	data := encode(t, b)
	if l := parseLayout(t, data); len(l.entries) != 2 || l.entries[0].codec != 1 {
		t.Fatalf("layout %+v", l.entries)
	}
	got, err := read(data, bundle.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, got, b)
}

// errReader fails after n bytes, as a broken disk or connection would.
type errReader struct {
	r io.Reader
	n int
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	p = p[:min(len(p), e.n)]
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

func TestReadError(t *testing.T) {
	data := encode(t, build(t, baseManifest(), baseFiles(), testmodels.Key()))
	// (An error inside the magic is reported as a bad magic instead.)
	for _, n := range []int{8, 10, 500, len(data) - 1} {
		_, err := bundle.Read(&errReader{bytes.NewReader(data), n}, int64(len(data)), bundle.ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("after %d bytes: %v", n, err)
		}
	}
}

func FuzzReadContainer(f *testing.F) {
	k := testmodels.Key()
	m := baseManifest()
	m.Weights, m.Tokenizer.File = "", ""
	small := build(f, m, []bundle.Source{
		{Name: "model.wasm", Data: textBytes(1, cs+50)},
		{Name: "raw.bin", Data: randBytes(2, 300)},
		{Name: "empty"},
	}, k)
	data := encode(f, small)
	if !bytes.Equal(resignContainer(data, k), data) {
		f.Fatal("resignContainer changed a well-signed container")
	}
	for _, resign := range []bool{false, true} {
		f.Add(data, resign)
		f.Add(data[:len(data)/2], resign)
		f.Add(recode(small, 0, zstd.SpeedDefault), resign)
		one := build(f, m, []bundle.Source{{Name: "model.wasm", Data: []byte("x")}}, k)
		f.Add(encode(f, one), resign)
		f.Add([]byte("DNABNDL\x01"), resign)
	}
	f.Fuzz(func(t *testing.T, data []byte, resign bool) {
		if resign {
			// Sign whatever the manifest and table now say, so mutations
			// reach the chunk decoding behind the signature check.
			data = resignContainer(data, k)
		}
		b, err := read(data, bundle.ReadOptions{MaxBytes: 1 << 20})
		if err != nil {
			if !errors.Is(err, bundle.ErrContainer) && !errors.Is(err, bundle.ErrManifest) &&
				!errors.Is(err, bundle.ErrSignature) && !errors.Is(err, bundle.ErrCorrupt) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if err := b.Verify(); err != nil {
			t.Fatalf("Read accepted a bundle that does not verify: %v", err)
		}
		again, err := read(encode(t, b), bundle.ReadOptions{ExpectID: b.ID()})
		if err != nil {
			t.Fatalf("re-encoded bundle does not read back: %v", err)
		}
		sameBundle(t, again, b)
	})
}

// resignContainer replaces the signature of a (possibly malformed)
// container by k's signature over the ID its manifest and chunk table
// imply, or returns data unchanged when it cannot find them.
func resignContainer(data []byte, k *keys.PrivateKey) []byte {
	if len(data) < 12 {
		return data
	}
	u32 := func(off int) int { return int(binary.LittleEndian.Uint32(data[off:])) }
	mEnd := 12 + u32(8)
	sigOff := mEnd + 4
	countOff := sigOff + keys.SignatureSize
	if countOff+4 > len(data) {
		return data
	}
	n := u32(countOff)
	if n > (len(data)-countOff-4)/entrySize {
		return data
	}
	leaves := []merkle.Hash{merkle.LeafHash(data[12:mEnd])}
	for i := 0; i < n; i++ {
		var h merkle.Hash
		copy(h[:], data[countOff+4+i*entrySize:])
		leaves = append(leaves, h)
	}
	id := merkle.Root(leaves)
	out := bytes.Clone(data)
	copy(out[sigOff:], k.SignDomain(bundle.SignatureDomain, id[:]))
	return out
}
