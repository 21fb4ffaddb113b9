package consensus_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/runtime"
)

func benchCase(n int) consensus.Case {
	c := consensus.Case{Job: "bench", Replication: n}
	for i := 0; i < n; i++ {
		r := "A"
		if i%4 == 3 {
			r = "B"
		}
		c.Commitments = append(c.Commitments, consensus.CaseCommitment{Node: fmt.Sprint("n", i), Stake: uint64(10 + i), Result: r, Revealed: true, Verification: "verified"})
	}
	return c
}

// BenchmarkDecide: decisions per second for presets and a WebAssembly rule
// over 3, 10 and 100 commitments. Evaluate includes checking every
// commitment's signature; the "rule-only" figures are the rule alone.
func BenchmarkDecide(b *testing.B) {
	rt := newRuntime(b)
	wasm := loadRule(b, rt, filepath.Join(testmodels.RepoRoot(b), "examples", "rules", "presets"), map[string]string{"preset": "majority"}, runtime.PureLimits{})
	rules := map[string]consensus.Rule{"wasm-majority": wasm}
	for _, s := range []string{"majority", "stake-majority", "first-verified"} {
		r, _ := consensus.ParseRule(s)
		rules[s] = r
	}
	for _, n := range []int{3, 10, 100} {
		c := benchCase(n)
		signed := c.Signed()
		for _, name := range []string{"majority", "stake-majority", "first-verified", "wasm-majority"} {
			rule := rules[name]
			b.Run(fmt.Sprintf("%s/n=%d/evaluate", name, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if d := consensus.Evaluate(rule, c.JobInfo(), signed); d.Status != consensus.Accepted {
						b.Fatal(d)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			})
			in := &consensus.Input{JobID: c.JobInfo().ID, Replication: n}
			for _, cm := range signed {
				in.Entries = append(in.Entries, consensus.Entry{Node: cm.NodeID(), Stake: cm.Stake, Result: cm.ResultHash, Revealed: true, Verification: cm.Verification})
			}
			b.Run(fmt.Sprintf("%s/n=%d/rule-only", name, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					rule.Decide(in)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			})
		}
	}
}

// BenchmarkCertificateVerify: certificates checked per second.
func BenchmarkCertificateVerify(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		c := benchCase(n)
		rule, _ := consensus.ParseRule("majority")
		d := consensus.Evaluate(rule, c.JobInfo(), c.Signed())
		cert, err := consensus.NewCertificate(c.JobInfo(), d)
		if err != nil {
			b.Fatal(err)
		}
		for _, cc := range c.Commitments {
			if cc.Result == "A" {
				cert.Sign(consensus.CaseKey(cc.Node))
			}
		}
		b.Run(fmt.Sprintf("signers=%d", len(cert.Signers)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := cert.Verify(len(cert.Signers)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
		})
	}
}
