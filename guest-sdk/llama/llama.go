package llama

import (
	"errors"
	"strconv"

	"github.com/dnahost/dnahost/guest-sdk/dna"
	"github.com/dnahost/dnahost/guest-sdk/tokenizer"
)

// Config is the model shape.
type Config struct {
	Dim, HiddenDim, Layers, Heads, KVHeads, Vocab, SeqLen int
	NormEps, RopeTheta                                    float32
	SharedClassifier                                      bool
	TokenizerFile                                         string
}

// ReadConfig reads the shape from the host's bundle config.
func ReadConfig(h dna.Host) (Config, error) {
	var c Config
	var err error
	ints := []struct {
		key string
		dst *int
	}{{"dim", &c.Dim}, {"hidden_dim", &c.HiddenDim}, {"n_layers", &c.Layers}, {"n_heads", &c.Heads},
		{"n_kv_heads", &c.KVHeads}, {"vocab_size", &c.Vocab}, {"seq_len", &c.SeqLen}}
	for _, f := range ints {
		if *f.dst, err = dna.ConfigInt(h, f.key); err != nil {
			return c, err
		}
		if *f.dst <= 0 {
			return c, errors.New("llama: config " + f.key + " must be positive")
		}
	}
	if c.NormEps, err = dna.ConfigFloat(h, "norm_eps", 1e-5); err != nil {
		return c, err
	}
	if c.RopeTheta, err = dna.ConfigFloat(h, "rope_theta", 10000); err != nil {
		return c, err
	}
	s, _ := h.Config("shared_classifier")
	c.SharedClassifier = s == "1" || s == "true"
	c.TokenizerFile = "tokenizer.bin"
	if s, ok := h.Config("tokenizer"); ok {
		c.TokenizerFile = s
	}
	if c.Heads%c.KVHeads != 0 || c.Dim%c.Heads != 0 || (c.Dim/c.Heads)%2 != 0 {
		return c, errors.New("llama: dim, n_heads and n_kv_heads do not fit together")
	}
	return c, nil
}

// HeadSize is dim / n_heads.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the width of one key or value row.
func (c Config) KVDim() int { return c.KVHeads * c.HeadSize() }

// TensorName is the weight name for layer l (or −1 for the model-wide
// tensors tok_embeddings, norm and output).
func TensorName(l int, name string) string {
	if l < 0 {
		return name
	}
	return "layers." + strconv.Itoa(l) + "." + name
}

type layer struct {
	attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3 dna.Tensor
	kCache, vCache                                dna.Tensor
}

// activations for a batch of up to cap rows.
type acts struct {
	cap, rows                    int
	x, xb, xb2, q, k, v, hb, hb2 dna.Tensor
}

// Model is the Llama decoder. It implements inference.Model.
type Model struct {
	h      dna.Host
	cfg    Config
	tok    *tokenizer.Tokenizer
	tokErr error
	embed  dna.Tensor
	norm   dna.Tensor
	cls    dna.Tensor
	layers []layer
	a      acts
	prog   program
}

// New returns an uninitialised model; the host calls Init.
func New() *Model { return &Model{} }

// Config returns the shape read at Init.
func (m *Model) Config() Config { return m.cfg }

// Init reads the config, opens the weights and the tokenizer, and allocates
// the KV cache.
func (m *Model) Init(h dna.Host) error {
	m.h = h
	cfg, err := ReadConfig(h)
	if err != nil {
		return err
	}
	m.cfg = cfg
	open := func(l int, name string) (dna.Tensor, error) { return h.TensorOpen(TensorName(l, name)) }
	if m.embed, err = open(-1, "tok_embeddings"); err != nil {
		return err
	}
	if m.norm, err = open(-1, "norm"); err != nil {
		return err
	}
	m.cls = m.embed
	if !cfg.SharedClassifier {
		if m.cls, err = open(-1, "output"); err != nil {
			return err
		}
	}
	m.layers = make([]layer, cfg.Layers)
	for l := range m.layers {
		L := &m.layers[l]
		for _, w := range []struct {
			dst  *dna.Tensor
			name string
		}{{&L.attnNorm, "attn_norm"}, {&L.wq, "wq"}, {&L.wk, "wk"}, {&L.wv, "wv"}, {&L.wo, "wo"},
			{&L.ffnNorm, "ffn_norm"}, {&L.w1, "w1"}, {&L.w2, "w2"}, {&L.w3, "w3"}} {
			if *w.dst, err = open(l, w.name); err != nil {
				return err
			}
		}
		if L.kCache, err = h.TensorNew(dna.F32, cfg.SeqLen, cfg.KVDim()); err != nil {
			return err
		}
		if L.vCache, err = h.TensorNew(dna.F32, cfg.SeqLen, cfg.KVDim()); err != nil {
			return err
		}
	}
	// The tokenizer must exist; it is parsed on first use, because an
	// instance that only verifies never tokenizes, and parsing a large
	// vocabulary is most of a Go guest's start-up.
	f, err := h.FileOpen(cfg.TokenizerFile)
	if err != nil {
		return err
	}
	return h.TensorFree(f)
}

func (m *Model) tokenizer() (*tokenizer.Tokenizer, error) {
	if m.tok != nil || m.tokErr != nil {
		return m.tok, m.tokErr
	}
	m.tok, m.tokErr = m.loadTokenizer()
	return m.tok, m.tokErr
}

func (m *Model) loadTokenizer() (*tokenizer.Tokenizer, error) {
	f, err := m.h.FileOpen(m.cfg.TokenizerFile)
	if err != nil {
		return nil, err
	}
	defer m.h.TensorFree(f)
	_, _, size, err := m.h.TensorInfo(f)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if err := m.h.TensorRead(f, 0, buf); err != nil {
		return nil, err
	}
	return tokenizer.Parse(buf, m.cfg.Vocab)
}

// Tokenize encodes with a leading BOS, as llama2.c does.
func (m *Model) Tokenize(text string) ([]int32, error) {
	tok, err := m.tokenizer()
	if err != nil {
		return nil, err
	}
	return tok.Encode(text, true, false), nil
}

// Detokenize decodes one token after prev. The control tokens BOS and EOS
// have no text (nor has anything if the tokenizer cannot be parsed: then
// Tokenize reports why).
func (m *Model) Detokenize(prev, token int32) []byte {
	if token < 0 || int(token) >= m.cfg.Vocab || token == tokenizer.BOS || token == tokenizer.EOS {
		return nil
	}
	tok, err := m.tokenizer()
	if err != nil {
		return nil
	}
	return tokenizer.Printable(tok.Decode(prev, token))
}

// ensure sizes the activation buffers for n rows.
func (m *Model) ensure(n int) error {
	a := &m.a
	if n > a.cap {
		for _, t := range []dna.Tensor{a.x, a.xb, a.xb2, a.q, a.k, a.v, a.hb, a.hb2} {
			if a.cap > 0 {
				m.h.TensorFree(t)
			}
		}
		c := m.cfg
		specs := []struct {
			dst  *dna.Tensor
			cols int
		}{{&a.x, c.Dim}, {&a.xb, c.Dim}, {&a.xb2, c.Dim}, {&a.q, c.Dim}, {&a.k, c.KVDim()}, {&a.v, c.KVDim()},
			{&a.hb, c.HiddenDim}, {&a.hb2, c.HiddenDim}}
		for _, s := range specs {
			t, err := m.h.TensorNew(dna.F32, n, s.cols)
			if err != nil {
				a.cap = 0
				return err
			}
			*s.dst = t
		}
		a.cap, a.rows = n, n
		m.prog.n = 0 // the recorded program names the old buffers
	}
	if a.rows != n {
		for _, t := range []dna.Tensor{a.x, a.xb, a.xb2, a.q, a.k, a.v, a.hb, a.hb2} {
			if err := m.h.TensorSetRows(t, n); err != nil {
				return err
			}
		}
		a.rows = n
	}
	return nil
}

// Forward runs the decoder over tokens at positions pos… and writes logits.
func (m *Model) Forward(tokens []int32, pos int, logits dna.Tensor) error {
	n := len(tokens)
	c := m.cfg
	if pos+n > c.SeqLen {
		return &dna.Error{Op: "forward", Code: dna.CodeRange, Msg: "llama: sequence longer than seq_len " + strconv.Itoa(c.SeqLen)}
	}
	if err := m.ensure(n); err != nil {
		return err
	}
	if m.prog.n != n {
		if err := m.record(n); err != nil {
			return err
		}
	}
	if err := m.h.Embed(m.a.x, m.embed, tokens); err != nil {
		return err
	}
	// Replay the recorded pass with this call's positions and logits.
	p := &m.prog
	for _, site := range p.sites {
		p.ops.Patch(site.rec, site.arg, site.scale*pos)
	}
	p.ops.Patch(p.logitsRec, 0, int(logits))
	if err := p.ops.Replay(); err != nil {
		return err
	}
	// The final hidden state goes into the digest (x is unchanged by the
	// classifier matmul).
	return m.h.Probe(m.a.x, "final")
}

// program is a forward pass for a batch of n rows, recorded once and
// replayed with each call's position patched in.
type program struct {
	n         int
	ops       dna.Ops
	sites     []patchSite
	logitsRec int // the classifier matmul, whose output is each call's logits
}

// patchSite is an argument that is scale·pos.
type patchSite struct{ rec, arg, scale int }

// record writes the operations of one forward pass over n rows, with
// position arguments at 0 and their sites noted.
func (m *Model) record(n int) error {
	c := m.cfg
	a := &m.a
	p := &m.prog
	p.n = 0
	p.sites = p.sites[:0]
	o := &p.ops
	o.H = m.h
	o.Reset()
	at := func(arg, scale int) { p.sites = append(p.sites, patchSite{o.Len() - 1, arg, scale}) }
	hs, kvDim := c.HeadSize(), c.KVDim()
	for l := 0; l < c.Layers; l++ {
		L := &m.layers[l]
		o.RMSNorm(a.xb, a.x, L.attnNorm, c.NormEps)
		o.MatMul(a.q, a.xb, L.wq)
		o.MatMul(a.k, a.xb, L.wk)
		o.MatMul(a.v, a.xb, L.wv)
		o.RoPE(a.q, 0, hs, c.RopeTheta)
		at(1, 1)
		o.RoPE(a.k, 0, hs, c.RopeTheta)
		at(1, 1)
		o.Copy(L.kCache, 0, a.k, 0, n*kvDim)
		at(1, kvDim)
		o.Copy(L.vCache, 0, a.v, 0, n*kvDim)
		at(1, kvDim)
		o.Attention(a.xb2, a.q, L.kCache, L.vCache, 0, c.Heads, c.KVHeads)
		at(4, 1)
		o.MatMul(a.xb, a.xb2, L.wo)
		o.Add(a.x, a.x, a.xb)
		o.RMSNorm(a.xb, a.x, L.ffnNorm, c.NormEps)
		o.MatMul(a.hb, a.xb, L.w1)
		o.MatMul(a.hb2, a.xb, L.w3)
		o.SiLUMul(a.hb, a.hb, a.hb2)
		o.MatMul(a.xb, a.hb, L.w2)
		o.Add(a.x, a.x, a.xb)
	}
	o.RMSNorm(a.x, a.x, m.norm, c.NormEps)
	o.MatMul(0, a.x, m.cls)
	p.logitsRec = o.Len() - 1
	p.n = n
	return nil
}
