package llama2c

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/guest-sdk/tokenizer"
	"github.com/dnahost/dnahost/guests"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
)

// Options configures Import. Key is required; the rest have defaults.
type Options struct {
	Name    string           // bundle name (default "llama2c")
	Version string           // bundle version (default "1.0.0")
	Quant   kernels.DType    // F32 (default) or Q8_0 for the matrices
	Key     *keys.PrivateKey // the author's signing key
	Module  []byte           // inference module (default: guests.Llama())
	// Batch is the number of rows the resource estimate allows a forward
	// pass (default 512): it bounds a host's prefill chunk for this bundle.
	Batch     int
	ChunkSize int // default bundle.DefaultChunkSize
}

// Import makes a bundle from a llama2.c checkpoint and its tokenizer.bin.
func Import(checkpoint, tok []byte, o Options) (*bundle.Bundle, error) {
	if o.Key == nil {
		return nil, errors.New("llama2c: an author key is required")
	}
	if o.Name == "" {
		o.Name = "llama2c"
	}
	if o.Version == "" {
		o.Version = "1.0.0"
	}
	if o.Quant == 0 {
		o.Quant = kernels.F32
	}
	if o.Quant != kernels.F32 && o.Quant != kernels.Q8_0 {
		return nil, fmt.Errorf("llama2c: quantization %s not supported (f32 or q8_0)", o.Quant)
	}
	if o.Module == nil {
		o.Module = guests.Llama()
	}
	if o.Batch <= 0 {
		o.Batch = 512
	}
	ck, err := Parse(checkpoint)
	if err != nil {
		return nil, err
	}
	c := ck.Config
	if _, err := tokenizer.Parse(tok, c.Vocab); err != nil {
		return nil, fmt.Errorf("llama2c: tokenizer does not fit the model's %d-token vocabulary: %w", c.Vocab, err)
	}
	var ts []bundle.Tensor
	err = ck.tensors(func(t tensorSpec, vals []float32) error {
		name := t.name
		if t.layer >= 0 {
			name = "layers." + strconv.Itoa(t.layer) + "." + t.name
		}
		bt := bundle.Tensor{Name: name, DType: kernels.F32, Rows: t.rows, Cols: t.cols}
		if t.matrix && o.Quant == kernels.Q8_0 {
			bt.DType = kernels.Q8_0
			rb := kernels.Q8_0.RowBytes(t.cols)
			bt.Data = make([]byte, t.rows*rb)
			for r := 0; r < t.rows; r++ {
				kernels.QuantizeRowQ8_0(bt.Data[r*rb:(r+1)*rb], vals[r*t.cols:(r+1)*t.cols])
			}
		} else {
			bt.Data = f32Bytes(vals)
		}
		ts = append(ts, bt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	weights, err := bundle.EncodeTensors(ts)
	if err != nil {
		return nil, err
	}
	m := bundle.Manifest{
		Name:    o.Name,
		Version: o.Version,
		ABI:     1,
		Arch:    "llama",
		Config: map[string]string{
			"dim": strconv.Itoa(c.Dim), "hidden_dim": strconv.Itoa(c.HiddenDim), "n_layers": strconv.Itoa(c.Layers),
			"n_heads": strconv.Itoa(c.Heads), "n_kv_heads": strconv.Itoa(c.KVHeads), "vocab_size": strconv.Itoa(c.Vocab),
			"seq_len": strconv.Itoa(c.SeqLen), "norm_eps": "1e-05", "rope_theta": "10000",
			"shared_classifier": boolStr(c.SharedClassifier), "tokenizer": "tokenizer.bin",
			"weights_dtype": o.Quant.String(),
		},
		Model:     bundle.Model{VocabSize: c.Vocab, ContextLength: c.SeqLen, StopTokens: []int32{tokenizer.BOS, tokenizer.EOS}},
		Tokenizer: bundle.Tokenizer{Kind: "llama2c", File: "tokenizer.bin"},
		Entry:     bundle.Entry{Inference: "model.wasm"},
		Weights:   "weights.dnt",
		Resources: Resources(c, o.Batch),
		Consensus: bundle.Consensus{Rule: "majority"},
		ChunkSize: o.ChunkSize,
	}
	return bundle.Build(m, []bundle.Source{
		{Name: "model.wasm", Data: o.Module},
		{Name: "weights.dnt", Data: weights},
		{Name: "tokenizer.bin", Data: tok},
	}, o.Key)
}

// Resources estimates what an instance of the llama guest needs: the KV
// cache, activations and logits for batch rows, and a work price per
// position (the multiply-adds of one token at half the context).
func Resources(c Config, batch int) bundle.Resources {
	kv := int64(2*c.Layers) * int64(c.SeqLen) * int64(c.KVDim()) * 4
	perRow := int64(4*c.Dim+2*c.KVDim()+2*c.HiddenDim+c.Vocab) * 4
	matmul := uint64(c.Layers) * uint64(2*c.Dim*c.Dim+2*c.Dim*c.KVDim()+3*c.Dim*c.HiddenDim)
	attn := uint64(c.Layers) * uint64(c.SeqLen/2+1) * uint64(2*c.Dim)
	return bundle.Resources{
		Batch:        batch,
		MemoryPages:  4096, // 256 MiB of guest memory: the tokenizer and Go runtime need far less
		TensorBytes:  kv + int64(batch)*perRow + 1<<20,
		Handles:      64 + 16*c.Layers,
		WorkPerToken: matmul + attn + uint64(c.Vocab*c.Dim) + uint64(16*c.Dim*c.Layers),
	}
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
