package dna

import "strconv"

// ABIVersion is the version of the host ABI this package speaks.
const ABIVersion = 1

// Tensor is a handle to a host tensor, valid only in the instance that made it.
type Tensor int32

// DType is a tensor element type.
type DType int32

const (
	F32  DType = 1 // IEEE binary32
	Q8_0 DType = 2 // llama.cpp Q8_0 blocks
	U8   DType = 3 // opaque bytes
)

// Log levels.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// Code is an ABI error code; host calls return them negated.
type Code int32

const (
	CodeInvalid  Code = 1  // a bad argument
	CodeHandle   Code = 2  // unknown, freed or foreign handle
	CodePointer  Code = 3  // pointer range outside guest memory
	CodeShape    Code = 4  // shapes that do not fit the operation
	CodeQuota    Code = 5  // instance quota (handles, tensor bytes) exceeded
	CodeNotFound Code = 6  // no tensor, file or config key of that name
	CodeDType    Code = 7  // unsupported element type
	CodeReadOnly Code = 8  // write to a read-only (weight) tensor
	CodeRange    Code = 9  // offset, position or index out of range
	CodeInternal Code = 10 // host failure
	CodeGuest    Code = 11 // the guest itself reported a failure
)

var codeNames = map[Code]string{
	CodeInvalid: "invalid argument", CodeHandle: "bad handle", CodePointer: "bad pointer",
	CodeShape: "shape mismatch", CodeQuota: "quota exceeded", CodeNotFound: "not found",
	CodeDType: "unsupported dtype", CodeReadOnly: "read-only tensor", CodeRange: "out of range",
	CodeInternal: "internal host error", CodeGuest: "guest error",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "error " + strconv.Itoa(int(c))
}

// Error is a failed host call.
type Error struct {
	Op   string
	Code Code
	Msg  string // the host's last-error text
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return "dna." + e.Op + ": " + e.Msg
	}
	return "dna." + e.Op + ": " + e.Code.String()
}

// Host is the host ABI. Every method maps to one import of module "dna".
type Host interface {
	TensorNew(dt DType, rows, cols int) (Tensor, error)
	TensorOpen(name string) (Tensor, error) // a read-only weight tensor
	FileOpen(name string) (Tensor, error)   // a bundle file as read-only U8 [1×size]
	TensorFree(t Tensor) error
	TensorInfo(t Tensor) (dt DType, rows, cols int, err error)
	TensorSetRows(t Tensor, rows int) error // within the rows it was made with
	TensorWrite(t Tensor, off int, src []byte) error
	TensorRead(t Tensor, off int, dst []byte) error
	Copy(dst Tensor, dstOff int, src Tensor, srcOff, n int) error

	MatMul(out, x, w Tensor) error
	Embed(out, table Tensor, tokens []int32) error
	RMSNorm(out, x, w Tensor, eps float32) error
	RoPE(x Tensor, pos, headSize int, theta float32) error
	Attention(out, q, k, v Tensor, pos, nHeads, nKVHeads int) error
	Softmax(x Tensor) error
	SiLUMul(out, a, b Tensor) error
	Add(out, a, b Tensor) error
	Mul(out, a, b Tensor) error

	Sample(logits Tensor, row int, step uint64) (int32, error)
	// Exec runs encoded op records in one host call (see Ops).
	Exec(records []byte) error
	Probe(t Tensor, tag string) error
	Config(key string) (string, bool)
	Log(level int, msg string)
}

// ConfigInt reads an integer config value.
func ConfigInt(h Host, key string) (int, error) {
	s, ok := h.Config(key)
	if !ok {
		return 0, &Error{Op: "config_get", Code: CodeNotFound, Msg: "config key " + strconv.Quote(key) + " not set"}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, &Error{Op: "config_get", Code: CodeInvalid, Msg: "config key " + strconv.Quote(key) + ": " + err.Error()}
	}
	return v, nil
}

// ConfigFloat reads a float config value, or def when the key is absent.
func ConfigFloat(h Host, key string, def float32) (float32, error) {
	s, ok := h.Config(key)
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, &Error{Op: "config_get", Code: CodeInvalid, Msg: "config key " + strconv.Quote(key) + ": " + err.Error()}
	}
	return float32(v), nil
}
