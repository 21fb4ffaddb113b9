// Package meter instruments WebAssembly modules with deterministic fuel
// metering: a guest pays one unit of fuel per function entry and per loop
// iteration, and calls an imported refill function when the fuel drops below
// zero. The host can stop a guest spinning without host calls from there,
// and the count is the same on every engine, unlike wazero's
// WithCloseOnContextDone, which costs a call at every loop header.
//
// When refill runs the fuel is -1: the unit that took it there is spent.
// A host that adds its next slice to the global (rather than setting it)
// keeps the count exact: used = initial - remaining + sum of slices added.
// The host sees how quickly refill comes round by the slice it gives;
// InitialFuel (2^22, a few milliseconds of compiled code) also bounds how
// long a start function runs before the host first gets control.
//
// Instrument decodes untrusted bytes: it checks every count and length
// against the bytes present before using it and validates every section it
// passes through, so a module it returns holds no count its bytes do not
// back (wazero v1.12.0 allocates by such counts when decoding).
package meter
