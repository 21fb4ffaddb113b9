// Package verify checks a claimed completion against the bundle that
// supposedly produced it, without generating it again token by token.
//
// A claim is a job (bundle, prompt tokens, seed, temperature, top-k, token
// limit) and its result (output tokens, introspection digest): exactly what
// `dna run --json` prints. Because every host kernel is bit-exact and batch
// invariant and the sampling noise is fixed by the job, one batched forward
// pass over the claimed sequence reproduces the logits the generator saw at
// every position, and the canonical sample at each position must equal the
// claimed next token.
//
//   - Full checks every position and the digest (docs/verification.md).
//   - RASTiC is the CamelidCoin paper's spot check: continuity at the
//     prompt boundary, K random interior positions chosen from a
//     verifier-secret seed, and truncation at the end.
//   - Outsourced answers a request for one position with a hash binding
//     (job, claim, index, recomputed token), never the token itself.
package verify
