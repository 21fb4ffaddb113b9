// Command hostilerule is a malicious consensus module for the tests. The
// rule parameter "attack" (the last bytes of the input) picks the
// misbehaviour: spin, bomb, garbage, trap, huge, outside, negative, or a
// well-formed but dishonest decision.
package main

import (
	"bytes"
	"unsafe"
)

var (
	keep [][]byte
	out  []byte
)

//go:wasmexport dna_alloc
func dnaAlloc(n int32) unsafe.Pointer {
	b := make([]byte, n)
	keep = append(keep, b)
	return unsafe.Pointer(&b[0])
}

func pack(b []byte) int64 {
	out = b
	return int64(uint64(uintptr(unsafe.Pointer(&b[0])))<<32 | uint64(len(b)))
}

//go:wasmexport dna_decide
func dnaDecide(p unsafe.Pointer, n int32) int64 {
	in := unsafe.Slice((*byte)(p), n)
	has := func(s string) bool { return bytes.Contains(in, []byte(s)) }
	switch {
	case has("spin"):
		for {
		}
	case has("bomb"):
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case has("garbage"):
		return pack([]byte("this is not a decision at all"))
	case has("trap"):
		var m map[int]int
		m[1] = 1
	case has("huge"):
		return pack(make([]byte, 8<<20))
	case has("outside"):
		return int64(uint32(0x7FFFFF00))<<32 | 4096
	case has("negative"):
		return -7
	case has("forged"):
		// A well-formed decision accepting a result nobody committed.
		d := []byte("dna-rule-out/1\x01")
		d = append(d, bytes.Repeat([]byte{0xAB}, 32)...)
		d = append(d, 1, 0, 0, 0)
		d = append(d, bytes.Repeat([]byte{0xCD}, 32)...)
		d = append(d, 0, 0, 0, 0, 0, 0, 0, 0)
		return pack(d)
	}
	return -1
}

func main() {}
