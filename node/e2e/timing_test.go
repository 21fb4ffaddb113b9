package e2e

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/node"
)

// phases are where a job's time went, from its coordinator's history
// (milliseconds).
type phases struct {
	Escrow   float64 // submitted → escrow in a block
	Staking  float64 // escrowed → every stake in a block
	Commit   float64 // accepted → commit phase over (every commit gossiped)
	Reveal   float64 // commit phase over → every reveal gossiped
	Decide   float64 // reveals in → decided (verification and the rule)
	Verify   float64 // the verification itself, as the decided event reports it
	Certify  float64 // decided → result transaction sent (certificate signatures)
	Record   float64 // result sent → result in a block
	Dispute  float64 // recorded → settled (the dispute window)
	Total    float64 // submitted → settled
	ComputeN int     // compute samples
	Compute  float64 // mean local compute time of the stakers
}

var verifyMsRE = regexp.MustCompile(`, ([0-9.]+) ms\)`)

func msBetween(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return math.NaN()
	}
	return float64(b.Sub(a).Microseconds()) / 1000
}

// phasesOf reads a coordinator's record of a settled job.
func phasesOf(v *jobView) phases {
	sub := v.stageAt(node.StageSubmitted)
	esc := v.stageAt(node.StageEscrowed)
	acc := v.stageAt(node.StageAccepted)
	com := v.stageAt(node.StageCommitted)
	rev := v.stageAt(node.StageRevealed)
	dec := v.stageAt(node.StageDecided)
	recd := v.stageAt(node.StageRecorded)
	end := v.stageAt(node.StageSettled)
	sent := time.Time{}
	if e, ok := v.eventAt("result transaction"); ok {
		sent = e.Time
	}
	p := phases{Escrow: msBetween(sub, esc), Staking: msBetween(esc, acc), Commit: msBetween(acc, com),
		Reveal: msBetween(com, rev), Decide: msBetween(rev, dec), Certify: msBetween(dec, sent),
		Record: msBetween(sent, recd), Dispute: msBetween(recd, end), Total: msBetween(sub, end), Verify: math.NaN()}
	for _, e := range v.History {
		if e.Stage == node.StageDecided {
			if m := verifyMsRE.FindStringSubmatch(e.What); m != nil {
				p.Verify, _ = strconv.ParseFloat(m[1], 64)
			}
		}
	}
	return p
}

// phaseStats sums phases over jobs.
type phaseStats struct {
	n      map[string]int
	sum    map[string]float64
	totals []float64
}

func newPhaseStats() *phaseStats {
	return &phaseStats{n: map[string]int{}, sum: map[string]float64{}}
}

var phaseNames = []string{"escrow", "staking", "compute", "commit", "reveal", "decide", "verify", "certify", "record", "dispute", "total"}

func (p phases) byName() map[string]float64 {
	return map[string]float64{"escrow": p.Escrow, "staking": p.Staking, "compute": p.Compute, "commit": p.Commit,
		"reveal": p.Reveal, "decide": p.Decide, "verify": p.Verify, "certify": p.Certify, "record": p.Record,
		"dispute": p.Dispute, "total": p.Total}
}

func (s *phaseStats) add(p phases) {
	for k, v := range p.byName() {
		if k == "compute" && p.ComputeN == 0 || math.IsNaN(v) {
			continue
		}
		s.n[k]++
		s.sum[k] += v
	}
	if !math.IsNaN(p.Total) {
		s.totals = append(s.totals, p.Total)
	}
}

func (s *phaseStats) mean(name string) float64 {
	if s.n[name] == 0 {
		return math.NaN()
	}
	return s.sum[name] / float64(s.n[name])
}

// percentile of the end-to-end latencies (nearest rank).
func (s *phaseStats) percentile(q float64) float64 {
	if len(s.totals) == 0 {
		return math.NaN()
	}
	t := append([]float64(nil), s.totals...)
	sort.Float64s(t)
	k := int(math.Ceil(q*float64(len(t)))) - 1
	return t[min(max(k, 0), len(t)-1)]
}

func (s *phaseStats) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d jobs: latency p50 %.0f ms, p95 %.0f ms; mean per phase:", len(s.totals), s.percentile(0.5), s.percentile(0.95))
	for _, k := range phaseNames {
		fmt.Fprintf(&sb, " %s %.0f ms;", k, s.mean(k))
	}
	return strings.TrimSuffix(sb.String(), ";")
}
