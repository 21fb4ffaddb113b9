// Package inference turns a Go program into a dnahost inference module.
// Register a Model in an init function, leave main empty, and build with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o model.wasm
//
// The package provides the exports the host calls: dna_init, dna_alloc,
// dna_free, dna_tokenize, dna_detokenize and dna_forward. The host owns the
// decoding loop: it tokenizes the prompt, calls Forward, samples canonically
// and streams tokens; a Model only describes one forward pass.
package inference
