package testmodels

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/bundle/llama2c"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
)

// SharedModelsDir returns the shared/models directory beside the
// repository (or $DNA_SHARED_MODELS), or "" when there is none.
func SharedModelsDir() string {
	if d := os.Getenv("DNA_SHARED_MODELS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "models")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// SharedFile reads a file under shared/models, skipping the test when it is absent.
func SharedFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	dir := SharedModelsDir()
	if dir == "" {
		tb.Skip("../shared/models is not present")
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		tb.Skipf("shared model file: %v", err)
	}
	return b
}

// Key is a fixed author key for tests, so test bundles have stable IDs.
func Key() *keys.PrivateKey {
	seed := keys.SHA256([]byte("dnahost test author key"))
	k, err := keys.ParsePrivateKey(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

var (
	mu    sync.Mutex
	cache = map[string]*bundle.Bundle{}
)

func cached(name string, make func() (*bundle.Bundle, error)) (*bundle.Bundle, error) {
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[name]; ok {
		return b, nil
	}
	b, err := make()
	if err != nil {
		return nil, err
	}
	cache[name] = b
	return b, nil
}

// Stories260K imports the shared stories260K checkpoint (f32 or Q8_0),
// skipping the test when the shared models are absent.
func Stories260K(tb testing.TB, quant kernels.DType) *bundle.Bundle {
	tb.Helper()
	ck := SharedFile(tb, "stories260K/stories260K.bin")
	tok := SharedFile(tb, "stories260K/tok512.bin")
	b, err := cached("stories260K-"+quant.String(), func() (*bundle.Bundle, error) {
		return llama2c.Import(ck, tok, llama2c.Options{Name: "stories260K", Quant: quant, Key: Key()})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Shapes of synthetic models used across tests and benchmarks.
var (
	// Tiny is small enough for many test runs; it has GQA and an unshared
	// classifier, and dims that are not multiples of 32.
	Tiny = llama2c.Config{Dim: 48, HiddenDim: 100, Layers: 2, Heads: 6, KVHeads: 2, Vocab: 300, SeqLen: 96}
	// Stories15M is shaped like karpathy's stories15M.
	Stories15M = llama2c.Config{Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6, KVHeads: 6, Vocab: 32000, SeqLen: 256, SharedClassifier: true}
	// Stories110M is shaped like karpathy's stories110M.
	Stories110M = llama2c.Config{Dim: 768, HiddenDim: 2048, Layers: 12, Heads: 12, KVHeads: 12, Vocab: 32000, SeqLen: 1024, SharedClassifier: true}
)

// Synthetic makes (once per process) a bundle of a synthetic model.
func Synthetic(tb testing.TB, name string, c llama2c.Config, quant kernels.DType) *bundle.Bundle {
	tb.Helper()
	b, err := SyntheticBundle(name, c, quant)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// SyntheticBundle is Synthetic without a testing.TB.
func SyntheticBundle(name string, c llama2c.Config, quant kernels.DType) (*bundle.Bundle, error) {
	if !c.SharedClassifier {
		name += "-unshared"
	}
	return cached(fmt.Sprintf("%s-%s-%+v", name, quant, c), func() (*bundle.Bundle, error) {
		ck, err := llama2c.Synthesize(c, 1)
		if err != nil {
			return nil, err
		}
		tok, err := llama2c.SynthesizeTokenizer(c.Vocab, 1)
		if err != nil {
			return nil, err
		}
		return llama2c.Import(ck, tok, llama2c.Options{Name: name, Quant: quant, Key: Key()})
	})
}

// Golden is one run recorded in stories260K/GOLDEN.txt.
type Golden struct {
	Steps  int     // llama2.c's -n: positions including the prompt's
	Stdout string  // what run.c printed
	IDs    []int32 // every token fed or produced, BOS first
}

// GoldenRuns parses GOLDEN.txt, skipping the test when it is absent.
func GoldenRuns(tb testing.TB) []Golden {
	tb.Helper()
	text := string(SharedFile(tb, "stories260K/GOLDEN.txt"))
	var out []Golden
	for _, sec := range strings.Split(text, "### ")[1:] {
		var g Golden
		i := strings.Index(sec, " -n ")
		if i < 0 {
			continue
		}
		fmt.Sscanf(sec[i+4:], "%d", &g.Steps)
		b := strings.Index(sec, "--- stdout begin\n")
		e := strings.Index(sec, "--- stdout end")
		if b < 0 || e < 0 {
			tb.Fatal("GOLDEN.txt: stdout markers missing")
		}
		g.Stdout = sec[b+len("--- stdout begin\n") : e]
		sc := bufio.NewScanner(strings.NewReader(sec[e:]))
		for sc.Scan() {
			if ids, ok := strings.CutPrefix(sc.Text(), "ids: "); ok {
				for _, f := range strings.Fields(ids) {
					v, err := strconv.Atoi(f)
					if err != nil {
						tb.Fatal(err)
					}
					g.IDs = append(g.IDs, int32(v))
				}
			}
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		tb.Fatal("GOLDEN.txt has no runs")
	}
	return out
}
