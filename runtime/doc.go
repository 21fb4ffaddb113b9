// Package runtime runs bundles: it compiles a bundle's inference module
// once (wazero's compiler with an on-disk compilation cache, wazero's
// interpreter, or — in a build with CGO_ENABLED=1 -tags wasmtime — wasmtime
// with serialized modules cached on disk), instantiates it per job in a
// closed, deterministic sandbox, and runs the decoding loop on the host —
// forward, canonical sample, stop at a stop token or the limit, stream
// tokens.
//
// Everything a guest observes is defined once, for every engine: the host
// ABI (hostfuncs' table), a closed WASI (wasi.go: no filesystem, network,
// environment or arguments; a clock and random source fixed by the job)
// and fuel metering. An engine (engine.go) only compiles, binds that table,
// instantiates and calls, so the same job gives the same tokens, digest,
// work units and fuel, or the same error, on every engine.
//
// Limits stop every kind of runaway guest: guest memory pages, host tensor
// bytes and handles, a work-unit budget for host kernels and a fuel limit
// for the guest's own code (both counted identically on every node and
// engine), and a wall-clock timeout. Every module is fuel-instrumented at
// load (internal/meter); the refill call that meters fuel also checks the
// deadline, so a guest spinning without host calls is stopped too, at no
// per-loop cost in the engine (wasmtime also interrupts it by epoch).
// wasmtime adds its own instruction-level fuel as an extra, engine-local
// budget (Job.EngineFuel).
package runtime
