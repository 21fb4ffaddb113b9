// Package guests embeds the prebuilt WebAssembly guest modules that the
// importers put into bundles, so the dna binary needs no WebAssembly
// toolchain. They are built from guest-sdk by `make guest`; the test in
// this package rebuilds them and checks that the committed bytes are what
// the sources produce.
package guests
