// Command testguest is a deliberately malicious dna guest for the runtime's
// containment tests, and the host-call benchmark's guest. The bundle config
// key "attack" picks the misbehaviour; "none" behaves (logits make token
// (pos+1) mod vocab win); "calls" and "calls-nop" make 10000 host calls per
// forward pass (a 1×1 add, or abi_version) and then behave.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"time"
	"unsafe"
)

//go:wasmimport dna abi_version
func abiVersion() int32

//go:wasmimport dna config_get
func configGet(key unsafe.Pointer, keyLen int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport dna tensor_new
func tensorNew(dt, rows, cols int32) int32

//go:wasmimport dna tensor_open
func tensorOpen(name unsafe.Pointer, n int32) int32

//go:wasmimport dna file_open
func fileOpen(name unsafe.Pointer, n int32) int32

//go:wasmimport dna tensor_free
func tensorFree(h int32) int32

//go:wasmimport dna tensor_write
func tensorWrite(h int32, off int64, src unsafe.Pointer, n int32) int32

//go:wasmimport dna tensor_write
func tensorWriteRaw(h int32, off int64, src uint32, n int32) int32

//go:wasmimport dna matmul
func matmul(out, x, w int32) int32

//go:wasmimport dna add
func add(out, a, b int32) int32

//go:wasmimport dna log
func logMsg(level int32, msg unsafe.Pointer, n int32) int32

var (
	attack string
	vocab  = 16
	calls  int
	keep   [][]byte
	bufs   = map[uintptr][]byte{}
)

func config(key string) string {
	out := make([]byte, 64)
	n := configGet(unsafe.Pointer(unsafe.StringData(key)), int32(len(key)), unsafe.Pointer(&out[0]), int32(len(out)))
	if n < 0 || int(n) > len(out) {
		return ""
	}
	return string(out[:n])
}

//go:wasmexport dna_init
func dnaInit() int32 {
	attack = config("attack")
	if attack == "init-panic" {
		panic("hostile guest panics in dna_init")
	}
	return 0
}

//go:wasmexport dna_alloc
func dnaAlloc(n int32) unsafe.Pointer {
	b := make([]byte, n)
	p := unsafe.Pointer(&b[0])
	bufs[uintptr(p)] = b
	if attack == "badalloc" {
		return unsafe.Pointer(uintptr(0xFFFFFF00))
	}
	return p
}

//go:wasmexport dna_tokenize
func dnaTokenize(text unsafe.Pointer, n int32, out unsafe.Pointer, outCap int32) int32 {
	toks := []int32{1}
	for i := int32(0); i < n; i++ {
		toks = append(toks, int32(*(*byte)(unsafe.Add(text, i)))%int32(vocab))
	}
	if attack == "badtokens" {
		toks[len(toks)-1] = 1 << 30
	}
	if int(outCap) >= len(toks) {
		copy(unsafe.Slice((*int32)(out), len(toks)), toks)
	}
	return int32(len(toks))
}

// wasiReport describes what the sandbox's WASI lets the guest see.
func wasiReport() string {
	_, fsErr := os.ReadDir("/")
	_, openErr := os.Open("/etc/passwd")
	host, _ := os.Hostname()
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("env=%d args=%d readdir=%v open=%v host=%q year=%d rand=%x",
		len(os.Environ()), len(os.Args), fsErr != nil, openErr != nil, host, time.Now().UTC().Year(), r)
}

var reported bool

//go:wasmexport dna_detokenize
func dnaDetokenize(prev, tok int32, out unsafe.Pointer, outCap int32) int32 {
	piece := []byte{byte('a' + tok%26)}
	if attack == "wasi" && !reported {
		piece = []byte(wasiReport())
	}
	if int(outCap) < len(piece) {
		return int32(len(piece))
	}
	reported = attack == "wasi"
	copy(unsafe.Slice((*byte)(out), len(piece)), piece)
	return int32(len(piece))
}

func fail(msg string) int32 {
	logMsg(3, unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
	return -11
}

var zeros [4096]byte

//go:wasmexport dna_forward
func dnaForward(tokens unsafe.Pointer, n, pos, logits int32) int32 {
	calls++
	scratch := unsafe.Pointer(&zeros[0])
	switch attack {
	case "spin":
		for {
		}
	case "membomb":
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "flood":
		for {
			abiVersion()
		}
	case "logflood":
		msg := string(make([]byte, 60000))
		for {
			logMsg(1, unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
		}
	case "badptr":
		return tensorWriteRaw(logits, 0, 0xFFFFFFF0, 64)
	case "hugelen":
		return tensorWriteRaw(logits, 0, 0, 0x7fffffff)
	case "forged":
		return matmul(0x12340001, logits, logits)
	case "freed":
		h := tensorNew(1, 1, 4)
		tensorFree(h)
		return tensorWrite(h, 0, scratch, 16)
	case "oversized":
		return tensorNew(1, 1<<27, 1<<27)
	case "handles":
		for {
			if h := tensorNew(1, 1, 1); h < 0 {
				return h
			}
		}
	case "readonly":
		name := "w"
		h := tensorOpen(unsafe.Pointer(unsafe.StringData(name)), 1)
		if h < 0 {
			return h
		}
		return tensorWrite(h, 0, scratch, 4)
	case "readonly-file":
		name := "model.wasm"
		h := fileOpen(unsafe.Pointer(unsafe.StringData(name)), int32(len(name)))
		if h < 0 {
			return h
		}
		return tensorWrite(h, 0, scratch, 4)
	case "trap":
		if calls > 3 {
			var m map[string]int
			m["boom"] = 1 // a nil-map write: the guest panics mid-job
		}
	case "calls":
		t := tensorNew(1, 1, 1)
		for i := 0; i < 10000; i++ {
			add(t, t, t)
		}
		tensorFree(t)
	case "calls-nop":
		for i := 0; i < 10000; i++ {
			abiVersion()
		}
	case "fail":
		if calls > 2 {
			return fail("hostile guest gives up on purpose")
		}
	}
	// Behave: logits row i = one-hot at (pos+i+1) mod vocab.
	row := make([]float32, vocab)
	for i := int32(0); i < n; i++ {
		clear(row)
		row[(int(pos)+int(i)+1)%vocab] = 1
		if rc := tensorWrite(logits, int64(4*vocab)*int64(i), unsafe.Pointer(&row[0]), int32(4*vocab)); rc < 0 {
			return rc
		}
	}
	return 0
}

func main() {}
