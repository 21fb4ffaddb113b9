package e2e

import (
	"testing"

	"github.com/dnahost/dnahost/node"
)

// BenchmarkDevnetJobs runs DNA_E2E_BENCH_JOBS jobs (default 20, replication
// 3) on a devnet of five dnahost processes, all submitted at once, spread
// over the nodes as coordinators, and reports throughput, end-to-end
// latency and where a job's time goes, from the coordinators' records
// (means, ms): escrow mining, staking, compute (each agreeing node's own),
// the commit and reveal phases (gossip), the decision (verify: the
// verification itself), certificate signatures, result mining and the
// dispute window. The work does not depend on b.N: run it with
// -benchtime 1x.
func BenchmarkDevnetJobs(b *testing.B) {
	k := envInt("DNA_E2E_BENCH_JOBS", 20)
	for range b.N {
		c := newCluster(b, clusterOptions{Nodes: 5})
		// A first job with replication 5 has every node fetch and compile
		// the bundle: the figures are a warm devnet's.
		warm := &testJob{req: jobRequest{Prompt: "warm up", MaxTokens: 8, Seed: 1, Replication: 5}, coord: 0}
		c.runBatch([]*testJob{warm})
		jobs := c.makeJobs(k, []int{0, 1, 2, 3, 4})
		recs, elapsed := c.runBatch(jobs)
		stats := newPhaseStats()
		settled := 0
		var slow *jobView
		var slowMs float64
		for _, j := range jobs {
			v := recs[j.id]
			if v.Stage == string(node.StageSettled) {
				settled++
				p := c.phasesWithCompute(v)
				stats.add(p)
				if p.Total > slowMs {
					slow, slowMs = v, p.Total
				}
			}
		}
		if slow != nil {
			b.Logf("slowest job %s (%.0f ms):\n%s", slow.ID[:12], slowMs, slow.historyString())
		}
		if settled < len(jobs) {
			b.Errorf("%d of %d jobs settled", settled, len(jobs))
		}
		b.Logf("%d jobs in %s: %s", k, elapsed, stats)
		b.ReportMetric(float64(settled)/elapsed.Minutes(), "jobs/min")
		b.ReportMetric(stats.percentile(0.5), "p50-ms")
		b.ReportMetric(stats.percentile(0.95), "p95-ms")
		for _, name := range phaseNames {
			if name != "total" {
				b.ReportMetric(stats.mean(name), name+"-ms")
			}
		}
		c.stopAll()
	}
}
