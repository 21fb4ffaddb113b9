//go:build wasip1

package consensus

import "unsafe"

var (
	rule func(*Input) Decision
	live = map[uintptr][]byte{}
	out  []byte
)

// Register installs the module's rule. Call it from an init function.
func Register(f func(*Input) Decision) { rule = f }

//go:wasmexport dna_alloc
func dnaAlloc(size int32) unsafe.Pointer {
	if size <= 0 {
		return nil
	}
	b := make([]byte, size)
	p := unsafe.Pointer(&b[0])
	live[uintptr(p)] = b
	return p
}

// dna_decide decodes the input, runs the rule and returns ptr<<32 | len of
// the encoded decision.
//
//go:wasmexport dna_decide
func dnaDecide(p unsafe.Pointer, n int32) int64 {
	if rule == nil || n < 0 {
		return -1
	}
	in, err := DecodeInput(unsafe.Slice((*byte)(p), n))
	if err != nil {
		return -2
	}
	out = EncodeDecision(rule(in))
	if len(out) == 0 {
		return -3
	}
	return int64(uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out)))
}
