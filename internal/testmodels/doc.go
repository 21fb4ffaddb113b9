// Package testmodels provides the bundles tests and benchmarks run on: the
// real stories260K model from ../shared/models when it is present (tests
// skip cleanly when it is not), and synthetic llama2.c models of any shape
// made on the spot with deterministic weights.
package testmodels
