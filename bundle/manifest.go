package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
)

// Format is the manifest format identifier of this version.
const Format = "dna-bundle/1"

// Size limits of the format.
const (
	MaxManifestBytes = 1 << 20
	MaxFiles         = 256
	MaxFileBytes     = 1 << 36 // 64 GiB
	MinChunkSize     = 1 << 16
	MaxChunkSize     = 1 << 24
	DefaultChunkSize = 1 << 20
	MaxConfigEntries = 256
)

// ErrManifest reports a manifest that does not parse or validate.
var ErrManifest = errors.New("bundle: invalid manifest")

// Manifest describes a bundle. It is stored as JSON, and its exact bytes are
// the first leaf of the bundle's Merkle tree.
type Manifest struct {
	Format    string            `json:"format"`
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	ABI       int               `json:"abi"`
	Arch      string            `json:"arch"`
	Config    map[string]string `json:"config,omitempty"` // read by the guest with config_get
	Model     Model             `json:"model"`
	Tokenizer Tokenizer         `json:"tokenizer"`
	Entry     Entry             `json:"entry"`
	Weights   string            `json:"weights,omitempty"` // the DNAT tensor file, if any
	Resources Resources         `json:"resources"`
	Consensus Consensus         `json:"consensus"`
	ChunkSize int               `json:"chunk_size"`
	Files     []File            `json:"files"`
	Author    string            `json:"author"` // compressed secp256k1 public key, hex
}

// Model is what the host's decoding loop needs to know.
type Model struct {
	VocabSize     int     `json:"vocab_size"`
	ContextLength int     `json:"context_length"`
	StopTokens    []int32 `json:"stop_tokens,omitempty"`
}

// Tokenizer names the tokenizer.
type Tokenizer struct {
	Kind string `json:"kind"` // e.g. "llama2c"
	File string `json:"file"`
}

// Entry names the WebAssembly modules.
type Entry struct {
	Inference string `json:"inference"`
	Consensus string `json:"consensus,omitempty"`
}

// Resources are what an instance needs; a node refuses a bundle that asks
// for more than it allows.
type Resources struct {
	MemoryPages  uint32 `json:"memory_pages"`   // guest linear memory, 64 KiB pages
	TensorBytes  int64  `json:"tensor_bytes"`   // host tensor memory per instance
	Handles      int    `json:"handles"`        // live tensor handles per instance
	WorkPerToken uint64 `json:"work_per_token"` // work units per position, to price jobs
	// Batch is the most positions one dna_forward call may carry (the
	// tensor budget is sized for it); hosts split prefills and
	// verifications into calls of at most this many. 0 means 256.
	Batch int `json:"batch"`
}

// DefaultBatch is the batch a manifest that states none gets.
const DefaultBatch = 256

// MaxBatch is the positions per forward call the bundle allows.
func (r Resources) MaxBatch() int {
	if r.Batch <= 0 {
		return DefaultBatch
	}
	return r.Batch
}

// Consensus is the default rule for jobs on this bundle.
type Consensus struct {
	Rule   string            `json:"rule"`
	Params map[string]string `json:"params,omitempty"`
}

// File is one file of the bundle.
type File struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$`)
	keyRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// ParseManifest decodes and validates manifest bytes. A manifest must be in
// canonical form — exactly what Encode produces — because its bytes are
// hashed into the bundle ID: otherwise case-folded or repeated keys could
// make two tools read different fields from the same signed bytes.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrManifest, len(b), MaxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrManifest)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	canon, err := m.Encode()
	if err != nil || !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: not in canonical form (as Manifest.Encode writes it)", ErrManifest)
	}
	return &m, nil
}

// Encode returns the manifest as indented JSON (map keys sorted, so the
// same manifest always encodes to the same bytes).
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, args...))
}

// Validate checks the manifest on its own (not against file contents).
func (m *Manifest) Validate() error {
	if m.Format != Format {
		return bad("format %q, want %q", m.Format, Format)
	}
	if !nameRE.MatchString(m.Name) {
		return bad("name %q: use letters, digits, '.', '_' and '-' (at most 128)", m.Name)
	}
	if !versionRE.MatchString(m.Version) {
		return bad("version %q", m.Version)
	}
	if m.ABI != 1 {
		return bad("ABI version %d, this host speaks 1", m.ABI)
	}
	if len(m.Arch) > 64 {
		return bad("arch too long")
	}
	if len(m.Config) > MaxConfigEntries {
		return bad("%d config entries, limit %d", len(m.Config), MaxConfigEntries)
	}
	for k, v := range m.Config {
		if !keyRE.MatchString(k) || len(v) > 4096 {
			return bad("config entry %q", k)
		}
	}
	if m.Model.VocabSize <= 0 || m.Model.VocabSize > 1<<24 {
		return bad("vocab_size %d", m.Model.VocabSize)
	}
	if m.Model.ContextLength <= 0 || m.Model.ContextLength > 1<<24 {
		return bad("context_length %d", m.Model.ContextLength)
	}
	if len(m.Model.StopTokens) > 64 {
		return bad("%d stop tokens", len(m.Model.StopTokens))
	}
	for _, t := range m.Model.StopTokens {
		if t < 0 || int(t) >= m.Model.VocabSize {
			return bad("stop token %d outside the vocabulary", t)
		}
	}
	if m.ChunkSize < MinChunkSize || m.ChunkSize > MaxChunkSize || m.ChunkSize&(m.ChunkSize-1) != 0 {
		return bad("chunk_size %d: a power of two in [%d,%d]", m.ChunkSize, MinChunkSize, MaxChunkSize)
	}
	if len(m.Files) == 0 || len(m.Files) > MaxFiles {
		return bad("%d files, want 1 to %d", len(m.Files), MaxFiles)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !nameRE.MatchString(f.Name) {
			return bad("file name %q", f.Name)
		}
		if seen[f.Name] {
			return bad("file %q listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || f.Size > MaxFileBytes {
			return bad("file %q size %d", f.Name, f.Size)
		}
	}
	need := func(what, name string, required bool) error {
		if name == "" && !required {
			return nil
		}
		if !seen[name] {
			return bad("%s %q is not a file of the bundle", what, name)
		}
		return nil
	}
	if err := need("entry.inference", m.Entry.Inference, true); err != nil {
		return err
	}
	if err := need("entry.consensus", m.Entry.Consensus, false); err != nil {
		return err
	}
	if err := need("weights", m.Weights, false); err != nil {
		return err
	}
	if err := need("tokenizer.file", m.Tokenizer.File, false); err != nil {
		return err
	}
	if m.Resources.MemoryPages > 65536 || m.Resources.TensorBytes < 0 || m.Resources.Handles < 0 || m.Resources.Handles > 65535 ||
		m.Resources.Batch < 0 || m.Resources.Batch > 1<<20 {
		return bad("resources %+v", m.Resources)
	}
	if len(m.Consensus.Params) > MaxConfigEntries {
		return bad("too many consensus params")
	}
	if len(m.Author) != 66 {
		return bad("author must be a 33-byte compressed public key in hex")
	}
	return nil
}

// ChunkCount is the number of chunks the files make.
func (m *Manifest) ChunkCount() int {
	n := 0
	for _, f := range m.Files {
		n += chunksOf(f.Size, m.ChunkSize)
	}
	return n
}

func chunksOf(size int64, chunk int) int {
	if size == 0 {
		return 0
	}
	return int((size + int64(chunk) - 1) / int64(chunk))
}

// FileNames returns the file names in manifest order.
func (m *Manifest) FileNames() []string {
	out := make([]string, len(m.Files))
	for i, f := range m.Files {
		out[i] = f.Name
	}
	return out
}

// ConfigKeys returns the config keys sorted.
func (m *Manifest) ConfigKeys() []string {
	ks := make([]string, 0, len(m.Config))
	for k := range m.Config {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
