// Package chain is dnahost's ledger: a proof-of-work chain stored in pebble
// that records job results and settles payments, as the CamelidCoin paper
// describes (§2.2–2.4).
//
// The state is a set of accounts (balance and nonce), jobs (escrowed reward,
// stakes, the recorded result) and a settlement queue; see docs/chain.md for
// why accounts rather than UTXOs. A block's transactions move the state
// forward; the chain time (median time past) then settles jobs whose
// dispute window has closed and expires jobs past their deadline.
//
// Validation comes in two layers, as in btcd: CheckBlockSanity and
// CheckTxSanity need nothing but the bytes and the parameters; contextual
// checks need the parent and the state. Every rule failure is a *RuleError
// with a Code.
//
// Storage is pebble: connecting a block, or a whole reorganisation, is one
// synced batch, so a crash at any point leaves the previous tip or the new
// one. Each connected block keeps an undo log (the prior value of every
// state key it wrote), so reorganisations are planned (fork point, blocks
// to detach and attach), checked in an indexed batch on top of the current
// state, and committed only if every block connects.
//
// Params are values (MainNet, TestNet, DevNet): DevNet mines in
// milliseconds and uses a dispute window of seconds.
package chain
