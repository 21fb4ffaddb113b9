// Package dna is the guest side of the dnahost host ABI v1 (WebAssembly
// import module "dna"). Tensors live in the host behind Tensor handles; the
// guest describes the computation and the host performs it with
// deterministic kernels. See docs/abi.md in the dnahost repository.
//
// Under GOOS=wasip1 Imports returns the real bindings. On other platforms
// the same Host interface is implemented by the embedding program, which
// lets a model run natively for testing and benchmarking.
package dna
