package hostfuncs

import (
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/kernels"
)

// Code is an ABI error code; calls return it negated (see guest-sdk/dna).
type Code int32

const (
	CodeInvalid  Code = 1
	CodeHandle   Code = 2
	CodePointer  Code = 3
	CodeShape    Code = 4
	CodeQuota    Code = 5
	CodeNotFound Code = 6
	CodeDType    Code = 7
	CodeReadOnly Code = 8
	CodeRange    Code = 9
	CodeInternal Code = 10
	CodeGuest    Code = 11
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
	return fmt.Sprintf("code %d", int32(c))
}

// Error is a failed host call, as the guest sees it.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Msg }

func errf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// fromKernel maps a backend error to an ABI code.
func fromKernel(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, kernels.ErrShape), errors.Is(err, kernels.ErrAlias):
		return &Error{CodeShape, err.Error()}
	case errors.Is(err, kernels.ErrRange):
		return &Error{CodeRange, err.Error()}
	case errors.Is(err, kernels.ErrDType):
		return &Error{CodeDType, err.Error()}
	}
	return &Error{CodeInternal, err.Error()}
}

// Trap errors end the guest instance: the engine turns the panic that
// carries them into a failed call.
var (
	// ErrBudget reports an exhausted work-unit budget.
	ErrBudget = errors.New("work-unit budget exhausted")
	// ErrClosed reports a call on an instance that was closed.
	ErrClosed = errors.New("instance closed")
)

// Trap is the panic value host functions use to stop a guest.
type Trap struct{ Err error }

func (t Trap) Error() string { return "dna: trap: " + t.Err.Error() }
func (t Trap) Unwrap() error { return t.Err }
