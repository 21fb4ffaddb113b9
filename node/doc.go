// Package node is dnahost's full node: the peer-to-peer layer (netq), the
// chain and its mempool and miner, a content-addressed bundle store, a
// compute worker running bundles in the sandbox, the verifier, and the job
// lifecycle that ties them together (docs/protocol.md):
//
//	client signs a job and its escrow → gossip → compute nodes stake →
//	compute → commit (sealed result) → reveal → the coordinator verifies
//	every reveal and runs the bundle's consensus rule → agreeing nodes sign
//	the certificate → a result transaction enters a block → after the
//	dispute window the chain pays the agreeing nodes and slashes the rest.
//
// Every step is persisted (a pebble store beside the chain's) and driven by
// a periodic reconciliation of the persisted record with the chain's state,
// so a node that restarts picks every job up where it was.
//
// The HTTP API, the OpenAI-compatible endpoints, metrics and the dashboard
// are in package node/api.
package node
