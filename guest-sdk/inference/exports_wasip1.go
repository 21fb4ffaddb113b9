//go:build wasip1

package inference

import (
	"errors"
	"unsafe"

	"github.com/dnahost/dnahost/guest-sdk/dna"
)

var (
	host dna.Host
	// live keeps buffers handed to the host reachable until dna_free.
	live = map[uintptr][]byte{}
)

// report logs err for the host and returns the negative code to return.
func report(err error) int32 {
	if host != nil {
		host.Log(dna.LevelError, err.Error())
	}
	var e *dna.Error
	if errors.As(err, &e) && e.Code > 0 {
		return -int32(e.Code)
	}
	return -int32(dna.CodeGuest)
}

//go:wasmexport dna_init
func dnaInit() int32 {
	host = dna.Imports()
	if registered == nil {
		return report(errors.New("inference: no model registered"))
	}
	if v := dna.HostABIVersion(); v != dna.ABIVersion {
		return report(errors.New("inference: host ABI version mismatch"))
	}
	if err := registered.Init(host); err != nil {
		return report(err)
	}
	return 0
}

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

//go:wasmexport dna_free
func dnaFree(p unsafe.Pointer) {
	delete(live, uintptr(p))
}

//go:wasmexport dna_tokenize
func dnaTokenize(text unsafe.Pointer, n int32, out unsafe.Pointer, outCap int32) int32 {
	if n < 0 || outCap < 0 {
		return -int32(dna.CodeInvalid)
	}
	s := ""
	if n > 0 {
		s = string(unsafe.Slice((*byte)(text), n))
	}
	toks, err := registered.Tokenize(s)
	if err != nil {
		return report(err)
	}
	if len(toks) <= int(outCap) && len(toks) > 0 {
		copy(unsafe.Slice((*int32)(out), len(toks)), toks)
	}
	return int32(len(toks))
}

//go:wasmexport dna_detokenize
func dnaDetokenize(prev, token int32, out unsafe.Pointer, outCap int32) int32 {
	b := registered.Detokenize(prev, token)
	if len(b) <= int(outCap) && len(b) > 0 {
		copy(unsafe.Slice((*byte)(out), len(b)), b)
	}
	return int32(len(b))
}

//go:wasmexport dna_forward
func dnaForward(tokens unsafe.Pointer, n, pos, logits int32) int32 {
	if n <= 0 || pos < 0 {
		return -int32(dna.CodeInvalid)
	}
	toks := unsafe.Slice((*int32)(tokens), n)
	if err := registered.Forward(toks, int(pos), dna.Tensor(logits)); err != nil {
		return report(err)
	}
	return 0
}
