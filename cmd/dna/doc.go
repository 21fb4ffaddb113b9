// Command dna is the command-line tool of dnahost for model constructors,
// testers and clients: import llama2.c checkpoints into bundles (dna
// import), inspect, verify, pack and unpack bundles (dna bundle), run a
// bundle locally in the WebAssembly sandbox (dna run), make synthetic
// checkpoints (dna synth) and author keys (dna keygen), publish bundles to
// a node (dna publish) and submit jobs to it and follow them (dna job).
package main
