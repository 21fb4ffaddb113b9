package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dnahost/dnahost/runtime/internal/meter"
)

// ErrFuel reports a guest that used more fuel than its limit. Fuel counts
// function entries and loop iterations in the guest's own code, so the
// same guest on the same input runs out at the same point on every node
// and engine: unlike a timeout, it is a deterministic outcome.
var ErrFuel = errors.New("guest exceeded its fuel limit")

// fuelSlice is the fuel a guest gets per refill: how often the host checks
// the deadline and the limit. 2^22 units are a few milliseconds of compiled
// code and about 0.2 s interpreted.
const fuelSlice = 1 << 22

// fuelMeter is one instance's fuel account.
type fuelMeter struct {
	limit uint64 // 0: none
	given int64  // fuel handed to the guest so far, InitialFuel included
	g     fuelGlobal
}

// used is the fuel spent so far, given the global's current value.
func (f *fuelMeter) used(cur int64) uint64 { return uint64(f.given - cur) }

// Used reads the instance's fuel spent.
func (f *fuelMeter) Used() uint64 {
	if f.g == nil {
		return 0
	}
	return f.used(f.g.getFuel())
}

// start binds the meter to its instance once the start function has run,
// and lowers the guest's fuel so that even a limit below InitialFuel binds
// exactly.
func (f *fuelMeter) start(g fuelGlobal) error {
	f.g = g
	if f.limit == 0 {
		return nil
	}
	cur := g.getFuel()
	used := f.used(cur)
	if used > f.limit {
		return fmt.Errorf("%w (%d units)", ErrFuel, f.limit)
	}
	if left := int64(f.limit - used); cur > left {
		f.given -= cur - left
		g.setFuel(left)
	}
	return nil
}

func newFuelMeter(limit uint64) *fuelMeter {
	return &fuelMeter{limit: limit, given: meter.InitialFuel}
}

// refill runs when the guest's fuel drops below zero: it stops a guest
// whose deadline passed or whose limit is spent, else hands out the next
// slice, never past the limit, so the limit binds exactly.
func (f *fuelMeter) refill(ctx context.Context, g fuelGlobal) {
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			panic(hostTrap(ErrTimeout))
		}
		panic(hostTrap(err))
	}
	cur := g.getFuel()
	used := f.used(cur)
	next := int64(fuelSlice)
	if f.limit > 0 {
		if used > f.limit {
			panic(hostTrap(fmt.Errorf("%w (%d units)", ErrFuel, f.limit)))
		}
		// The guest next calls refill after next more units.
		next = min(next, int64(f.limit-used)+1)
	}
	f.given += next
	g.setFuel(cur + next)
}

// meterVersion names the instrumenter's output format in the cache; change
// it whenever Instrument's output for a given input changes.
const meterVersion = "meter-1"

// instrument adds fuel metering to a guest module. It also shields the
// engine from hostile bytes: the instrumenter checks every count against
// the bytes present, which the engine's decoder does not. Results are kept
// next to the compilation cache (the same trust: both are this node's own
// output), which saves a large module's 25 ms on every later load.
func (r *Runtime) instrument(code []byte) ([]byte, error) {
	var path string
	if r.cacheDir != "" {
		sum := sha256.Sum256(append([]byte(meterVersion), code...))
		path = filepath.Join(r.cacheDir, "dna-metered", hex.EncodeToString(sum[:])+".wasm")
		if out, err := os.ReadFile(path); err == nil {
			return out, nil
		}
	}
	out, err := meter.Instrument(code)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModule, err)
	}
	if path != "" {
		if err := writeFileAtomic(path, out); err != nil {
			r.log.Warn("metered module not cached", "err", err)
		}
	}
	return out, nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
