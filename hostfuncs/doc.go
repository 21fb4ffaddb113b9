// Package hostfuncs is the host side of ABI v1, the WebAssembly import
// module "dna" (docs/abi.md).
//
// An Instance holds everything one guest instance may touch: its handle
// table, its quotas, its work-unit meter and its introspection digest. The
// ABI table (Functions) describes every import once, independent of the
// WebAssembly engine: an engine adapter in package runtime binds each entry
// to its engine. Every call checks its arguments — pointer ranges inside
// guest memory, handle ownership and generation, shapes and quotas — so a
// hostile guest gets an error code, or a trap for an exhausted budget, and
// never reaches host memory or another instance's tensors.
package hostfuncs
