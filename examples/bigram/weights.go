package bigram

import (
	"encoding/binary"
	"math"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/kernels"
)

// Weights trains the table on text (log P(next | current) from byte-pair
// counts) and encodes it as a DNAT file.
func Weights(text []byte) ([]byte, error) {
	var counts [256][256]float64
	prev := byte('\n')
	for _, c := range text {
		counts[prev][c]++
		prev = c
	}
	// A byte never seen continues like the text as a whole (unigram
	// counts); a small pseudo-count keeps unseen pairs possible but rare.
	const pseudo = 1e-4
	var unigram [256]float64
	for _, c := range text {
		unigram[c]++
	}
	table := make([]byte, 256*256*4)
	for a := 0; a < 256; a++ {
		seen := 0.0
		for b := 0; b < 256; b++ {
			seen += counts[a][b]
		}
		if seen == 0 {
			counts[a] = unigram
		}
		total := 256 * pseudo
		for b := 0; b < 256; b++ {
			total += counts[a][b]
		}
		for b := 0; b < 256; b++ {
			lp := float32(math.Log((counts[a][b] + pseudo) / total))
			binary.LittleEndian.PutUint32(table[4*(256*a+b):], math.Float32bits(lp))
		}
	}
	return bundle.EncodeTensors([]bundle.Tensor{{Name: "bigram", DType: kernels.F32, Rows: 256, Cols: 256, Data: table}})
}
