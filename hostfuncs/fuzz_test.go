package hostfuncs

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzABI drives the import table with arbitrary calls: guest arguments are
// outside bytes, so no sequence may crash the host or break its accounting.
// The only allowed panic is a Trap (an exhausted budget).
func FuzzABI(f *testing.F) {
	f.Add([]byte{1, 1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0})
	f.Add([]byte("\x0a\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00"))
	fns := Functions()
	f.Fuzz(func(t *testing.T, prog []byte) {
		e := newEnv(t, Limits{MaxHandles: 16, MaxTensorBytes: 1 << 16, Budget: 1 << 22})
		defer func() {
			if r := recover(); r != nil {
				if trap, ok := r.(Trap); !ok || !errors.Is(trap, ErrBudget) {
					panic(r)
				}
			}
			if e.in.TensorBytes() < 0 || e.in.TensorBytes() > 1<<16 {
				t.Fatalf("tensor bytes %d outside the quota", e.in.TensorBytes())
			}
		}()
		for len(prog) > 0 {
			fn := fns[int(prog[0])%len(fns)]
			prog = prog[1:]
			args := make([]uint64, max(len(fn.Params), 1))
			for i := range fn.Params {
				var v uint32
				if len(prog) >= 4 {
					v = binary.LittleEndian.Uint32(prog)
					prog = prog[4:]
				}
				// Small values hit live handles and valid shapes more often.
				if v&0x80000000 == 0 {
					v &= 0x3ff
				}
				args[i] = uint64(v)
			}
			if fn.Name == "probe" && len(prog)%2 == 0 {
				e.in.BeginForward(0, 1)
			}
			fn.Call(e.in, e.m, args)
			e.in.EndForward()
		}
	})
}
