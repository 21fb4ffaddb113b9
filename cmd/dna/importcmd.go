package main

import (
	"fmt"
	"io"
	"os"

	"github.com/dnahost/dnahost/bundle/llama2c"
	"github.com/dnahost/dnahost/kernels"
)

func cmdImport(args []string, out, errOut io.Writer) error {
	fs := newFlags("import", errOut)
	outPath := fs.String("o", "", "output bundle (.dna)")
	quant := fs.String("quant", "f32", "weight format for matrices: f32 or q8")
	name := fs.String("name", "", "bundle name (default: the checkpoint's file name)")
	version := fs.String("version", "1.0.0", "bundle version")
	keyPath := fs.String("key", "", "author key file (default: the key in the user config directory, made on first use)")
	module := fs.String("module", "", "inference module to ship instead of the built-in llama guest")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 || pos[0] != "llama2c" {
		return usagef("dna import llama2c MODEL.bin TOKENIZER.bin -o OUT.dna [--quant q8]")
	}
	if *outPath == "" {
		return usagef("-o OUT.dna is required")
	}
	var q kernels.DType
	switch *quant {
	case "f32":
		q = kernels.F32
	case "q8", "q8_0":
		q = kernels.Q8_0
	default:
		return usagef("--quant must be f32 or q8, not %q", *quant)
	}
	ck, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(pos[2])
	if err != nil {
		return err
	}
	key, err := loadAuthorKey(*keyPath, errOut)
	if err != nil {
		return err
	}
	o := llama2c.Options{Name: *name, Version: *version, Quant: q, Key: key}
	if o.Name == "" {
		o.Name = bundleName(pos[1], *quant)
	}
	if *module != "" {
		if o.Module, err = os.ReadFile(*module); err != nil {
			return err
		}
	}
	b, err := llama2c.Import(ck, tok, o)
	if err != nil {
		return err
	}
	if err := b.WriteFile(*outPath); err != nil {
		return err
	}
	st, _ := os.Stat(*outPath)
	fmt.Fprintf(out, "%s  %s %s, %d files, %d chunks, %d bytes\n", b.ID(), b.Manifest().Name, b.Manifest().Version,
		len(b.Manifest().Files), len(b.Leaves())-1, st.Size())
	return nil
}

// bundleName derives a bundle name from a checkpoint path: "stories260K"
// or "stories260K-q8".
func bundleName(path, quant string) string {
	base := path
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] == '/' || base[i] == '\\' {
			base = base[i+1:]
			break
		}
	}
	for i := len(base) - 1; i > 0; i-- {
		if base[i] == '.' {
			base = base[:i]
			break
		}
	}
	clean := []byte{}
	for _, c := range []byte(base) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			clean = append(clean, c)
		}
	}
	if len(clean) == 0 || !(clean[0] >= 'a' && clean[0] <= 'z' || clean[0] >= 'A' && clean[0] <= 'Z' || clean[0] >= '0' && clean[0] <= '9') {
		clean = append([]byte("model"), clean...)
	}
	if quant == "q8" || quant == "q8_0" {
		clean = append(clean, "-q8"...)
	}
	return string(clean)
}

func cmdSynth(args []string, out, errOut io.Writer) error {
	fs := newFlags("synth", errOut)
	outPath := fs.String("o", "", "output checkpoint (llama2.c legacy format)")
	tokPath := fs.String("tokenizer", "", "also write a synthetic tokenizer.bin here")
	dim := fs.Int("dim", 64, "model width")
	hidden := fs.Int("hidden", 0, "feed-forward width (default: llama's rule for dim)")
	layers := fs.Int("layers", 2, "layers")
	heads := fs.Int("heads", 4, "attention heads")
	kvHeads := fs.Int("kv-heads", 0, "key/value heads (default: heads)")
	vocab := fs.Int("vocab", 512, "vocabulary size (at least 259)")
	seqLen := fs.Int("seq-len", 256, "context length")
	unshared := fs.Bool("unshared", false, "separate classifier instead of sharing the embedding")
	seed := fs.Uint64("seed", 1, "seed of the random weights")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "llama2c" || *outPath == "" {
		return usagef("dna synth llama2c -o MODEL.bin [--tokenizer TOK.bin] [shape flags]")
	}
	c := llama2c.Config{Dim: *dim, HiddenDim: *hidden, Layers: *layers, Heads: *heads, KVHeads: *kvHeads,
		Vocab: *vocab, SeqLen: *seqLen, SharedClassifier: !*unshared}
	if c.HiddenDim == 0 {
		c.HiddenDim = llama2c.DefaultHidden(c.Dim)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	ck, err := llama2c.Synthesize(c, *seed)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*outPath, ck, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %+v, %d bytes\n", *outPath, c, len(ck))
	if *tokPath != "" {
		tok, err := llama2c.SynthesizeTokenizer(c.Vocab, *seed)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*tokPath, tok, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d-token vocabulary, %d bytes\n", *tokPath, c.Vocab, len(tok))
	}
	return nil
}
