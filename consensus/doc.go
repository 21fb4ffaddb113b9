// Package consensus turns the commitments of the nodes that ran a job into
// a decision and a certificate.
//
// A Rule is a deterministic function from a job and its commitments to a
// Decision: the accepted result, the nodes that agree, the nodes to
// penalise — or undecided, with a reason. Every honest node evaluates the
// same rule on the same input to the same decision. Presets cover the
// common majorities (majority, supermajority, quorum k-of-n, unanimous,
// stake-weighted, first-verified); a bundle may instead ship its own rule
// as a WebAssembly module, run in the sandbox like inference code.
//
// A decided result is certified by the agreeing nodes' signatures over
// (job, result, rule), which anyone can check without the rule's inputs.
// The subpackage verify checks claimed completions themselves.
package consensus
