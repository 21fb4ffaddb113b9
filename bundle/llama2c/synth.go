package llama2c

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultHidden is llama's feed-forward width for dim: 2/3 of 4·dim,
// rounded up to a multiple of 32 (llama2.c's multiple_of; 4 below dim 128).
func DefaultHidden(dim int) int {
	m := 32
	if dim < 128 {
		m = 4
	}
	h := 2 * 4 * dim / 3
	return (h + m - 1) / m * m
}

// Synthesize makes a legacy-format llama2.c checkpoint of the given shape
// with deterministic random weights: the same (config, seed) always gives
// the same bytes. Matrices are uniform in ±1/√fan-in, norms near 1.
func Synthesize(c Config, seed uint64) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x73796e7468))
	var hdr [headerV0]byte
	vocab := c.Vocab
	if !c.SharedClassifier {
		vocab = -vocab
	}
	for i, v := range []int{c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, vocab, c.SeqLen} {
		binary.LittleEndian.PutUint32(hdr[4*i:], uint32(int32(v)))
	}
	specs := layout(c, legacyKind)
	var total int64
	for _, t := range specs {
		total += int64(t.rows) * int64(t.cols)
	}
	out := make([]byte, headerV0, headerV0+4*total)
	copy(out, hdr[:])
	for _, t := range specs {
		n := t.rows * t.cols
		for i := 0; i < n; i++ {
			var v float32
			switch {
			case t.skip:
				v = 0
			case t.rows == 1: // a norm
				v = float32(1 + 0.1*(2*rng.Float64()-1))
			default:
				v = float32((2*rng.Float64() - 1) / math.Sqrt(float64(t.cols)))
			}
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// SynthesizeTokenizer makes a llama2.c tokenizer.bin of vocab entries: the
// specials <unk>, <s>, </s>, the 256 byte tokens, printable ASCII, then
// deterministic random merges of earlier pieces with decreasing scores, so
// that byte-pair encoding genuinely merges.
func SynthesizeTokenizer(vocab int, seed uint64) ([]byte, error) {
	if vocab < 259 || vocab > maxVocab {
		return nil, fmt.Errorf("llama2c: synthetic tokenizer needs 259 to %d entries, got %d", maxVocab, vocab)
	}
	rng := rand.New(rand.NewPCG(seed, 0x746f6b))
	pieces := []string{"<unk>", "\n<s>\n", "\n</s>\n"}
	for b := 0; b < 256; b++ {
		pieces = append(pieces, fmt.Sprintf("<0x%02X>", b))
	}
	seen := map[string]bool{}
	for _, p := range pieces {
		seen[p] = true
	}
	var base []string
	for c := 32; c < 127 && len(pieces) < vocab; c++ {
		s := string(rune(c))
		pieces = append(pieces, s)
		seen[s] = true
		base = append(base, s)
	}
	for tries := 0; len(pieces) < vocab; tries++ {
		a, b := base[rng.IntN(len(base))], base[rng.IntN(len(base))]
		if tries > 1000*vocab {
			return nil, fmt.Errorf("llama2c: could not make %d distinct pieces", vocab)
		}
		s := a + b
		if seen[s] || len(s) > 16 {
			continue
		}
		seen[s] = true
		pieces = append(pieces, s)
		base = append(base, s)
	}
	maxLen := 0
	for _, p := range pieces {
		maxLen = max(maxLen, len(p))
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, int32(maxLen))
	for i, p := range pieces {
		score := float32(0)
		if i >= 259 {
			score = -float32(i - 259)
		}
		binary.Write(&buf, binary.LittleEndian, math.Float32bits(score))
		binary.Write(&buf, binary.LittleEndian, int32(len(p)))
		buf.WriteString(p)
	}
	return buf.Bytes(), nil
}

func f32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}
