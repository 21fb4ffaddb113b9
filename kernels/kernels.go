package kernels

import (
	"errors"
	"fmt"
	"math"
)

// DType is the element type of a tensor.
type DType uint8

const (
	// F32 is IEEE 754 binary32, little-endian.
	F32 DType = 1
	// Q8_0 is llama.cpp's Q8_0: each row is cut into blocks of 32 elements,
	// each stored as a binary16 scale followed by 32 int8 values (34 bytes).
	// A row whose length is not a multiple of 32 ends in a zero-padded block.
	Q8_0 DType = 2
	// U8 is opaque bytes (tokenizers and other blobs): no math ops accept it.
	U8 DType = 3
)

// Q8 block geometry.
const (
	Q8BlockSize  = 32
	Q8BlockBytes = 2 + Q8BlockSize
)

// MaxDim bounds any tensor dimension; it keeps every size computation far
// from integer overflow.
const MaxDim = 1 << 28

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case Q8_0:
		return "q8_0"
	case U8:
		return "u8"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Valid reports whether d is a known type.
func (d DType) Valid() bool { return d == F32 || d == Q8_0 || d == U8 }

// ParseDType is the inverse of String.
func ParseDType(s string) (DType, error) {
	switch s {
	case "f32":
		return F32, nil
	case "q8_0", "q8":
		return Q8_0, nil
	case "u8":
		return U8, nil
	}
	return 0, fmt.Errorf("kernels: unknown dtype %q", s)
}

// RowBytes is the storage size of one row of cols elements.
func (d DType) RowBytes(cols int) int {
	switch d {
	case F32:
		return 4 * cols
	case Q8_0:
		return (cols + Q8BlockSize - 1) / Q8BlockSize * Q8BlockBytes
	case U8:
		return cols
	}
	return 0
}

// Bytes is the storage size of a rows × cols tensor.
func (d DType) Bytes(rows, cols int) int64 { return int64(rows) * int64(d.RowBytes(cols)) }

// Tensor is a 2-D tensor (rows × cols; a vector is one row) in a backend's
// memory. Only the backend that made a tensor may use it.
type Tensor interface {
	DType() DType
	Rows() int
	Cols() int
}

// SampleParams fixes the canonical sampling of one token; see docs/numerics.md.
type SampleParams struct {
	Temperature float32 // ≤ 0 means greedy argmax
	TopK        int     // 0, or ≥ the vocabulary, means no mask
	Seed        uint64  // the job's seed
	Step        uint64  // position of the token being sampled
}

// Backend computes the host ABI's operations. Implementations must be safe
// for concurrent use on distinct tensors, and must reproduce the CPU
// reference bit for bit. Every method checks shapes with the Check
// functions of this package and returns their errors unchanged.
type Backend interface {
	Name() string

	// New allocates a zero-filled tensor.
	New(dt DType, rows, cols int) (Tensor, error)
	// Load makes a tensor from host bytes in the storage layout of dt. The
	// backend may alias data, so the caller must not change it afterwards.
	Load(dt DType, rows, cols int, data []byte) (Tensor, error)
	// Write copies src into t's storage at byte offset off.
	Write(t Tensor, off int, src []byte) error
	// Read copies t's storage from byte offset off into dst.
	Read(t Tensor, off int, dst []byte) error
	// Free releases t; using it afterwards is a caller bug.
	Free(t Tensor)
	// SetRows changes how many rows t has, between 1 and the rows it was
	// made with, keeping the data of the rows that remain. It lets a caller
	// reuse buffers for batches of different sizes.
	SetRows(t Tensor, rows int) error

	// MatMul computes out[r][m] = Σ_k x[r][k]·w[m][k] (w is F32 or Q8_0).
	MatMul(out, x, w Tensor) error
	// Embed copies rows tokens[i] of table (F32 or Q8_0) into out row i.
	Embed(out, table Tensor, tokens []int32) error
	// RMSNorm normalises each row of x and scales it by w (one row).
	RMSNorm(out, x, w Tensor, eps float32) error
	// RoPE rotates pairs of each head of each row of x in place; row i is at
	// position pos+i.
	RoPE(x Tensor, pos, headSize int, theta float32) error
	// Attention is causal multi-head attention with grouped-query heads. q
	// and out are n × nHeads·hs; k and v are caches of S × nKVHeads·hs rows
	// with rows up to pos+n-1 filled; q row i (position pos+i) attends to
	// cache rows 0..pos+i.
	Attention(out, q, k, v Tensor, pos, nHeads, nKVHeads int) error
	// Softmax normalises each row of x in place.
	Softmax(x Tensor) error
	// SiLUMul computes out = silu(a)·b elementwise.
	SiLUMul(out, a, b Tensor) error
	// Add computes out = a + b elementwise.
	Add(out, a, b Tensor) error
	// Mul computes out = a · b elementwise.
	Mul(out, a, b Tensor) error
	// Copy copies n F32 elements from src at element srcOff to dst at dstOff.
	Copy(dst Tensor, dstOff int, src Tensor, srcOff, n int) error
	// Sample returns the canonical token for one row of logits.
	Sample(logits Tensor, row int, p SampleParams) (int32, error)

	// Close releases the backend's resources.
	Close() error
}

var (
	// ErrShape reports tensors whose shapes or types do not fit an operation.
	ErrShape = errors.New("shape mismatch")
	// ErrRange reports an offset, length, position or index out of range.
	ErrRange = errors.New("out of range")
	// ErrAlias reports an output that overlaps an input where that is not allowed.
	ErrAlias = errors.New("output aliases an input")
	// ErrDType reports an unsupported element type for an operation.
	ErrDType = errors.New("unsupported dtype")
)

func shapeErr(op, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", op, ErrShape, fmt.Sprintf(format, args...))
}

func dims(t Tensor) string { return fmt.Sprintf("%s[%d×%d]", t.DType(), t.Rows(), t.Cols()) }

// CheckNew validates the arguments of New and Load.
func CheckNew(dt DType, rows, cols int) error {
	if !dt.Valid() {
		return fmt.Errorf("new: %w: %d", ErrDType, dt)
	}
	if rows <= 0 || cols <= 0 || rows > MaxDim || cols > MaxDim {
		return fmt.Errorf("new: %w: %d×%d", ErrRange, rows, cols)
	}
	return nil
}

// CheckAccess validates a byte range [off, off+n) of t's storage.
func CheckAccess(t Tensor, off, n int) error {
	size := t.DType().Bytes(t.Rows(), t.Cols())
	if off < 0 || n < 0 || int64(off)+int64(n) > size {
		return fmt.Errorf("access: %w: bytes [%d,+%d) of %d", ErrRange, off, n, size)
	}
	if t.DType() == F32 && (off%4 != 0 || n%4 != 0) {
		return fmt.Errorf("access: %w: f32 access must be 4-byte aligned (offset %d, length %d)", ErrRange, off, n)
	}
	return nil
}

func isF32(ts ...Tensor) bool {
	for _, t := range ts {
		if t.DType() != F32 {
			return false
		}
	}
	return true
}

// CheckMatMul validates MatMul's shapes: x n×K, w M×K, out n×M.
func CheckMatMul(out, x, w Tensor) error {
	if !isF32(out, x) || (w.DType() != F32 && w.DType() != Q8_0) {
		return fmt.Errorf("matmul: %w: out %s, x %s, w %s", ErrDType, dims(out), dims(x), dims(w))
	}
	if x.Cols() != w.Cols() || out.Rows() != x.Rows() || out.Cols() != w.Rows() {
		return shapeErr("matmul", "out %s = x %s · w %sᵀ", dims(out), dims(x), dims(w))
	}
	if out == x || out == w {
		return fmt.Errorf("matmul: %w", ErrAlias)
	}
	return nil
}

// CheckEmbed validates Embed's shapes and token ids.
func CheckEmbed(out, table Tensor, tokens []int32) error {
	if out.DType() != F32 || (table.DType() != F32 && table.DType() != Q8_0) {
		return fmt.Errorf("embed: %w: out %s, table %s", ErrDType, dims(out), dims(table))
	}
	if out.Rows() != len(tokens) || out.Cols() != table.Cols() {
		return shapeErr("embed", "out %s for %d tokens of table %s", dims(out), len(tokens), dims(table))
	}
	if out == table {
		return fmt.Errorf("embed: %w", ErrAlias)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= table.Rows() {
			return fmt.Errorf("embed: %w: token %d at %d not in [0,%d)", ErrRange, t, i, table.Rows())
		}
	}
	return nil
}

// CheckRMSNorm validates RMSNorm's shapes.
func CheckRMSNorm(out, x, w Tensor, eps float32) error {
	if !isF32(out, x, w) {
		return fmt.Errorf("rmsnorm: %w", ErrDType)
	}
	if out.Rows() != x.Rows() || out.Cols() != x.Cols() || w.Rows() != 1 || w.Cols() != x.Cols() {
		return shapeErr("rmsnorm", "out %s, x %s, w %s", dims(out), dims(x), dims(w))
	}
	if out == w {
		return fmt.Errorf("rmsnorm: %w", ErrAlias)
	}
	if !(eps >= 0) || math.IsInf(float64(eps), 0) {
		return fmt.Errorf("rmsnorm: %w: eps %v", ErrRange, eps)
	}
	return nil
}

// CheckRoPE validates RoPE's shapes and positions.
func CheckRoPE(x Tensor, pos, headSize int, theta float32) error {
	if x.DType() != F32 {
		return fmt.Errorf("rope: %w", ErrDType)
	}
	if headSize <= 0 || headSize%2 != 0 || x.Cols()%headSize != 0 {
		return shapeErr("rope", "head size %d for %s", headSize, dims(x))
	}
	if pos < 0 || pos > MaxDim-x.Rows() {
		return fmt.Errorf("rope: %w: position %d", ErrRange, pos)
	}
	if !(theta > 0) || math.IsInf(float64(theta), 0) {
		return fmt.Errorf("rope: %w: theta %v", ErrRange, theta)
	}
	return nil
}

// CheckAttention validates Attention's shapes and positions.
func CheckAttention(out, q, k, v Tensor, pos, nHeads, nKVHeads int) error {
	if !isF32(out, q, k, v) {
		return fmt.Errorf("attention: %w", ErrDType)
	}
	if nHeads <= 0 || nKVHeads <= 0 || nHeads%nKVHeads != 0 || q.Cols()%nHeads != 0 {
		return shapeErr("attention", "%d heads, %d kv heads, q %s", nHeads, nKVHeads, dims(q))
	}
	hs := q.Cols() / nHeads
	if out.Rows() != q.Rows() || out.Cols() != q.Cols() ||
		k.Cols() != nKVHeads*hs || v.Cols() != k.Cols() || v.Rows() != k.Rows() {
		return shapeErr("attention", "out %s, q %s, k %s, v %s, head size %d", dims(out), dims(q), dims(k), dims(v), hs)
	}
	if pos < 0 || pos+q.Rows() > k.Rows() {
		return fmt.Errorf("attention: %w: positions [%d,%d) beyond cache of %d", ErrRange, pos, pos+q.Rows(), k.Rows())
	}
	if out == q || out == k || out == v {
		return fmt.Errorf("attention: %w", ErrAlias)
	}
	return nil
}

// CheckSoftmax validates Softmax's input.
func CheckSoftmax(x Tensor) error {
	if x.DType() != F32 {
		return fmt.Errorf("softmax: %w", ErrDType)
	}
	return nil
}

// CheckElementwise validates SiLUMul, Add and Mul: equal shapes, out may be a or b.
func CheckElementwise(op string, out, a, b Tensor) error {
	if !isF32(out, a, b) {
		return fmt.Errorf("%s: %w", op, ErrDType)
	}
	if out.Rows() != a.Rows() || out.Cols() != a.Cols() || b.Rows() != a.Rows() || b.Cols() != a.Cols() {
		return shapeErr(op, "out %s, a %s, b %s", dims(out), dims(a), dims(b))
	}
	return nil
}

// CheckCopy validates Copy's element ranges.
func CheckCopy(dst Tensor, dstOff int, src Tensor, srcOff, n int) error {
	if !isF32(dst, src) {
		return fmt.Errorf("copy: %w", ErrDType)
	}
	dn, sn := int64(dst.Rows())*int64(dst.Cols()), int64(src.Rows())*int64(src.Cols())
	if n < 0 || dstOff < 0 || srcOff < 0 || int64(dstOff)+int64(n) > dn || int64(srcOff)+int64(n) > sn {
		return fmt.Errorf("copy: %w: %d elements from %d of %d to %d of %d", ErrRange, n, srcOff, sn, dstOff, dn)
	}
	return nil
}

// CheckSample validates Sample's arguments.
func CheckSample(logits Tensor, row int, p SampleParams) error {
	if logits.DType() != F32 {
		return fmt.Errorf("sample: %w", ErrDType)
	}
	if row < 0 || row >= logits.Rows() {
		return fmt.Errorf("sample: %w: row %d of %d", ErrRange, row, logits.Rows())
	}
	if p.TopK < 0 || math.IsNaN(float64(p.Temperature)) || math.IsInf(float64(p.Temperature), 0) {
		return fmt.Errorf("sample: %w: temperature %v, top-k %d", ErrRange, p.Temperature, p.TopK)
	}
	return nil
}
