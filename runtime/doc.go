// Package runtime runs bundles: it compiles a bundle's inference module
// once (wazero's compiler, with an on-disk compilation cache, or its
// interpreter), instantiates it per job in a closed, deterministic sandbox,
// and runs the decoding loop on the host — forward, canonical sample, stop
// at a stop token or the limit, stream tokens.
//
// The sandbox has no filesystem, network, environment or arguments; its
// clock and random source are fixed functions of the job. Limits stop every
// kind of runaway guest: guest memory pages, host tensor bytes and handles,
// a work-unit budget for host kernels and a fuel limit for the guest's own
// code (both counted identically on every node), and a wall-clock timeout.
// Every module is fuel-instrumented at load (internal/meter); the refill
// call that meters fuel also checks the deadline, so a guest spinning
// without host calls is stopped too, at no per-loop cost in the engine.
package runtime
