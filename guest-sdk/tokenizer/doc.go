// Package tokenizer implements the llama2.c tokenizer: the tokenizer.bin
// vocabulary format and its byte-pair encoder, reproducing run.c's encode
// and decode exactly (with the merge loop in O(n log n) instead of O(n²)
// per merge).
package tokenizer
