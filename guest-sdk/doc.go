// Package guestsdk is the software development kit for dnahost bundle
// authors: everything a model constructor compiles to WebAssembly. It uses
// the Go standard library only, so `go get` brings in nothing else.
//
//   - dna: bindings for the host ABI v1 (module "dna").
//   - inference: the exports a bundle's inference module provides; register
//     a Model and build with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
//   - llama: a Llama-family model (llama2.c architecture).
//   - tokenizer: the llama2.c tokenizer.bin BPE tokenizer.
//   - cmd/llama: the inference module the llama2.c importer ships.
//   - examples: writing dna_forward for your own architecture.
package guestsdk
