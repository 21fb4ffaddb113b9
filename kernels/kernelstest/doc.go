// Package kernelstest is the backend-conformance suite: it runs every
// operation of a kernels.Backend on fresh random inputs over many shapes and
// requires results bit-identical to the CPU reference (kernels/cpu with the
// generic code path and one thread). Every backend's tests call Run.
package kernelstest
