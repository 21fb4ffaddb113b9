package inference

import "github.com/dnahost/dnahost/guest-sdk/dna"

// Model is what a bundle author implements.
type Model interface {
	// Init opens weights and allocates buffers. It runs once per instance.
	Init(h dna.Host) error
	// Tokenize turns a prompt into token ids, including any leading BOS.
	Tokenize(text string) ([]int32, error)
	// Detokenize returns the bytes token adds after prev (−1 at the start).
	Detokenize(prev, token int32) []byte
	// Forward processes tokens at positions pos, pos+1, … and writes each
	// position's logits into one row of logits (len(tokens) × vocabulary).
	// Row i must depend only on tokens[0..i] and the earlier positions, never
	// on how the sequence was split into calls: the host and verifiers rely
	// on that to recompute any position.
	Forward(tokens []int32, pos int, logits dna.Tensor) error
}

var registered Model

// Register installs the module's model. Call it from an init function.
func Register(m Model) { registered = m }

// Registered returns the model passed to Register (for native drivers).
func Registered() Model { return registered }
