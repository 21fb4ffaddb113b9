// Package cpu is the reference compute backend and the numerics
// specification of the project: every other backend reproduces its results
// bit for bit.
//
// Reductions use the fixed order of docs/numerics.md (32 strided partial sums
// combined by a fixed tree), products are rounded before they are added (no
// fused multiply-add), and transcendentals are the package's own (Expf,
// Logf, Exp, Log, SinCos). Work is split across threads by output element
// only, so results never depend on the thread count. On amd64 with AVX2 the
// inner loops run in assembly that performs the very same operations in the
// same order (AVX-512 variants are chosen at run time where the processor
// has them; batched kernels vectorise across output elements, each of which
// keeps its own sequence of operations); Options.Generic selects the
// portable Go loops, and the conformance suite proves the two identical.
package cpu
