//go:build badimport

package main

//go:wasmimport dna steal_host_memory
func stealHostMemory() int32

//go:wasmexport dna_steal
func dnaSteal() int32 { return stealHostMemory() }
