package consensus

import (
	"context"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/runtime"
)

// WasmRule is a consensus rule shipped as a WebAssembly module (built with
// guest-sdk/consensus). It runs in the sandbox as a pure function of the
// encoded input: no host ABI, a closed deterministic WASI, bounded memory
// and a wall-clock limit per decision. A module that fails in any way —
// spins, exhausts memory, traps, returns garbage — gives Undecided with the
// reason, never a crash and never an accepted result.
//
// The limit is wall-clock time, which is not identical on every node: a
// rule that takes nearly its limit may decide on one node and time out on
// another. That costs liveness, not safety — a certificate needs the
// agreeing nodes' signatures, and a node that timed out signs nothing.
type WasmRule struct {
	mod *runtime.PureModule
	ref RuleRef
}

// LoadWasmRule compiles a rule module. The reference names the module by
// its hash, with the bundle's rule parameters.
func LoadWasmRule(ctx context.Context, rt *runtime.Runtime, code []byte, params map[string]string, lim runtime.PureLimits) (*WasmRule, error) {
	mod, err := rt.LoadPure(ctx, code, lim, "dna_decide")
	if err != nil {
		return nil, err
	}
	p := map[string]string{"module": keys.SHA256(code).String()}
	for k, v := range params {
		if k != "module" {
			p[k] = v
		}
	}
	return &WasmRule{mod: mod, ref: RuleRef{Name: "wasm", Version: 1, Params: p}}, nil
}

// Ref names the rule.
func (w *WasmRule) Ref() RuleRef { return w.ref }

// Decide runs the module.
func (w *WasmRule) Decide(in *Input) Decision {
	out, err := w.mod.Call(context.Background(), "dna_decide", EncodeInput(in, w.ref.Params))
	if err != nil {
		return undecided(w.ref, nil, "rule failed: %v", err)
	}
	d, err := DecodeDecision(out)
	if err != nil {
		return undecided(w.ref, nil, "rule returned garbage: %v", err)
	}
	return d
}

// Close frees the module.
func (w *WasmRule) Close(ctx context.Context) error { return w.mod.Close(ctx) }
