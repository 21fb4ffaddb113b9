// Command bigram is an example of writing dna_forward for your own
// architecture: a character-level bigram model whose logits for the next
// byte are row `token` of a 256×256 table of log-probabilities. Its
// training program, manifest template and end-to-end test live in
// examples/bigram of the dnahost module.
package main

import (
	"errors"

	"github.com/dnahost/dnahost/guest-sdk/dna"
	"github.com/dnahost/dnahost/guest-sdk/inference"
)

// start is the implicit first token: a newline, as at the start of a text.
const start = '\n'

type bigram struct {
	h     dna.Host
	table dna.Tensor
}

func (m *bigram) Init(h dna.Host) error {
	m.h = h
	vocab, err := dna.ConfigInt(h, "vocab_size")
	if err != nil {
		return err
	}
	if vocab != 256 {
		return errors.New("bigram: vocab_size must be 256 (one token per byte)")
	}
	m.table, err = h.TensorOpen("bigram")
	return err
}

// Tokenize: one token per byte, after the implicit start token.
func (m *bigram) Tokenize(text string) ([]int32, error) {
	toks := make([]int32, 0, len(text)+1)
	toks = append(toks, start)
	for i := 0; i < len(text); i++ {
		toks = append(toks, int32(text[i]))
	}
	return toks, nil
}

func (m *bigram) Detokenize(prev, tok int32) []byte {
	if prev < 0 && tok == start {
		return nil // the implicit start token is not part of the text
	}
	return []byte{byte(tok)}
}

// Forward: the logits of row i are the table row of token i. One host
// call does the whole model; the probe puts the logits into the digest.
func (m *bigram) Forward(tokens []int32, pos int, logits dna.Tensor) error {
	if err := m.h.Embed(logits, m.table, tokens); err != nil {
		return err
	}
	return m.h.Probe(logits, "logits")
}

func init() { inference.Register(&bigram{}) }

func main() {}
