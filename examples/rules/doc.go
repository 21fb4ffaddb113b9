// Package rules holds example consensus rules written with
// guest-sdk/consensus and compiled to WebAssembly:
//
//	minstake     majority among the nodes that bonded at least min_stake
//	digestmatch  majority counting only results whose digest a verifier recomputed
//	presets      the network's presets written again as a guest module (for the
//	             differential test against the host's implementation)
//
// Build one with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rule.wasm ./examples/rules/minstake
//
// and try it with `dna consensus test rule.wasm --cases examples/rules/minstake/cases.json`.
package rules
