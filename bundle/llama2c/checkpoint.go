package llama2c

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Config is a llama2.c model shape.
type Config struct {
	Dim, HiddenDim, Layers, Heads, KVHeads, Vocab, SeqLen int
	SharedClassifier                                      bool
}

// Limits on a checkpoint's shape, far above any llama2.c model, so sizes
// never overflow.
const (
	maxDim    = 1 << 16
	maxLayers = 1 << 10
	maxVocab  = 1 << 20
	maxSeq    = 1 << 20
)

// ErrCheckpoint reports a file that is not a usable llama2.c checkpoint.
var ErrCheckpoint = errors.New("llama2c: bad checkpoint")

const (
	magicV1    = 0x616b3432 // "ak42"
	headerV0   = 7 * 4
	headerV1   = 256
	legacyKind = 0
)

// HeadSize is dim / heads.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the key/value width.
func (c Config) KVDim() int { return c.KVHeads * c.HeadSize() }

// Validate checks that the shape is consistent and bounded.
func (c Config) Validate() error {
	switch {
	case c.Dim <= 0 || c.Dim > maxDim, c.HiddenDim <= 0 || c.HiddenDim > 4*maxDim,
		c.Layers <= 0 || c.Layers > maxLayers, c.Heads <= 0 || c.Heads > c.Dim,
		c.KVHeads <= 0 || c.KVHeads > c.Heads, c.Vocab <= 0 || c.Vocab > maxVocab,
		c.SeqLen <= 0 || c.SeqLen > maxSeq:
		return fmt.Errorf("%w: shape %+v out of range", ErrCheckpoint, c)
	case c.Dim%c.Heads != 0 || c.Heads%c.KVHeads != 0 || c.HeadSize()%2 != 0:
		return fmt.Errorf("%w: dim %d, %d heads and %d kv heads do not fit together", ErrCheckpoint, c.Dim, c.Heads, c.KVHeads)
	}
	return nil
}

// tensorSpec is one tensor of the checkpoint, in file order.
type tensorSpec struct {
	name       string // name in the bundle (layer tensors get a layer prefix)
	layer      int    // −1 for model-wide tensors
	rows, cols int
	skip       bool // present in the file but not imported (old RoPE tables)
	matrix     bool // quantized by --quant q8
}

func perLayer(c Config, name string, rows, cols int, matrix bool) []tensorSpec {
	out := make([]tensorSpec, c.Layers)
	for l := range out {
		out[l] = tensorSpec{name: name, layer: l, rows: rows, cols: cols, matrix: matrix}
	}
	return out
}

// layout lists the tensors of a checkpoint in file order.
func layout(c Config, version int) []tensorSpec {
	D, H, V, KV := c.Dim, c.HiddenDim, c.Vocab, c.KVDim()
	emb := tensorSpec{name: "tok_embeddings", layer: -1, rows: V, cols: D, matrix: true}
	norm := tensorSpec{name: "norm", layer: -1, rows: 1, cols: D}
	var s []tensorSpec
	add := func(ts ...tensorSpec) { s = append(s, ts...) }
	if version == legacyKind {
		add(emb)
		add(perLayer(c, "attn_norm", 1, D, false)...)
		add(perLayer(c, "wq", D, D, true)...)
		add(perLayer(c, "wk", KV, D, true)...)
		add(perLayer(c, "wv", KV, D, true)...)
		add(perLayer(c, "wo", D, D, true)...)
		add(perLayer(c, "ffn_norm", 1, D, false)...)
		add(perLayer(c, "w1", H, D, true)...)
		add(perLayer(c, "w2", D, H, true)...)
		add(perLayer(c, "w3", H, D, true)...)
		add(norm)
		add(tensorSpec{name: "freq_cis", layer: -1, rows: 2 * c.SeqLen, cols: c.HeadSize() / 2, skip: true})
	} else {
		add(perLayer(c, "attn_norm", 1, D, false)...)
		add(perLayer(c, "ffn_norm", 1, D, false)...)
		add(norm, emb)
		add(perLayer(c, "wq", D, D, true)...)
		add(perLayer(c, "wk", KV, D, true)...)
		add(perLayer(c, "wv", KV, D, true)...)
		add(perLayer(c, "wo", D, D, true)...)
		add(perLayer(c, "w1", H, D, true)...)
		add(perLayer(c, "w2", D, H, true)...)
		add(perLayer(c, "w3", H, D, true)...)
	}
	if !c.SharedClassifier {
		add(tensorSpec{name: "output", layer: -1, rows: V, cols: D, matrix: true})
	}
	return s
}

// Checkpoint is a parsed llama2.c checkpoint.
type Checkpoint struct {
	Config  Config
	Version int // 0 legacy, 1 "ak42" v1
	data    []byte
	header  int
}

// Parse reads a checkpoint's header and checks that the file holds exactly
// the weights the header implies.
func Parse(data []byte) (*Checkpoint, error) {
	if len(data) < headerV0 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a header", ErrCheckpoint, len(data))
	}
	i32 := func(off int) int { return int(int32(binary.LittleEndian.Uint32(data[off:]))) }
	ck := &Checkpoint{data: data}
	var c Config
	if binary.LittleEndian.Uint32(data) == magicV1 {
		if len(data) < headerV1 {
			return nil, fmt.Errorf("%w: truncated version header", ErrCheckpoint)
		}
		v := i32(4)
		if v != 1 {
			return nil, fmt.Errorf("%w: export version %d (only the binary32 legacy and version 1 exports are supported; version 2 is llama2.c's own int8 format — import the binary32 checkpoint with --quant q8 instead)", ErrCheckpoint, v)
		}
		c = Config{Dim: i32(8), HiddenDim: i32(12), Layers: i32(16), Heads: i32(20), KVHeads: i32(24), Vocab: i32(28), SeqLen: i32(32)}
		c.SharedClassifier = data[36] != 0
		ck.Version, ck.header = 1, headerV1
	} else {
		c = Config{Dim: i32(0), HiddenDim: i32(4), Layers: i32(8), Heads: i32(12), KVHeads: i32(16), Vocab: i32(20), SeqLen: i32(24)}
		c.SharedClassifier = c.Vocab > 0
		if c.Vocab < 0 {
			c.Vocab = -c.Vocab
		}
		ck.Version, ck.header = legacyKind, headerV0
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ck.Config = c
	var floats int64
	for _, t := range layout(c, ck.Version) {
		floats += int64(t.rows) * int64(t.cols)
	}
	if want := int64(ck.header) + 4*floats; int64(len(data)) != want {
		return nil, fmt.Errorf("%w: %d bytes, the header (%+v) implies %d", ErrCheckpoint, len(data), c, want)
	}
	return ck, nil
}

// tensors calls fn for each imported tensor with its binary32 values.
func (ck *Checkpoint) tensors(fn func(t tensorSpec, values []float32) error) error {
	off := ck.header
	for _, t := range layout(ck.Config, ck.Version) {
		n := t.rows * t.cols
		if !t.skip {
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(ck.data[off+4*i:]))
			}
			if err := fn(t, vals); err != nil {
				return err
			}
		}
		off += 4 * n
	}
	return nil
}
