// Package kernels defines the compute-backend contract that every host
// kernel implementation satisfies, and the pieces all backends share: data
// types, shape rules, the Q8_0 block format and the sampling parameters.
//
// The CPU backend in kernels/cpu is the specification. Any other backend
// (SIMD variants, CUDA) must reproduce it bit for bit on every valid input;
// the suite in kernels/kernelstest checks that on fresh random inputs. The
// numbers are specified in docs/numerics.md.
package kernels
