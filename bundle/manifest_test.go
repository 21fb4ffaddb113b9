package bundle_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
)

// validManifest is complete as Build would make it, files and author included.
func validManifest() bundle.Manifest {
	m := baseManifest()
	m.Format = bundle.Format
	m.Files = []bundle.File{{Name: "model.wasm", Size: 10}, {Name: "weights.dnt", Size: 0}, {Name: "tokenizer.bin", Size: 5}}
	m.Author = testmodels.Key().Public().Hex()
	return m
}

func TestManifestValidate(t *testing.T) {
	good := validManifest()
	if err := good.Validate(); err != nil {
		t.Fatalf("valid manifest: %v", err)
	}
	many := func(n int) map[string]string {
		out := map[string]string{}
		for i := 0; i < n; i++ {
			out[fmt.Sprintf("k%d", i)] = "v"
		}
		return out
	}
	files := func(n int) []bundle.File {
		out := []bundle.File{{Name: "model.wasm"}, {Name: "weights.dnt"}, {Name: "tokenizer.bin"}}
		for i := len(out); i < n; i++ {
			out = append(out, bundle.File{Name: fmt.Sprintf("f%d", i)})
		}
		return out
	}
	stops := func(n int) []int32 { return make([]int32, n) }
	long := func(n int) string { return strings.Repeat("a", n) }

	type rule struct {
		name string
		edit func(*bundle.Manifest)
		want string // a fragment of the error; "" means the edit is valid
	}
	rules := []rule{
		{"format empty", func(m *bundle.Manifest) { m.Format = "" }, "format"},
		{"format v2", func(m *bundle.Manifest) { m.Format = "dna-bundle/2" }, "format"},
		{"name empty", func(m *bundle.Manifest) { m.Name = "" }, "name"},
		{"name leading dash", func(m *bundle.Manifest) { m.Name = "-x" }, "name"},
		{"name leading dot", func(m *bundle.Manifest) { m.Name = ".x" }, "name"},
		{"name space", func(m *bundle.Manifest) { m.Name = "a b" }, "name"},
		{"name slash", func(m *bundle.Manifest) { m.Name = "a/b" }, "name"},
		{"name unicode", func(m *bundle.Manifest) { m.Name = "modèle" }, "name"},
		{"name 129", func(m *bundle.Manifest) { m.Name = long(129) }, "name"},
		{"name 128", func(m *bundle.Manifest) { m.Name = long(128) }, ""},
		{"name newline", func(m *bundle.Manifest) { m.Name = "a\n" }, "name"},
		{"version empty", func(m *bundle.Manifest) { m.Version = "" }, "version"},
		{"version space", func(m *bundle.Manifest) { m.Version = "1 0" }, "version"},
		{"version leading dot", func(m *bundle.Manifest) { m.Version = ".1" }, "version"},
		{"version 65", func(m *bundle.Manifest) { m.Version = long(65) }, "version"},
		{"version semver", func(m *bundle.Manifest) { m.Version = "1.2.3-rc.1+build.5" }, ""},
		{"ABI 0", func(m *bundle.Manifest) { m.ABI = 0 }, "ABI"},
		{"ABI 2", func(m *bundle.Manifest) { m.ABI = 2 }, "ABI"},
		{"arch 65", func(m *bundle.Manifest) { m.Arch = long(65) }, "arch"},
		{"arch 64", func(m *bundle.Manifest) { m.Arch = long(64) }, ""},
		{"config 257", func(m *bundle.Manifest) { m.Config = many(bundle.MaxConfigEntries + 1) }, "config entries"},
		{"config 256", func(m *bundle.Manifest) { m.Config = many(bundle.MaxConfigEntries) }, ""},
		{"config empty key", func(m *bundle.Manifest) { m.Config = map[string]string{"": "v"} }, "config entry"},
		{"config key space", func(m *bundle.Manifest) { m.Config = map[string]string{"a b": "v"} }, "config entry"},
		{"config key 65", func(m *bundle.Manifest) { m.Config = map[string]string{long(65): "v"} }, "config entry"},
		{"config value 4097", func(m *bundle.Manifest) { m.Config = map[string]string{"k": long(4097)} }, "config entry"},
		{"config value 4096", func(m *bundle.Manifest) { m.Config = map[string]string{"k": long(4096)} }, ""},
		{"vocab 0", func(m *bundle.Manifest) { m.Model.VocabSize = 0 }, "vocab_size"},
		{"vocab -1", func(m *bundle.Manifest) { m.Model.VocabSize = -1 }, "vocab_size"},
		{"vocab 2^24+1", func(m *bundle.Manifest) { m.Model.VocabSize = 1<<24 + 1 }, "vocab_size"},
		{"vocab 2^24", func(m *bundle.Manifest) { m.Model.VocabSize = 1 << 24 }, ""},
		{"context 0", func(m *bundle.Manifest) { m.Model.ContextLength = 0 }, "context_length"},
		{"context 2^24+1", func(m *bundle.Manifest) { m.Model.ContextLength = 1<<24 + 1 }, "context_length"},
		{"65 stop tokens", func(m *bundle.Manifest) { m.Model.StopTokens = stops(65) }, "stop tokens"},
		{"64 stop tokens", func(m *bundle.Manifest) { m.Model.StopTokens = stops(64) }, ""},
		{"stop token -1", func(m *bundle.Manifest) { m.Model.StopTokens = []int32{-1} }, "stop token -1"},
		{"stop token = vocab", func(m *bundle.Manifest) { m.Model.StopTokens = []int32{512} }, "stop token 512"},
		{"stop token = vocab-1", func(m *bundle.Manifest) { m.Model.StopTokens = []int32{511} }, ""},
		{"chunk 0", func(m *bundle.Manifest) { m.ChunkSize = 0 }, "chunk_size"},
		{"chunk below min", func(m *bundle.Manifest) { m.ChunkSize = bundle.MinChunkSize / 2 }, "chunk_size"},
		{"chunk above max", func(m *bundle.Manifest) { m.ChunkSize = bundle.MaxChunkSize * 2 }, "chunk_size"},
		{"chunk not 2^k", func(m *bundle.Manifest) { m.ChunkSize = 3 * bundle.MinChunkSize }, "chunk_size"},
		{"chunk min+1", func(m *bundle.Manifest) { m.ChunkSize = bundle.MinChunkSize + 1 }, "chunk_size"},
		{"chunk max", func(m *bundle.Manifest) { m.ChunkSize = bundle.MaxChunkSize }, ""},
		{"chunk negative", func(m *bundle.Manifest) { m.ChunkSize = -bundle.MinChunkSize }, "chunk_size"},
		{"no files", func(m *bundle.Manifest) { m.Files = nil }, "0 files"},
		{"257 files", func(m *bundle.Manifest) { m.Files = files(bundle.MaxFiles + 1) }, "257 files"},
		{"256 files", func(m *bundle.Manifest) { m.Files = files(bundle.MaxFiles) }, ""},
		{"file name bad", func(m *bundle.Manifest) { m.Files[1].Name = "../w" }, "file name"},
		{"file name empty", func(m *bundle.Manifest) { m.Files[1].Name = "" }, "file name"},
		{"duplicate file", func(m *bundle.Manifest) { m.Files[2].Name = "model.wasm" }, "listed twice"},
		{"file size -1", func(m *bundle.Manifest) { m.Files[0].Size = -1 }, "size -1"},
		{"file size too big", func(m *bundle.Manifest) { m.Files[0].Size = bundle.MaxFileBytes + 1 }, "size"},
		{"file size max", func(m *bundle.Manifest) { m.Files[0].Size = bundle.MaxFileBytes }, ""},
		{"entry empty", func(m *bundle.Manifest) { m.Entry.Inference = "" }, "entry.inference"},
		{"entry missing", func(m *bundle.Manifest) { m.Entry.Inference = "other.wasm" }, "entry.inference"},
		{"consensus module missing", func(m *bundle.Manifest) { m.Entry.Consensus = "c.wasm" }, "entry.consensus"},
		{"consensus module present", func(m *bundle.Manifest) { m.Entry.Consensus = "tokenizer.bin" }, ""},
		{"weights missing", func(m *bundle.Manifest) { m.Weights = "w.dnt" }, "weights"},
		{"weights none", func(m *bundle.Manifest) { m.Weights = "" }, ""},
		{"tokenizer missing", func(m *bundle.Manifest) { m.Tokenizer.File = "tok" }, "tokenizer.file"},
		{"memory pages", func(m *bundle.Manifest) { m.Resources.MemoryPages = 65537 }, "resources"},
		{"memory pages max", func(m *bundle.Manifest) { m.Resources.MemoryPages = 65536 }, ""},
		{"tensor bytes", func(m *bundle.Manifest) { m.Resources.TensorBytes = -1 }, "resources"},
		{"handles -1", func(m *bundle.Manifest) { m.Resources.Handles = -1 }, "resources"},
		{"handles 65536", func(m *bundle.Manifest) { m.Resources.Handles = 65536 }, "resources"},
		{"handles 65535", func(m *bundle.Manifest) { m.Resources.Handles = 65535 }, ""},
		{"batch -1", func(m *bundle.Manifest) { m.Resources.Batch = -1 }, "resources"},
		{"batch too large", func(m *bundle.Manifest) { m.Resources.Batch = 1<<20 + 1 }, "resources"},
		{"batch 512", func(m *bundle.Manifest) { m.Resources.Batch = 512 }, ""},
		{"consensus params", func(m *bundle.Manifest) { m.Consensus.Params = many(bundle.MaxConfigEntries + 1) }, "consensus params"},
		{"author empty", func(m *bundle.Manifest) { m.Author = "" }, "author"},
		{"author 65", func(m *bundle.Manifest) { m.Author = m.Author[:65] }, "author"},
		{"author 67", func(m *bundle.Manifest) { m.Author += "0" }, "author"},
	}
	for _, r := range rules {
		m := validManifest()
		r.edit(&m)
		err := m.Validate()
		switch {
		case r.want == "" && err != nil:
			t.Errorf("%s: valid edge case rejected: %v", r.name, err)
		case r.want != "" && (!errors.Is(err, bundle.ErrManifest) || !strings.Contains(err.Error(), r.want)):
			t.Errorf("%s: err %v, want ErrManifest mentioning %q", r.name, err, r.want)
		}
		// ParseManifest applies the same rules to the JSON form.
		if b, encErr := m.Encode(); encErr == nil && len(b) <= bundle.MaxManifestBytes {
			if _, perr := bundle.ParseManifest(b); (perr == nil) != (err == nil) {
				t.Errorf("%s: Validate says %v, ParseManifest says %v", r.name, err, perr)
			}
		}
	}
}

func TestParseManifest(t *testing.T) {
	m := validManifest()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := bundle.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := got.Encode()
	if !bytes.Equal(again, b) {
		t.Fatalf("encode(parse(x)) != x:\n%s\n%s", again, b)
	}
	if fmt.Sprint(got.ConfigKeys()) != "[dim n_layers]" || fmt.Sprint(got.FileNames()) != "[model.wasm weights.dnt tokenizer.bin]" {
		t.Fatalf("keys %v, files %v", got.ConfigKeys(), got.FileNames())
	}
	// Map order must not leak into the encoding.
	m.Config = map[string]string{}
	for i := 0; i < 50; i++ {
		m.Config[fmt.Sprintf("key%02d", 49-i)] = fmt.Sprint(i)
	}
	first, _ := m.Encode()
	for i := 0; i < 10; i++ {
		if again, _ := m.Encode(); !bytes.Equal(again, first) {
			t.Fatal("Encode is not deterministic")
		}
	}

	s := string(b)
	insert := func(extra string) []byte { return []byte(strings.Replace(s, "{", "{"+extra, 1)) }
	bad := map[string][]byte{
		"empty":            nil,
		"null":             []byte("null"),
		"array":            []byte("[]"),
		"not JSON":         []byte("dna"),
		"unknown field":    insert(`"license": "MIT", `),
		"unknown nested":   []byte(strings.Replace(s, `"vocab_size"`, `"vocab_sizes": 1, "vocab_size"`, 1)),
		"trailing object":  []byte(s + "{}"),
		"trailing garbage": []byte(s + "x"),
		"truncated":        b[:len(b)/2],
		"string for int":   []byte(strings.Replace(s, `"abi": 1`, `"abi": "1"`, 1)),
		"float for int":    []byte(strings.Replace(s, `"abi": 1`, `"abi": 1.5`, 1)),
		"overflowing size": []byte(strings.Replace(s, `"size": 10`, `"size": 1e30`, 1)),
		"too large":        append(bytes.Clone(b), bytes.Repeat([]byte{' '}, bundle.MaxManifestBytes)...),
	}
	for name, in := range bad {
		if m, err := bundle.ParseManifest(in); !errors.Is(err, bundle.ErrManifest) || m != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Manifests are hashed as bytes, so only the canonical encoding is
	// accepted: even extra whitespace is refused.
	if _, err := bundle.ParseManifest([]byte(s + "\n\t ")); !errors.Is(err, bundle.ErrManifest) {
		t.Errorf("trailing whitespace: %v", err)
	}
}

// Any byte after the manifest object must be refused; a stray '}' or ']'
// slipped past json.Decoder.More.
func TestParseManifestTrailingBracket(t *testing.T) {
	m := validManifest()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var accepted []string
	for _, tail := range []string{"}", "]", "\n}", "}}", "]x"} {
		if _, err := bundle.ParseManifest(append(bytes.Clone(b), tail...)); err == nil {
			accepted = append(accepted, fmt.Sprintf("%q", tail))
		} else if !errors.Is(err, bundle.ErrManifest) {
			t.Fatal(err)
		}
	}
	checkBug(t, "manifest-trailing", len(accepted) > 0, "ParseManifest accepts trailing "+strings.Join(accepted, ", "))
}

func FuzzParseManifest(f *testing.F) {
	m := validManifest()
	b, _ := m.Encode()
	f.Add(b)
	m.Model.StopTokens = nil
	m.Config = nil
	m.Entry.Consensus = "tokenizer.bin"
	m.Consensus.Params = map[string]string{"quorum": "3"}
	b2, _ := m.Encode()
	f.Add(b2)
	f.Add([]byte(`{"format":"dna-bundle/1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := bundle.ParseManifest(data)
		if err != nil {
			if !errors.Is(err, bundle.ErrManifest) || m != nil {
				t.Fatalf("error %v, manifest %v", err, m)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted a manifest that does not validate: %v", err)
		}
		// Encoding is a fixed point after one round: what was accepted can
		// be written and read back unchanged.
		enc, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) > bundle.MaxManifestBytes {
			return // escaping can grow it past the limit (a reported Build issue)
		}
		m2, err := bundle.ParseManifest(enc)
		if err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, enc)
		}
		enc2, _ := m2.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
		}
		if m2.ChunkCount() != m.ChunkCount() || m.ChunkCount() < 0 {
			t.Fatalf("chunk count %d", m.ChunkCount())
		}
	})
}
