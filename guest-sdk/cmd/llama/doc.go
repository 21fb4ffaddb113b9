// Command llama is the inference module that `dna import llama2c` ships in
// every bundle: the llama package registered as the module's model. Build
// it with `make guest`, which writes ../guests/llama.wasm.
package main
