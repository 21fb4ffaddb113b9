package cpu

import (
	"container/heap"
	"slices"

	"github.com/dnahost/dnahost/kernels"
)

// SampleRow is the canonical sampler (docs/numerics.md): the token
// argmax_i(ℓ_i/T + g_i) over the top-k candidates, ties to the lowest index,
// where g_i is the job's fixed Gumbel noise. T ≤ 0 is greedy argmax. NaN
// logits count as −∞; if no candidate has a finite score the lowest
// candidate index wins.
func SampleRow(logits []float32, p kernels.SampleParams) int32 {
	n := len(logits)
	if n == 0 {
		return 0
	}
	var cand []int32 // nil: every token is a candidate
	if p.TopK > 0 && p.TopK < n {
		cand = topK(logits, p.TopK)
	}
	score := func(i int) float32 {
		l := logits[i]
		if l != l {
			return negInf
		}
		return l
	}
	if p.Temperature > 0 {
		t := p.Temperature
		var words [4]uint32
		lastQ := -1
		score = func(i int) float32 {
			l := logits[i]
			if l != l {
				return negInf
			}
			if q := i >> 2; q != lastQ {
				words = GumbelBits(p.Seed, p.Step, uint32(q))
				lastQ = q
			}
			s := float32(l/t) + GumbelFromBits(words[i&3])
			if s != s { // −∞ + ∞ cannot happen (g is finite), but be total anyway
				return negInf
			}
			return s
		}
	}
	best, bestScore := -1, negInf
	consider := func(i int) {
		s := score(i)
		if best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	if cand == nil {
		for i := 0; i < n; i++ {
			consider(i)
		}
	} else {
		for _, i := range cand { // cand is sorted by index, so ties go low
			consider(int(i))
		}
	}
	return int32(best)
}

// greedy is SampleRow for a temperature ≤ 0 (any top-k: the candidates
// always include the first largest logit): the first index of the largest
// logit, NaN counting as −∞.
func greedy(logits []float32) int32 {
	best, bestScore := 0, negInf
	for i, l := range logits {
		if l > bestScore { // false for NaN
			best, bestScore = i, l
		}
	}
	return int32(best)
}

// topK returns the indices of the k largest logits, ordered by index, where
// larger logit wins and equal logits prefer the lower index (NaN is −∞).
func topK(logits []float32, k int) []int32 {
	h := make(candHeap, 0, k)
	for i, l := range logits {
		if l != l {
			l = negInf
		}
		c := cand{l, int32(i)}
		if len(h) < k {
			heap.Push(&h, c)
		} else if c.beats(h[0]) {
			h[0] = c
			heap.Fix(&h, 0)
		}
	}
	out := make([]int32, len(h))
	for i, c := range h {
		out[i] = c.idx
	}
	slices.Sort(out)
	return out
}

type cand struct {
	l   float32
	idx int32
}

// beats orders candidates: larger logit, then lower index.
func (a cand) beats(b cand) bool { return a.l > b.l || (a.l == b.l && a.idx < b.idx) }

// candHeap is a min-heap: the root is the weakest kept candidate.
type candHeap []cand

func (h candHeap) Len() int           { return len(h) }
func (h candHeap) Less(i, j int) bool { return h[j].beats(h[i]) }
func (h candHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)        { *h = append(*h, x.(cand)) }
func (h *candHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
