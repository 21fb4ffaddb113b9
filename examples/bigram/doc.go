// Package bigram is a complete example of a bundle with its own
// architecture: a character-level bigram language model whose dna_forward
// is a single embedding lookup, with its own byte tokenizer.
//
//	guest-sdk/examples/bigram   the inference module (GOOS=wasip1 -buildmode=c-shared)
//	train/                      counts character pairs in a text and writes weights.dnt
//	bundle/                     manifest.json, the template `dna bundle pack` fills in
//
// `make example` (or the test in this package) trains it on corpus.txt,
// packs the bundle and runs it with `dna run`.
package bigram
