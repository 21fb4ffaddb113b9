//go:build !wasip1

package dna

// Imports is only available inside a WebAssembly instance; native programs
// supply their own Host.
func Imports() Host { panic("dna: Imports is only available under GOOS=wasip1") }
