package rules

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/runtime"
)

// Each example rule, built to WebAssembly, decides its recorded cases as
// expected.
func TestExampleRules(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	for name, params := range map[string]map[string]string{
		"minstake":    {"min_stake": "50"},
		"digestmatch": nil,
	} {
		t.Run(name, func(t *testing.T) {
			code := testmodels.BuildGuest(t, filepath.Join(testmodels.RepoRoot(t), "examples", "rules", name))
			rule, err := consensus.LoadWasmRule(ctx, rt, code, params, runtime.PureLimits{})
			if err != nil {
				t.Fatal(err)
			}
			defer rule.Close(ctx)
			raw, err := os.ReadFile(filepath.Join(name, "cases.json"))
			if err != nil {
				t.Fatal(err)
			}
			cases, err := consensus.ParseCases(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases.Cases {
				got := c.Names(consensus.Evaluate(rule, c.JobInfo(), c.Signed()))
				if !c.Expect.Matches(got) {
					t.Errorf("%s: got %+v, want %+v", c.Name, got, *c.Expect)
				}
			}
		})
	}
}
