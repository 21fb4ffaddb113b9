// Command dnahost runs a dnahost node: the peer-to-peer layer, the chain
// and its miner, the bundle store, the compute worker and verifier, and
// the HTTP API with its OpenAI-compatible endpoints, metrics and
// dashboard.
//
//	dnahost init [--datadir D]           make a node key and data directory
//	dnahost [run] [flags]                run a node
//	dnahost devnet -n 4 [--bundle B.dna] run a local devnet of n node processes
//
// Settings come from flags, then DNAHOST_* environment variables, then a
// config file (--config, "name = value" lines using the flag names), then
// defaults. See docs/operating.md.
package main
