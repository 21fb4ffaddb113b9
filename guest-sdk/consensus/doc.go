// Package consensus is the guest half of dnahost consensus rules: write a
// plain Go function from the job's commitments to a decision, register it,
// and build the module like any guest:
//
//	func init() { consensus.Register(decide) }
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rule.wasm
//
// The host authenticates every commitment (signatures, job) before the rule
// sees it, runs the rule in the sandbox as a pure function, and refuses a
// decision that does not fit its input. A rule must be deterministic: use
// only its input — no time, no randomness, no map iteration order.
// Normalize and TallyResults are the building blocks the network's presets
// use. See docs/consensus.md in the dnahost repository.
package consensus
