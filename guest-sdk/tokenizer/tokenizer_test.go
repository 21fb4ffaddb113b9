package tokenizer

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sharedModels finds ../shared/models beside the repository, or skips.
func sharedModels(t testing.TB) string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "models")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			t.Skip("../shared/models not present")
		}
	}
}

func load(t testing.TB, rel string, vocab int) *Tokenizer {
	b, err := os.ReadFile(filepath.Join(sharedModels(t), rel))
	if err != nil {
		t.Skip(err)
	}
	tk, err := Parse(b, vocab)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// naiveEncode is run.c's encode transcribed literally (O(n²) per merge):
// the oracle for the heap-based merge.
func naiveEncode(t *Tokenizer, text string, bos bool) []int32 {
	var toks []int32
	if bos {
		toks = append(toks, BOS)
	}
	if text != "" {
		toks = t.appendPiece(toks, " ")
	}
	for i := 0; i < len(text); {
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		toks = t.appendPiece(toks, text[i:j])
		i = j
	}
	start := 0
	if bos {
		start = 1
	}
	for {
		best, bestID, bestIdx := float32(-1e10), int32(-1), -1
		for i := start; i < len(toks)-1; i++ {
			id := t.Lookup(string(t.Piece(toks[i])) + string(t.Piece(toks[i+1])))
			if id != -1 && t.scores[id] > best {
				best, bestID, bestIdx = t.scores[id], id, i
			}
		}
		if bestIdx < 0 {
			return toks
		}
		toks[bestIdx] = bestID
		toks = append(toks[:bestIdx+1], toks[bestIdx+2:]...)
	}
}

func TestGoldenPrompt(t *testing.T) {
	tk := load(t, "stories260K/tok512.bin", 512)
	got := tk.Encode("Once upon a time", true, false)
	want := []int32{1, 403, 407, 261, 378} // GOLDEN.txt
	if !slices.Equal(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	var text []byte
	prev := int32(BOS)
	for _, id := range got[1:] {
		text = append(text, Printable(tk.Decode(prev, id))...)
		prev = id
	}
	if string(text) != "Once upon a time" {
		t.Fatalf("decoded %q", text)
	}
}

var samples = []string{
	"", " ", "a", "Once upon a time, there was a little girl named Lily.",
	"Hello, world! 123 4567 — naïve café, 東京, emoji 🙂 done.",
	"\n\n  spaced   out\ttabs\n", "<0x41> <s> </s>", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"\x00nul\x00", "\xff\xfe invalid utf8 \xc3",
}

func TestHeapMergeMatchesRunC(t *testing.T) {
	for _, c := range []struct {
		file  string
		vocab int
	}{{"stories260K/tok512.bin", 512}, {"llama2-tokenizer-32k/tokenizer.bin", 32000}} {
		tk := load(t, c.file, c.vocab)
		rng := rand.New(rand.NewPCG(1, 2))
		texts := append([]string(nil), samples...)
		for i := 0; i < 300; i++ {
			texts = append(texts, randomText(rng))
		}
		for _, s := range texts {
			got, want := tk.Encode(s, true, false), naiveEncode(tk, s, true)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %q:\n heap  %v\n run.c %v", c.file, s, got, want)
			}
		}
	}
}

// The 32k Llama 2 vocabulary: known encodings from run.c / sentencepiece.
func TestLlama2Vocabulary(t *testing.T) {
	tk := load(t, "llama2-tokenizer-32k/tokenizer.bin", 32000)
	got := tk.Encode("Hello world", true, true)
	want := []int32{1, 15043, 3186, 2}
	if !slices.Equal(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
}

func randomText(r *rand.Rand) string {
	alphabet := []string{"a", "b", "e", "t", "h", " ", "the", "ing", ".", ",", "\n", "é", "😀", "Q", "z", "'", "\""}
	var b bytes.Buffer
	for n := r.IntN(40); n > 0; n-- {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func TestParseErrors(t *testing.T) {
	good := synth([]string{"<unk>", "a", "b", "ab"})
	if _, err := Parse(good, 4); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data  []byte
		vocab int
	}{
		"empty":          {nil, 4},
		"vocab too big":  {good, MaxVocab + 1},
		"too few bytes":  {good[:10], 4},
		"truncated":      {good[:len(good)-1], 4},
		"negative len":   {append(append([]byte{}, good[:8]...), 0xff, 0xff, 0xff, 0xff), 1},
		"zero vocab":     {good, 0},
		"more than data": {good, 5},
	} {
		if _, err := Parse(c.data, c.vocab); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func synth(pieces []string) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, int32(8))
	for i, p := range pieces {
		binary.Write(&b, binary.LittleEndian, math.Float32bits(float32(-i)))
		binary.Write(&b, binary.LittleEndian, int32(len(p)))
		b.WriteString(p)
	}
	return b.Bytes()
}

func FuzzParse(f *testing.F) {
	f.Add(synth([]string{"<unk>", "a", "b", "ab"}), 4)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, data []byte, vocab int) {
		tk, err := Parse(data, vocab)
		if err != nil {
			return
		}
		// Whatever parses must encode and decode without panicking.
		toks := tk.Encode("ab ba", true, true)
		for i := 1; i < len(toks); i++ {
			tk.Decode(toks[i-1], toks[i])
		}
	})
}

func FuzzEncode(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	tk, err := Parse(synth([]string{"<unk>", "<s>", "</s>", " ", "a", "b", " a", "ab", "ba", "aba", " ab"}), 11)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		got, want := tk.Encode(s, true, false), naiveEncode(tk, s, true)
		if !slices.Equal(got, want) {
			t.Fatalf("%q: heap %v, run.c %v", s, got, want)
		}
	})
}

func readShared(rel string) ([]byte, error) {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "models", rel)
		if b, err := os.ReadFile(p); err == nil {
			return b, nil
		}
		if filepath.Dir(d) == d {
			return nil, os.ErrNotExist
		}
	}
}
