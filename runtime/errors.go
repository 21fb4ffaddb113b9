package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dnahost/dnahost/hostfuncs"
)

// Errors a job can end with. Each wraps the detail; test with errors.Is.
var (
	ErrTimeout    = errors.New("guest exceeded its wall-clock limit")
	ErrBudget     = hostfuncs.ErrBudget
	ErrMemory     = errors.New("guest ran out of memory")
	ErrTrap       = errors.New("guest trapped")
	ErrGuest      = errors.New("guest reported an error")
	ErrBadModule  = errors.New("inference module is not a valid dna guest")
	ErrLimits     = errors.New("bundle needs more than this node allows")
	ErrJob        = errors.New("invalid job")
	ErrClosed     = errors.New("session is closed")
	ErrBadTokens  = errors.New("guest produced invalid tokens")
	ErrContext    = errors.New("sequence exceeds the model's context length")
	ErrNoInstance = errors.New("host call outside a session")
)

// GuestError is a guest entry point that returned an error code. Code is
// what the guest returned (an ABI code, negated, or its own); Msg is the
// error the guest logged, or the host's last error text.
type GuestError struct {
	Entry string
	Code  int32
	Msg   string
}

func (e *GuestError) Error() string {
	return fmt.Sprintf("%s: %v (code %d): %s", e.Entry, ErrGuest, e.Code, e.Msg)
}

func (e *GuestError) Unwrap() error { return ErrGuest }

// ErrEngineFuel reports a guest that used more of the engine's own fuel
// than its limit (SessionOptions.EngineFuel, wasmtime only).
var ErrEngineFuel = errors.New("guest exceeded its engine fuel limit")

// classify turns an engine error into one of the errors above, keeping the
// guest's own account (stderr, error logs) as detail. Engines report what
// the host decided (a host function's trap, proc_exit, a deadline, fuel) as
// a hostfuncs.Trap; anything else is the guest's own trap.
func classify(ctx context.Context, err error, stderr string, what string) error {
	if err == nil {
		return nil
	}
	detail := guestReport(stderr)
	var trap hostfuncs.Trap
	if errors.As(err, &trap) {
		var exit *exitError
		if !errors.As(trap.Err, &exit) {
			return fmt.Errorf("%s: %w", what, trap.Err)
		}
		if strings.Contains(detail, "out of memory") {
			return fmt.Errorf("%s: %w (guest exited with code %d: %s)", what, ErrMemory, exit.code, detail)
		}
		return fmt.Errorf("%s: %w: exited with code %d: %s", what, ErrTrap, exit.code, detail)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, ErrTimeout)
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nwasm stack trace"); i >= 0 {
		msg = msg[:i]
	}
	if detail != "" {
		msg += " (" + detail + ")"
	}
	// A Go guest's runtime reports a failed heap growth on stderr, then traps.
	if strings.Contains(detail, "out of memory") {
		return fmt.Errorf("%s: %w: %s", what, ErrMemory, msg)
	}
	return fmt.Errorf("%s: %w: %s", what, ErrTrap, msg)
}

// guestReport picks the guest's own account of a crash from its stderr:
// the first "panic:" or "fatal error:" line, else the last line.
func guestReport(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
