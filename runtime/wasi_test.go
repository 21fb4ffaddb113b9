package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/hostfuncs"
	"github.com/dnahost/dnahost/runtime/internal/wasmgen"
)

// The runtime's own WASI (one table for every engine) must answer exactly
// as wazero's WASI did under the runtime's former closed configuration:
// same errno, same bytes written, same clock and random stream, same
// stderr. Random call sequences are run against both on wazero and every
// difference is a failure, except the one place where wazero's answer was
// a host crash (fd_filestat_set_times on a stream: a nil file system), which
// the runtime answers ENOSYS instead.

func wasiSigs() []wasmgen.Sig {
	var sigs []wasmgen.Sig
	for _, f := range wasiFunctions() {
		sg := wasmgen.Sig{Name: f.name}
		for _, p := range f.params {
			sg.Params = append(sg.Params, byte(p))
		}
		for _, r := range f.results {
			sg.Results = append(sg.Results, byte(r))
		}
		sigs = append(sigs, sg)
	}
	return sigs
}

type wasiOutcome struct {
	err    string
	mem    []byte
	stderr string
	clock  int64
	rand   uint64
}

// runWASICalls runs a WASICalls module on wazero's interpreter with the
// runtime's WASI or (builtin) wazero's.
func runWASICalls(t testing.TB, rt *Runtime, code []byte, builtin bool) wasiOutcome {
	t.Helper()
	ctx := context.Background()
	wazeroBuiltinWASI = builtin
	defer func() { wazeroBuiltinWASI = false }()
	cm, err := rt.eng.compile(ctx, code, 1)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer cm.close(ctx)
	rng := rand.NewChaCha8([32]byte{7})
	env := &instanceEnv{wasi: &wasiState{clock: &fakeClock{wall: 1_900_000_000_123_456_789}, rand: rng,
		stderr: &tailBuffer{max: 1 << 16}}}
	ctx = context.WithValue(ctx, envKey{}, env)
	env.ctx = ctx
	var out wasiOutcome
	inst, err := cm.instantiate(ctx, env)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	defer inst.close()
	if err := inst.export("run").call(ctx, make([]uint64, 1)); err != nil {
		out.err = wasiErrKind(err)
	}
	mem, _ := inst.memory().Read(0, 65536)
	out.mem = bytes.Clone(mem)
	out.stderr = env.wasi.stderr.(*tailBuffer).String()
	out.clock = env.wasi.clock.nanotime()
	var b [8]byte
	rng.Read(b[:])
	out.rand = binary.LittleEndian.Uint64(b[:])
	return out
}

// wasiErrKind names how a run ended: an exit with its code, or a crash.
func wasiErrKind(err error) string {
	var trap hostfuncs.Trap
	var exit *exitError
	if errors.As(err, &trap) && errors.As(trap.Err, &exit) {
		return fmt.Sprintf("exit %d", exit.code)
	}
	if m := err.Error(); strings.Contains(m, "exit_code(") {
		i := strings.Index(m, "exit_code(")
		var code uint32
		fmt.Sscanf(m[i:], "exit_code(%d)", &code)
		return fmt.Sprintf("exit %d", code)
	}
	return "crash"
}

func checkWASIMatches(t testing.TB, rt *Runtime, in []byte) {
	code := wasmgen.WASICalls(wasmgen.NewSource(in), wasiSigs())
	ours := runWASICalls(t, rt, code, false)
	theirs := runWASICalls(t, rt, code, true)
	if theirs.err == "crash" && ours.err == "" {
		return // wazero's host crash on a stream's timestamps (see above)
	}
	if ours.err != theirs.err {
		t.Fatalf("ended %q, wazero's WASI %q", ours.err, theirs.err)
	}
	if ours.err == "crash" {
		return // a crash may leave memory half-written differently
	}
	if !bytes.Equal(ours.mem, theirs.mem) {
		for i := range ours.mem {
			if ours.mem[i] != theirs.mem[i] {
				t.Fatalf("memory differs from wazero's WASI first at %d: %x vs %x", i,
					ours.mem[i:min(i+16, len(ours.mem))], theirs.mem[i:min(i+16, len(ours.mem))])
			}
		}
	}
	if ours.stderr != theirs.stderr {
		t.Fatalf("stderr %q, wazero's WASI %q", ours.stderr, theirs.stderr)
	}
	if ours.clock != theirs.clock || ours.rand != theirs.rand {
		t.Fatalf("clock/random state %d/%x, wazero's WASI %d/%x", ours.clock, ours.rand, theirs.clock, theirs.rand)
	}
}

func newTestRuntime(t testing.TB, e Engine) *Runtime {
	t.Helper()
	rt, err := New(context.Background(), Config{Engine: e, NoDiskCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func TestWASIMatchesWazero(t *testing.T) {
	rt := newTestRuntime(t, EngineWazeroInterp)
	n := 400
	if testing.Short() {
		n = 100
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		in := make([]byte, 64+rng.IntN(2048))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		checkWASIMatches(t, rt, in)
	}
}

func FuzzWASIMatchesWazero(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{3, 1, 4, 1, 5, 9, 2, 6}, 64))
	rt := newTestRuntime(f, EngineWazeroInterp)
	f.Fuzz(func(t *testing.T, in []byte) { checkWASIMatches(t, rt, in) })
}
