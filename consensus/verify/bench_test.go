package verify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

// BenchmarkVerify compares, in one run, generating an output with checking
// it: full verification and RASTiC with 3 samples, for 16, 64 and 256
// output tokens. Times with start-up include instantiating the guest; the
// compute-only figures leave that fixed cost out of both sides.
func BenchmarkVerify(b *testing.B) {
	models := []struct {
		name string
		get  func(b *testing.B) *bundle.Bundle
	}{
		{"stories260K", func(b *testing.B) *bundle.Bundle { return testmodels.Stories260K(b, kernels.F32) }},
		{"synthetic-15M", func(b *testing.B) *bundle.Bundle {
			return testmodels.Synthetic(b, "synthetic-15M", testmodels.Stories15M, kernels.F32)
		}},
	}
	ctx := context.Background()
	for _, m := range models {
		for _, n := range []int{4, 16, 64, 256} {
			b.Run(fmt.Sprintf("%s/tokens=%d", m.name, n), func(b *testing.B) {
				e := load(b, m.get(b))
				job := runtime.Job{Prompt: "Once upon a time", MaxTokens: n}
				var gen, genCompute, full, fullCompute, ras, rasCompute time.Duration
				toks := 0
				for i := 0; i < b.N; i++ {
					res, err := e.md.Generate(ctx, job, runtime.Callbacks{})
					if err != nil {
						b.Fatal(err)
					}
					gen += res.Total
					genCompute += res.Prefill + res.Decode
					toks += len(res.Tokens)
					c := verify.NewClaim(e.b.ID(), job.Prompt, job, res)
					rf := e.verify(b, c, verify.Options{Mode: verify.Full})
					rr := e.verify(b, c, verify.Options{Mode: verify.RASTiC, Samples: 3, Seed: uint64(i)})
					if !rf.Valid || !rr.Valid {
						b.Fatalf("honest claim rejected: %s / %s", rf, rr)
					}
					full += rf.Elapsed
					fullCompute += rf.Elapsed - rf.Startup
					ras += rr.Elapsed
					rasCompute += rr.Elapsed - rr.Startup
				}
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
				b.ReportMetric(float64(toks)/float64(b.N), "tokens")
				b.ReportMetric(ms(gen), "gen-ms")
				b.ReportMetric(ms(full), "full-ms")
				b.ReportMetric(ms(ras), "rastic-ms")
				b.ReportMetric(full.Seconds()/gen.Seconds(), "full/gen")
				b.ReportMetric(ras.Seconds()/gen.Seconds(), "rastic/gen")
				b.ReportMetric(fullCompute.Seconds()/genCompute.Seconds(), "full/gen-compute")
				b.ReportMetric(rasCompute.Seconds()/genCompute.Seconds(), "rastic/gen-compute")
			})
		}
	}
}
