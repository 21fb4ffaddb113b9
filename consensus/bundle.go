package consensus

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/runtime"
)

// ForBundle returns the rule a bundle asks for: its own WebAssembly module
// when the manifest names one in entry.consensus (with consensus.params),
// else the preset named in consensus.rule (with its params; "majority"
// when none is named).
func ForBundle(ctx context.Context, rt *runtime.Runtime, b *bundle.Bundle, lim runtime.PureLimits) (Rule, error) {
	m := b.Manifest()
	if m.Entry.Consensus != "" {
		code, err := b.File(m.Entry.Consensus)
		if err != nil {
			return nil, err
		}
		return LoadWasmRule(ctx, rt, code, m.Consensus.Params, lim)
	}
	spec := m.Consensus.Rule
	if spec == "" {
		spec = PresetMajority
	}
	if len(m.Consensus.Params) > 0 {
		ks := make([]string, 0, len(m.Consensus.Params))
		for k := range m.Consensus.Params {
			ks = append(ks, k+"="+m.Consensus.Params[k])
		}
		sort.Strings(ks)
		spec += ":" + strings.Join(ks, ",")
	}
	r, err := ParseRule(spec)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", m.Name, err)
	}
	return r, nil
}
