// Package llama2c imports llama2.c checkpoints (the legacy format and the
// version-1 "ak42" export, both binary32) with their tokenizer.bin into
// bundles, optionally quantizing the matrices to Q8_0. It also makes
// synthetic checkpoints and tokenizers of any shape with deterministic
// random weights, so tests and benchmarks need no downloaded model.
package llama2c
