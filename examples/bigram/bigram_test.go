package bigram

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/runtime"
)

// TestBigramExample builds the example's guest, trains it, packs it from
// its manifest template and runs it: greedy decoding must follow the most
// frequent successor of each byte, and sampled text must look like the
// corpus's letters.
func TestBigramExample(t *testing.T) {
	code := testmodels.BuildGuest(t, filepath.Join(testmodels.RepoRoot(t), "guest-sdk", "examples", "bigram"))
	corpus, err := os.ReadFile("corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	weights, err := Weights(corpus)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("bundle/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Build(m, []bundle.Source{{Name: "model.wasm", Data: code}, {Name: "weights.dnt", Data: weights}}, testmodels.Key())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{NoDiskCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	md, err := rt.Load(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close(ctx)

	greedy, err := md.Generate(ctx, runtime.Job{Prompt: "Th", MaxTokens: 12}, runtime.Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	// Each greedy step picks the most frequent successor in the corpus.
	prev := byte('h')
	for i, tok := range greedy.Tokens {
		if want := mostFrequentAfter(corpus, prev); byte(tok) != want {
			t.Fatalf("greedy token %d after %q is %q, want %q", i, prev, byte(tok), want)
		}
		prev = byte(tok)
	}
	sampled, err := md.Generate(ctx, runtime.Job{Prompt: "The ", MaxTokens: 200, Temperature: 1, Seed: 5}, runtime.Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	letters := 0
	for _, c := range []byte(sampled.Text) {
		if c >= 'a' && c <= 'z' || c == ' ' {
			letters++
		}
	}
	if letters < 150 || !strings.Contains(sampled.Text, " ") {
		t.Fatalf("sampled text does not look like the corpus: %q", sampled.Text)
	}
	t.Logf("greedy %q, sampled %q", greedy.Text, sampled.Text)
}

func mostFrequentAfter(text []byte, c byte) byte {
	var n [256]int
	prev := byte('\n')
	for _, x := range text {
		if prev == c {
			n[x]++
		}
		prev = x
	}
	best := 0
	for i := range n {
		if n[i] > n[best] {
			best = i
		}
	}
	return byte(best)
}

func parseTemplate(raw []byte) (bundle.Manifest, error) {
	var m bundle.Manifest
	dec := jsonDecoder(bytes.NewReader(raw))
	err := dec.Decode(&m)
	return m, err
}
