//go:build wasip1

package dna

import "unsafe"

//go:wasmimport dna abi_version
func abiVersion() int32

//go:wasmimport dna tensor_new
func tensorNew(dt, rows, cols int32) int32

//go:wasmimport dna tensor_open
func tensorOpen(name unsafe.Pointer, n int32) int32

//go:wasmimport dna file_open
func fileOpen(name unsafe.Pointer, n int32) int32

//go:wasmimport dna tensor_free
func tensorFree(h int32) int32

//go:wasmimport dna tensor_info
func tensorInfo(h int32, out unsafe.Pointer) int32

//go:wasmimport dna tensor_set_rows
func tensorSetRows(h, rows int32) int32

//go:wasmimport dna tensor_write
func tensorWrite(h int32, off int64, src unsafe.Pointer, n int32) int32

//go:wasmimport dna tensor_read
func tensorRead(h int32, off int64, dst unsafe.Pointer, n int32) int32

//go:wasmimport dna tensor_copy
func tensorCopy(dst, dstOff, src, srcOff, n int32) int32

//go:wasmimport dna matmul
func matmul(out, x, w int32) int32

//go:wasmimport dna embed
func embed(out, table int32, tokens unsafe.Pointer, n int32) int32

//go:wasmimport dna rmsnorm
func rmsnorm(out, x, w int32, eps float32) int32

//go:wasmimport dna rope
func rope(x, pos, headSize int32, theta float32) int32

//go:wasmimport dna attention
func attention(out, q, k, v, pos, nHeads, nKVHeads int32) int32

//go:wasmimport dna softmax
func softmax(x int32) int32

//go:wasmimport dna silu_mul
func siluMul(out, a, b int32) int32

//go:wasmimport dna add
func add(out, a, b int32) int32

//go:wasmimport dna mul
func mul(out, a, b int32) int32

//go:wasmimport dna sample
func sample(logits, row int32, step int64) int32

//go:wasmimport dna exec
func execOps(records unsafe.Pointer, n int32) int32

//go:wasmimport dna probe
func probe(h int32, tag unsafe.Pointer, n int32) int32

//go:wasmimport dna config_get
func configGet(key unsafe.Pointer, keyLen int32, out unsafe.Pointer, outCap int32) int32

//go:wasmimport dna log
func logMsg(level int32, msg unsafe.Pointer, n int32) int32

//go:wasmimport dna last_error
func lastError(out unsafe.Pointer, outCap int32) int32

// imports is the Host backed by the WebAssembly imports.
type imports struct{}

// Imports returns the host ABI of the running WebAssembly instance.
func Imports() Host { return imports{} }

// HostABIVersion asks the host which ABI version it speaks.
func HostABIVersion() int { return int(abiVersion()) }

func strPtr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func fail(op string, rc int32) error {
	e := &Error{Op: op, Code: Code(-rc)}
	var buf [512]byte
	if n := lastError(unsafe.Pointer(&buf[0]), int32(len(buf))); n > 0 {
		e.Msg = string(buf[:min(int(n), len(buf))])
	}
	return e
}

func check(op string, rc int32) error {
	if rc < 0 {
		return fail(op, rc)
	}
	return nil
}

func handle(op string, rc int32) (Tensor, error) {
	if rc < 0 {
		return 0, fail(op, rc)
	}
	return Tensor(rc), nil
}

func (imports) TensorNew(dt DType, rows, cols int) (Tensor, error) {
	return handle("tensor_new", tensorNew(int32(dt), int32(rows), int32(cols)))
}

func (imports) TensorOpen(name string) (Tensor, error) {
	return handle("tensor_open", tensorOpen(strPtr(name), int32(len(name))))
}

func (imports) FileOpen(name string) (Tensor, error) {
	return handle("file_open", fileOpen(strPtr(name), int32(len(name))))
}

func (imports) TensorFree(t Tensor) error { return check("tensor_free", tensorFree(int32(t))) }

func (imports) TensorInfo(t Tensor) (DType, int, int, error) {
	var info [3]int32
	if err := check("tensor_info", tensorInfo(int32(t), unsafe.Pointer(&info[0]))); err != nil {
		return 0, 0, 0, err
	}
	return DType(info[0]), int(info[1]), int(info[2]), nil
}

func (imports) TensorSetRows(t Tensor, rows int) error {
	return check("tensor_set_rows", tensorSetRows(int32(t), int32(rows)))
}

func (imports) TensorWrite(t Tensor, off int, src []byte) error {
	return check("tensor_write", tensorWrite(int32(t), int64(off), bytesPtr(src), int32(len(src))))
}

func (imports) TensorRead(t Tensor, off int, dst []byte) error {
	return check("tensor_read", tensorRead(int32(t), int64(off), bytesPtr(dst), int32(len(dst))))
}

func (imports) Copy(dst Tensor, dstOff int, src Tensor, srcOff, n int) error {
	return check("tensor_copy", tensorCopy(int32(dst), int32(dstOff), int32(src), int32(srcOff), int32(n)))
}

func (imports) MatMul(out, x, w Tensor) error {
	return check("matmul", matmul(int32(out), int32(x), int32(w)))
}

func (imports) Embed(out, table Tensor, tokens []int32) error {
	var p unsafe.Pointer
	if len(tokens) > 0 {
		p = unsafe.Pointer(&tokens[0])
	}
	return check("embed", embed(int32(out), int32(table), p, int32(len(tokens))))
}

func (imports) RMSNorm(out, x, w Tensor, eps float32) error {
	return check("rmsnorm", rmsnorm(int32(out), int32(x), int32(w), eps))
}

func (imports) RoPE(x Tensor, pos, headSize int, theta float32) error {
	return check("rope", rope(int32(x), int32(pos), int32(headSize), theta))
}

func (imports) Attention(out, q, k, v Tensor, pos, nHeads, nKVHeads int) error {
	return check("attention", attention(int32(out), int32(q), int32(k), int32(v), int32(pos), int32(nHeads), int32(nKVHeads)))
}

func (imports) Softmax(x Tensor) error { return check("softmax", softmax(int32(x))) }

func (imports) SiLUMul(out, a, b Tensor) error {
	return check("silu_mul", siluMul(int32(out), int32(a), int32(b)))
}

func (imports) Add(out, a, b Tensor) error { return check("add", add(int32(out), int32(a), int32(b))) }

func (imports) Mul(out, a, b Tensor) error { return check("mul", mul(int32(out), int32(a), int32(b))) }

func (imports) Sample(logits Tensor, row int, step uint64) (int32, error) {
	rc := sample(int32(logits), int32(row), int64(step))
	if rc < 0 {
		return 0, fail("sample", rc)
	}
	return rc, nil
}

func (imports) Exec(records []byte) error {
	return check("exec", execOps(bytesPtr(records), int32(len(records)/RecordSize)))
}

func (imports) Probe(t Tensor, tag string) error {
	return check("probe", probe(int32(t), strPtr(tag), int32(len(tag))))
}

func (imports) Config(key string) (string, bool) {
	buf := make([]byte, 256)
	for {
		n := configGet(strPtr(key), int32(len(key)), unsafe.Pointer(&buf[0]), int32(len(buf)))
		if n < 0 {
			return "", false
		}
		if int(n) <= len(buf) {
			return string(buf[:n]), true
		}
		buf = make([]byte, n)
	}
}

func (imports) Log(level int, msg string) { logMsg(int32(level), strPtr(msg), int32(len(msg))) }
