// Package chaintest helps test code that uses the chain: devnet chains in
// temporary directories with a controllable clock, deterministic keys,
// transaction builders, instant mining, and ToyVerifier, an in-memory
// ResultVerifier over a toy model whose correct output anyone can
// recompute.
package chaintest
