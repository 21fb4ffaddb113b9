package llama2c_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/bundle/llama2c"
	"github.com/dnahost/dnahost/guest-sdk/tokenizer"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
)

// tinyModule stands in for the 2.8 MB llama guest: Import only stores it.
var tinyModule = []byte("\x00asm\x01\x00\x00\x00")

// Shapes used here. Tiny has GQA, an unshared classifier and dims that are
// not multiples of 32 (padded Q8_0 blocks); Micro keeps fuzzing cheap.
var (
	tiny       = testmodels.Tiny
	tinyShared = llama2c.Config{Dim: 64, HiddenDim: 172, Layers: 2, Heads: 8, KVHeads: 4, Vocab: 300, SeqLen: 32, SharedClassifier: true}
	micro      = llama2c.Config{Dim: 4, HiddenDim: 8, Layers: 1, Heads: 2, KVHeads: 1, Vocab: 5, SeqLen: 4, SharedClassifier: true}
)

// spec is one tensor of a checkpoint, written out independently of the
// package's own layout table.
type spec struct {
	name       string
	rows, cols int
	skip       bool // legacy RoPE tables, not imported
	matrix     bool
}

func perLayer(c llama2c.Config, name string, rows, cols int, matrix bool) []spec {
	var out []spec
	for l := 0; l < c.Layers; l++ {
		out = append(out, spec{name: fmt.Sprintf("layers.%d.%s", l, name), rows: rows, cols: cols, matrix: matrix})
	}
	return out
}

// legacySpecs is run.c's order: embeddings, then each kind of per-layer
// tensor, the final norm, freq_cis_real and _imag, and the classifier.
func legacySpecs(c llama2c.Config) []spec {
	D, H, V, KV := c.Dim, c.HiddenDim, c.Vocab, c.KVHeads*(c.Dim/c.Heads)
	s := []spec{{name: "tok_embeddings", rows: V, cols: D, matrix: true}}
	s = append(s, perLayer(c, "attn_norm", 1, D, false)...)
	s = append(s, perLayer(c, "wq", D, D, true)...)
	s = append(s, perLayer(c, "wk", KV, D, true)...)
	s = append(s, perLayer(c, "wv", KV, D, true)...)
	s = append(s, perLayer(c, "wo", D, D, true)...)
	s = append(s, perLayer(c, "ffn_norm", 1, D, false)...)
	s = append(s, perLayer(c, "w1", H, D, true)...)
	s = append(s, perLayer(c, "w2", D, H, true)...)
	s = append(s, perLayer(c, "w3", H, D, true)...)
	s = append(s, spec{name: "norm", rows: 1, cols: D})
	s = append(s, spec{name: "freq_cis", rows: c.SeqLen, cols: D / c.Heads, skip: true})
	if !c.SharedClassifier {
		s = append(s, spec{name: "output", rows: V, cols: D, matrix: true})
	}
	return s
}

// v1Specs is export.py's version1_export order.
func v1Specs(c llama2c.Config) []spec {
	D, H, V, KV := c.Dim, c.HiddenDim, c.Vocab, c.KVHeads*(c.Dim/c.Heads)
	s := perLayer(c, "attn_norm", 1, D, false)
	s = append(s, perLayer(c, "ffn_norm", 1, D, false)...)
	s = append(s, spec{name: "norm", rows: 1, cols: D}, spec{name: "tok_embeddings", rows: V, cols: D, matrix: true})
	s = append(s, perLayer(c, "wq", D, D, true)...)
	s = append(s, perLayer(c, "wk", KV, D, true)...)
	s = append(s, perLayer(c, "wv", KV, D, true)...)
	s = append(s, perLayer(c, "wo", D, D, true)...)
	s = append(s, perLayer(c, "w1", H, D, true)...)
	s = append(s, perLayer(c, "w2", D, H, true)...)
	s = append(s, perLayer(c, "w3", H, D, true)...)
	if !c.SharedClassifier {
		s = append(s, spec{name: "output", rows: V, cols: D, matrix: true})
	}
	return s
}

func floatsOf(specs []spec) int {
	n := 0
	for _, s := range specs {
		n += s.rows * s.cols
	}
	return n
}

// split cuts a checkpoint's payload into its tensors' raw bytes.
func split(t testing.TB, data []byte, header int, specs []spec) map[string][]byte {
	t.Helper()
	if want := header + 4*floatsOf(specs); len(data) != want {
		t.Fatalf("checkpoint of %d bytes, want %d", len(data), want)
	}
	out := map[string][]byte{}
	off := header
	for _, s := range specs {
		n := 4 * s.rows * s.cols
		out[s.name] = data[off : off+n]
		off += n
	}
	return out
}

// toV1 rewrites a legacy checkpoint as a version-1 "ak42" export.
func toV1(t testing.TB, legacy []byte, c llama2c.Config) []byte {
	t.Helper()
	ts := split(t, legacy, 28, legacySpecs(c))
	hdr := make([]byte, 256)
	binary.LittleEndian.PutUint32(hdr[0:], 0x616b3432)
	binary.LittleEndian.PutUint32(hdr[4:], 1)
	for i, v := range []int{c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.Vocab, c.SeqLen} {
		binary.LittleEndian.PutUint32(hdr[8+4*i:], uint32(int32(v)))
	}
	if c.SharedClassifier {
		hdr[36] = 1
	}
	out := hdr
	for _, s := range v1Specs(c) {
		out = append(out, ts[s.name]...)
	}
	return out
}

func synth(t testing.TB, c llama2c.Config, seed uint64) []byte {
	t.Helper()
	ck, err := llama2c.Synthesize(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func synthTok(t testing.TB, vocab int, seed uint64) []byte {
	t.Helper()
	tok, err := llama2c.SynthesizeTokenizer(vocab, seed)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// smallTokenizer writes a tokenizer.bin of the specials and single letters,
// for vocabularies below SynthesizeTokenizer's 259.
func smallTokenizer(vocab int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, int32(8))
	for i := 0; i < vocab; i++ {
		p := []string{"<unk>", "\n<s>\n", "\n</s>\n"}[min(i, 2)]
		if i >= 3 {
			p = string(rune('a' + i - 3))
		}
		binary.Write(&b, binary.LittleEndian, float32(-i))
		binary.Write(&b, binary.LittleEndian, int32(len(p)))
		b.WriteString(p)
	}
	return b.Bytes()
}

func importOpts(q kernels.DType) llama2c.Options {
	return llama2c.Options{Name: "test", Quant: q, Key: testmodels.Key(), Module: tinyModule, Batch: 8}
}

func weightsOf(t testing.TB, b *bundle.Bundle) *bundle.TensorFile {
	t.Helper()
	w, err := b.File(b.Manifest().Weights)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := bundle.ParseTensors(w)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

func importOK(t testing.TB, ck, tok []byte, q kernels.DType) *bundle.Bundle {
	t.Helper()
	b, err := llama2c.Import(ck, tok, importOpts(q))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaultHidden(t *testing.T) {
	for dim, want := range map[int]int{64: 172, 288: 768, 768: 2048, 48: 128, 512: 1376} {
		if got := llama2c.DefaultHidden(dim); got != want {
			t.Errorf("DefaultHidden(%d) = %d, want %d", dim, got, want)
		}
	}
}

func TestSynthesize(t *testing.T) {
	for _, c := range []llama2c.Config{tiny, tinyShared, micro} {
		a, b := synth(t, c, 7), synth(t, c, 7)
		if !bytes.Equal(a, b) {
			t.Fatalf("%+v: same seed, different bytes", c)
		}
		if bytes.Equal(a, synth(t, c, 8)) {
			t.Fatalf("%+v: different seeds, same bytes", c)
		}
		if want := 28 + 4*floatsOf(legacySpecs(c)); len(a) != want {
			t.Fatalf("%+v: %d bytes, want %d", c, len(a), want)
		}
		ck, err := llama2c.Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Config != c || ck.Version != 0 {
			t.Fatalf("parsed %+v version %d, want %+v", ck.Config, ck.Version, c)
		}
		// The header's vocab is negative exactly when the classifier is separate.
		if v := int32(binary.LittleEndian.Uint32(a[20:])); (v < 0) == c.SharedClassifier || int(max(v, -v)) != c.Vocab {
			t.Fatalf("header vocab %d for %+v", v, c)
		}
		// Weights are in range and the RoPE tables are zero.
		for name, raw := range split(t, a, 28, legacySpecs(c)) {
			for i := 0; i < len(raw); i += 4 {
				v := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
				if name == "freq_cis" && v != 0 || math.IsNaN(float64(v)) || math.Abs(float64(v)) > 1.1 {
					t.Fatalf("%s[%d] = %v", name, i/4, v)
				}
			}
		}
	}
	bad := []llama2c.Config{{}, {Dim: 48, HiddenDim: 100, Layers: 1, Heads: 5, KVHeads: 5, Vocab: 10, SeqLen: 4}}
	for _, c := range bad {
		if _, err := llama2c.Synthesize(c, 1); !errors.Is(err, llama2c.ErrCheckpoint) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestVersion1MatchesLegacy(t *testing.T) {
	for _, c := range []llama2c.Config{tiny, tinyShared} {
		legacy := synth(t, c, 3)
		v1 := toV1(t, legacy, c)
		ck, err := llama2c.Parse(v1)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Config != c || ck.Version != 1 {
			t.Fatalf("v1 parsed as %+v version %d", ck.Config, ck.Version)
		}
		tok := synthTok(t, c.Vocab, 1)
		for _, q := range []kernels.DType{kernels.F32, kernels.Q8_0} {
			a, b := weightsOf(t, importOK(t, legacy, tok, q)), weightsOf(t, importOK(t, v1, tok, q))
			if fmt.Sprint(a.Names()) != fmt.Sprint(b.Names()) {
				t.Fatalf("%s: tensor names differ:\n%v\n%v", q, a.Names(), b.Names())
			}
			for _, name := range a.Names() {
				ia, da, _ := a.Lookup(name)
				ib, db, _ := b.Lookup(name)
				if ia.DType != ib.DType || ia.Rows != ib.Rows || ia.Cols != ib.Cols || !bytes.Equal(da, db) {
					t.Fatalf("%s: %s differs between the legacy and v1 imports", q, name)
				}
			}
		}
	}
}

func TestImportF32Exact(t *testing.T) {
	for _, c := range []llama2c.Config{tiny, tinyShared} {
		ck := synth(t, c, 11)
		tok := synthTok(t, c.Vocab, 2)
		b := importOK(t, ck, tok, kernels.F32)
		tf := weightsOf(t, b)
		want := map[string]bool{}
		for _, s := range legacySpecs(c) {
			if !s.skip {
				want[s.name] = true
			}
		}
		if len(tf.Infos()) != len(want) {
			t.Fatalf("%d tensors, want %d: %v", len(tf.Infos()), len(want), tf.Names())
		}
		raw := split(t, ck, 28, legacySpecs(c))
		for _, s := range legacySpecs(c) {
			ti, data, ok := tf.Lookup(s.name)
			if s.skip {
				if ok {
					t.Fatalf("%s was imported", s.name)
				}
				continue
			}
			if !ok || ti.DType != kernels.F32 || ti.Rows != s.rows || ti.Cols != s.cols {
				t.Fatalf("%s: %+v (found %v), want f32 %d×%d", s.name, ti, ok, s.rows, s.cols)
			}
			if !bytes.Equal(data, raw[s.name]) {
				t.Fatalf("%s: values changed", s.name)
			}
		}
		m := b.Manifest()
		wantCfg := map[string]string{
			"dim": fmt.Sprint(c.Dim), "hidden_dim": fmt.Sprint(c.HiddenDim), "n_layers": fmt.Sprint(c.Layers),
			"n_heads": fmt.Sprint(c.Heads), "n_kv_heads": fmt.Sprint(c.KVHeads), "vocab_size": fmt.Sprint(c.Vocab),
			"seq_len": fmt.Sprint(c.SeqLen), "weights_dtype": "f32",
		}
		if c.SharedClassifier {
			wantCfg["shared_classifier"] = "1"
		} else {
			wantCfg["shared_classifier"] = "0"
		}
		for k, v := range wantCfg {
			if m.Config[k] != v {
				t.Errorf("config %s = %q, want %q", k, m.Config[k], v)
			}
		}
		if m.Model.VocabSize != c.Vocab || m.Model.ContextLength != c.SeqLen || fmt.Sprint(m.Model.StopTokens) != "[1 2]" {
			t.Errorf("model %+v", m.Model)
		}
		if m.Name != "test" || m.Arch != "llama" || m.Entry.Inference != "model.wasm" || m.Tokenizer.File != "tokenizer.bin" {
			t.Errorf("manifest %+v", m)
		}
		if got, _ := b.File("tokenizer.bin"); !bytes.Equal(got, tok) {
			t.Error("tokenizer not stored verbatim")
		}
		if got, _ := b.File("model.wasm"); !bytes.Equal(got, tinyModule) {
			t.Error("module not stored verbatim")
		}
		if pub, _ := b.Author(); !pub.Equal(testmodels.Key().Public()) {
			t.Error("author")
		}
		// Import is deterministic.
		if again := importOK(t, ck, tok, kernels.F32); again.ID() != b.ID() {
			t.Error("importing twice gave different IDs")
		}
	}
}

func TestImportQ8(t *testing.T) {
	c := tiny
	ck := synth(t, c, 5)
	// Put an exact zero block and an outlier in the data, so the edge
	// cases of the scale are exercised too.
	raw := split(t, ck, 28, legacySpecs(c))
	clear(raw["layers.0.wq"][:4*32])
	binary.LittleEndian.PutUint32(raw["layers.1.w1"][4*40:], math.Float32bits(-3.5))
	b := importOK(t, ck, synthTok(t, c.Vocab, 1), kernels.Q8_0)
	if b.Manifest().Config["weights_dtype"] != "q8_0" {
		t.Fatalf("weights_dtype %q", b.Manifest().Config["weights_dtype"])
	}
	tf := weightsOf(t, b)
	checked := 0
	for _, s := range legacySpecs(c) {
		if s.skip {
			continue
		}
		ti, data, ok := tf.Lookup(s.name)
		if !ok || ti.Rows != s.rows || ti.Cols != s.cols {
			t.Fatalf("%s: %+v", s.name, ti)
		}
		isMatrix := !strings.HasSuffix(s.name, "norm")
		if s.matrix != isMatrix {
			t.Fatalf("test table: %s", s.name)
		}
		if !isMatrix {
			if ti.DType != kernels.F32 || !bytes.Equal(data, raw[s.name]) {
				t.Fatalf("%s: norms must stay exact f32 (got %s)", s.name, ti.DType)
			}
			continue
		}
		if ti.DType != kernels.Q8_0 {
			t.Fatalf("%s: %s, want q8_0", s.name, ti.DType)
		}
		rowBytes := (s.cols + 31) / 32 * 34
		for r := 0; r < s.rows; r++ {
			row := data[r*rowBytes : (r+1)*rowBytes]
			for blk := 0; blk*32 < s.cols; blk++ {
				checkQ8Block(t, s.name, r, blk, row[blk*34:(blk+1)*34], raw[s.name], r*s.cols+blk*32, min(32, s.cols-blk*32))
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no blocks checked")
	}
}

// checkQ8Block checks one Q8_0 block against the binary32 values it came
// from: d = amax/127 rounded to binary16, |q| ≤ 127, the largest element at
// ±127, padding zero, and every value within half a quantum plus the
// scale's rounding.
func checkQ8Block(t *testing.T, name string, row, blk int, b, raw []byte, first, n int) {
	t.Helper()
	vals := make([]float64, n)
	amax := 0.0
	for i := range vals {
		vals[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(first+i):])))
		amax = max(amax, math.Abs(vals[i]))
	}
	d := amax / 127
	d16 := float64(kernels.F16ToF32(binary.LittleEndian.Uint16(b)))
	where := fmt.Sprintf("%s row %d block %d", name, row, blk)
	if amax == 0 {
		if d16 != 0 || !bytes.Equal(b[2:], make([]byte, 32)) {
			t.Fatalf("%s: zero block stored as %x", where, b)
		}
		return
	}
	// binary16 has 11 significant bits: relative rounding error ≤ 2^-11
	// (these scales are far above its subnormal range).
	if math.Abs(d16-d) > d*math.Ldexp(1, -11)*1.0001 {
		t.Fatalf("%s: scale %g for amax/127 = %g", where, d16, d)
	}
	for i := 0; i < 32; i++ {
		q := int8(b[2+i])
		if i >= n {
			if q != 0 {
				t.Fatalf("%s: padding element %d is %d", where, i, q)
			}
			continue
		}
		if q == -128 {
			t.Fatalf("%s: element %d is -128", where, i)
		}
		if math.Abs(vals[i]) == amax && math.Abs(float64(q)) != 127 {
			t.Fatalf("%s: the largest element quantized to %d", where, q)
		}
		bound := d/2 + 127*math.Abs(d16-d) + 1e-6*amax
		if e := math.Abs(vals[i] - float64(q)*d16); e > bound {
			t.Fatalf("%s: element %d: %g → %d·%g, error %g > %g", where, i, vals[i], q, d16, e, bound)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := synth(t, tiny, 1)
	set := func(field int, v int32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[4*field:], uint32(v))
		return b
	}
	const (
		fDim = iota
		fHidden
		fLayers
		fHeads
		fKV
		fVocab
		fSeq
	)
	v1 := toV1(t, good, tiny)
	v1With := func(off int, v uint32) []byte {
		b := bytes.Clone(v1)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":             {nil, "too short"},
		"27 bytes":          {good[:27], "too short"},
		"header only":       {good[:28], "implies"},
		"one byte short":    {good[:len(good)-1], "implies"},
		"one float short":   {good[:len(good)-4], "implies"},
		"one byte extra":    {append(bytes.Clone(good), 0), "implies"},
		"one float extra":   {append(bytes.Clone(good), 0, 0, 0, 0), "implies"},
		"dim 0":             {set(fDim, 0), "out of range"},
		"dim -48":           {set(fDim, -48), "out of range"},
		"dim 2^20":          {set(fDim, 1<<20), "out of range"},
		"hidden 0":          {set(fHidden, 0), "out of range"},
		"hidden -1":         {set(fHidden, -1), "out of range"},
		"layers 0":          {set(fLayers, 0), "out of range"},
		"layers -2":         {set(fLayers, -2), "out of range"},
		"layers 2^20":       {set(fLayers, 1<<20), "out of range"},
		"heads 0":           {set(fHeads, 0), "out of range"},
		"heads -6":          {set(fHeads, -6), "out of range"},
		"heads > dim":       {set(fHeads, 96), "out of range"},
		"kv 0":              {set(fKV, 0), "out of range"},
		"kv -2":             {set(fKV, -2), "out of range"},
		"kv > heads":        {set(fKV, 12), "out of range"},
		"vocab 0":           {set(fVocab, 0), "out of range"},
		"vocab min int32":   {set(fVocab, math.MinInt32), "out of range"},
		"vocab 2^30":        {set(fVocab, 1<<30), "out of range"},
		"seq 0":             {set(fSeq, 0), "out of range"},
		"seq -96":           {set(fSeq, -96), "out of range"},
		"heads ∤ dim":       {set(fHeads, 5), "do not fit"},
		"kv ∤ heads":        {set(fKV, 4), "do not fit"},
		"odd head size":     {set(fHeads, 16), "do not fit"},
		"v1 short header":   {v1[:100], "truncated version header"},
		"v1 version 0":      {v1With(4, 0), "export version 0"},
		"v1 version 2":      {v1With(4, 2), "version 2"},
		"v1 version -1":     {v1With(4, 0xffffffff), "export version -1"},
		"v1 dim 0":          {v1With(8, 0), "out of range"},
		"v1 negative vocab": {v1With(28, uint32(0xffffffff-299)), "out of range"},
		"v1 truncated":      {v1[:len(v1)-4], "implies"},
		"v1 extra":          {append(bytes.Clone(v1), 1, 2, 3, 4), "implies"},
		"v1 unshared flag":  {func() []byte { b := bytes.Clone(v1); b[36] = 1; return b }(), "implies"},
	}
	for name, c := range cases {
		ck, err := llama2c.Parse(c.data)
		if !errors.Is(err, llama2c.ErrCheckpoint) || ck != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want ErrCheckpoint mentioning %q)", name, err, c.want)
		}
		if _, err := llama2c.Import(c.data, synthTok(t, 300, 1), importOpts(kernels.F32)); !errors.Is(err, llama2c.ErrCheckpoint) {
			t.Errorf("%s: Import: %v", name, err)
		}
	}
	// Version 2 (llama2.c's int8 export) gets advice, not just a refusal.
	_, err := llama2c.Parse(v1With(4, 2))
	if msg := fmt.Sprint(err); !strings.Contains(msg, "int8") || !strings.Contains(msg, "--quant q8") {
		t.Errorf("version 2 message is not helpful: %v", err)
	}
}

func TestImportErrors(t *testing.T) {
	c := tiny
	ck := synth(t, c, 1)
	tok := synthTok(t, c.Vocab, 1)
	opts := importOpts(kernels.F32)
	// The tokenizer must describe the model's vocabulary.
	for _, n := range []int{259, c.Vocab - 1} {
		if _, err := llama2c.Import(ck, synthTok(t, n, 1), opts); err == nil || !strings.Contains(err.Error(), "tokenizer") || !errors.Is(err, tokenizer.ErrFormat) {
			t.Errorf("tokenizer of %d entries for a vocabulary of %d: %v", n, c.Vocab, err)
		}
	}
	for name, bad := range map[string][]byte{"empty": nil, "garbage": []byte("not a tokenizer"), "truncated": tok[:len(tok)-1]} {
		if _, err := llama2c.Import(ck, bad, opts); err == nil {
			t.Errorf("%s tokenizer accepted", name)
		}
	}
	noKey := opts
	noKey.Key = nil
	if _, err := llama2c.Import(ck, tok, noKey); err == nil {
		t.Error("import without a key")
	}
	u8 := opts
	u8.Quant = kernels.U8
	if _, err := llama2c.Import(ck, tok, u8); err == nil {
		t.Error("u8 quantization accepted")
	}
	badChunk := opts
	badChunk.ChunkSize = 1000
	if _, err := llama2c.Import(ck, tok, badChunk); !errors.Is(err, bundle.ErrManifest) {
		t.Errorf("bad chunk size: %v", err)
	}
	// Defaults: name, version, chunk size and the real guest module.
	b, err := llama2c.Import(ck, tok, llama2c.Options{Key: testmodels.Key()})
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest()
	if m.Name != "llama2c" || m.Version != "1.0.0" || m.ChunkSize != bundle.DefaultChunkSize || m.Config["weights_dtype"] != "f32" {
		t.Errorf("defaults: %+v", m)
	}
	if mod, _ := b.File("model.wasm"); len(mod) < 8 || string(mod[:4]) != "\x00asm" {
		t.Error("default module is not WebAssembly")
	}
}

func TestSynthesizeTokenizer(t *testing.T) {
	const vocab = 512
	data := synthTok(t, vocab, 1)
	if !bytes.Equal(data, synthTok(t, vocab, 1)) {
		t.Fatal("same seed, different tokenizer")
	}
	if bytes.Equal(data, synthTok(t, vocab, 2)) {
		t.Fatal("different seeds, same tokenizer")
	}
	tk, err := tokenizer.Parse(data, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != vocab || string(tk.Piece(tokenizer.BOS)) != "\n<s>\n" || string(tk.Piece(3+'A')) != "<0x41>" || tk.Lookup(" ") < 0 {
		t.Fatal("special and byte tokens are not where llama2.c puts them")
	}
	// The merges must be used: a text built from merged pieces encodes to
	// fewer tokens than it has bytes, and decodes back.
	var text strings.Builder
	merged := 0
	for id := int32(259 + 95); id < vocab; id++ {
		p := tk.Piece(id)
		if len(p) < 2 {
			t.Fatalf("piece %d %q is not a merge", id, p)
		}
		text.Write(p)
		merged++
	}
	for _, s := range []string{text.String(), "Once upon a time, there was a little girl named Lily. She loved to play outside."} {
		toks := tk.Encode(s, true, false)
		if len(toks)-1 >= len(s) {
			t.Errorf("%d tokens for %d bytes: no merges happened", len(toks)-1, len(s))
		}
		var out []byte
		for i := 1; i < len(toks); i++ {
			out = append(out, tk.Decode(toks[i-1], toks[i])...)
		}
		if string(out) != s {
			t.Errorf("decode(encode(%q)) = %q", s, out)
		}
	}
	if merged == 0 {
		t.Fatal("no merged pieces")
	}
	for _, n := range []int{0, 258, 1<<20 + 1} {
		if _, err := llama2c.SynthesizeTokenizer(n, 1); err == nil {
			t.Errorf("vocab %d accepted", n)
		}
	}
	if _, err := tokenizer.Parse(synthTok(t, 259, 1), 259); err != nil {
		t.Fatalf("smallest tokenizer: %v", err)
	}
}

func TestStories260K(t *testing.T) {
	ckData := testmodels.SharedFile(t, "stories260K/stories260K.bin")
	tok := testmodels.SharedFile(t, "stories260K/tok512.bin")
	want := llama2c.Config{Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KVHeads: 4, Vocab: 512, SeqLen: 512, SharedClassifier: true}
	ck, err := llama2c.Parse(ckData)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Config != want || ck.Version != 0 {
		t.Fatalf("config %+v version %d, want %+v", ck.Config, ck.Version, want)
	}
	if llama2c.DefaultHidden(want.Dim) != want.HiddenDim {
		t.Fatal("stories260K's hidden dim is not the default")
	}
	for _, q := range []kernels.DType{kernels.F32, kernels.Q8_0} {
		b := testmodels.Stories260K(t, q)
		if err := b.Verify(); err != nil {
			t.Fatal(err)
		}
		m := b.Manifest()
		if m.Model.VocabSize != 512 || m.Model.ContextLength != 512 || m.Config["n_kv_heads"] != "4" || m.Config["shared_classifier"] != "1" {
			t.Fatalf("%s: manifest %+v", q, m)
		}
		if got, _ := b.File("tokenizer.bin"); !bytes.Equal(got, tok) {
			t.Fatal("tokenizer not stored verbatim")
		}
		if _, _, ok := weightsOf(t, b).Lookup("output"); ok {
			t.Fatal("a shared classifier was imported as its own tensor")
		}
	}
	// The same weights as a version-1 export import to the same tensors.
	a := weightsOf(t, importOK(t, ckData, tok, kernels.F32))
	v := weightsOf(t, importOK(t, toV1(t, ckData, want), tok, kernels.F32))
	for _, name := range a.Names() {
		_, da, _ := a.Lookup(name)
		_, dv, ok := v.Lookup(name)
		if !ok || !bytes.Equal(da, dv) {
			t.Fatalf("%s differs in the v1 import", name)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	for _, c := range []llama2c.Config{micro, {Dim: 4, HiddenDim: 4, Layers: 2, Heads: 2, KVHeads: 2, Vocab: 3, SeqLen: 2}} {
		ck := synth(f, c, 1)
		f.Add(ck)
		f.Add(toV1(f, ck, c))
		unshared := c
		unshared.SharedClassifier = false
		f.Add(synth(f, unshared, 1))
		f.Add(toV1(f, synth(f, unshared, 1), unshared))
		f.Add(ck[:len(ck)-1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := llama2c.Parse(data)
		if err != nil {
			if !errors.Is(err, llama2c.ErrCheckpoint) || ck != nil {
				t.Fatalf("error %v", err)
			}
			return
		}
		if err := ck.Config.Validate(); err != nil {
			t.Fatalf("accepted an invalid shape: %v", err)
		}
		header, specs := 28, legacySpecs(ck.Config)
		switch ck.Version {
		case 0:
		case 1:
			header, specs = 256, v1Specs(ck.Config)
		default:
			t.Fatalf("version %d", ck.Version)
		}
		if want := header + 4*floatsOf(specs); len(data) != want {
			t.Fatalf("accepted %d bytes; %+v v%d implies %d", len(data), ck.Config, ck.Version, want)
		}
	})
}

func FuzzImport(f *testing.F) {
	ck := synth(f, micro, 1)
	tok := smallTokenizer(micro.Vocab)
	f.Add(ck, tok, false)
	f.Add(ck, tok, true)
	f.Add(toV1(f, ck, micro), tok, true)
	unshared := micro
	unshared.SharedClassifier = false
	f.Add(synth(f, unshared, 2), tok, false)
	f.Add(ck, tok[:len(tok)-1], false)
	f.Add(ck, smallTokenizer(3), false)
	f.Fuzz(func(t *testing.T, ck, tok []byte, q8 bool) {
		if len(ck) > 1<<16 {
			return // keep each run cheap; shapes this big add nothing
		}
		q := kernels.F32
		if q8 {
			q = kernels.Q8_0
		}
		b, err := llama2c.Import(ck, tok, importOpts(q))
		if err != nil {
			return
		}
		if err := b.Verify(); err != nil {
			t.Fatalf("imported bundle does not verify: %v", err)
		}
		p, err := llama2c.Parse(ck)
		if err != nil {
			t.Fatalf("Import accepted a checkpoint Parse refuses: %v", err)
		}
		tf := weightsOf(t, b)
		n := 0
		for _, s := range legacySpecs(p.Config) {
			if s.skip {
				continue
			}
			n++
			ti, _, ok := tf.Lookup(s.name)
			wantType := kernels.F32
			if q8 && s.matrix {
				wantType = kernels.Q8_0
			}
			if !ok || ti.Rows != s.rows || ti.Cols != s.cols || ti.DType != wantType {
				t.Fatalf("%s: %+v", s.name, ti)
			}
		}
		if len(tf.Infos()) != n || b.Manifest().Model.VocabSize != p.Config.Vocab {
			t.Fatalf("%d tensors, want %d", len(tf.Infos()), n)
		}
	})
}
