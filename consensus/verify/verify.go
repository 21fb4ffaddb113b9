package verify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/runtime"
)

// Mode selects how much a verification recomputes.
type Mode string

const (
	// Full recomputes every output position (and the digest).
	Full Mode = "full"
	// RASTiC recomputes the first output position, K random interior ones
	// and the last one.
	RASTiC Mode = "rastic"
)

// ParseMode accepts "full" and "rastic".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Full, RASTiC:
		return Mode(s), nil
	}
	return "", fmt.Errorf("verify: unknown mode %q (full or rastic)", s)
}

// Names of the checks a report can fail.
const (
	CheckFormat     = "format"     // tokens outside the vocabulary, longer than allowed, …
	CheckPrompt     = "prompt"     // the prompt text does not tokenize to the claimed prompt tokens
	CheckContinuity = "continuity" // the first output token does not follow from the prompt
	CheckIntegrity  = "integrity"  // an interior position does not recompute to the next claimed token
	CheckTruncation = "truncation" // the output does not end where an honest run ends
	CheckDigest     = "digest"     // the introspection digest differs
)

// DefaultSamples is RASTiC's default number of interior positions.
const DefaultSamples = 3

// Options configures a verification. The zero value is full verification.
type Options struct {
	Mode    Mode
	Samples int    // RASTiC interior samples (0: DefaultSamples)
	Seed    uint64 // verifier-secret seed choosing RASTiC's positions
	Chunk   int    // positions per forward call (0: the bundle's batch); batch invariance makes chunks identical
	Budget  uint64 // work units (0: the bundle's default for the sequence)
	Timeout time.Duration
}

// ErrBundle reports a claim about another bundle than the one loaded.
var ErrBundle = errors.New("verify: claim is about another bundle")

// Report is the outcome of a verification.
type Report struct {
	Valid bool `json:"valid"`
	Mode  Mode `json:"mode"`
	// Failed names the first failed check; Position is the sequence position
	// of the failing token and Index its index in the output (−1 when the
	// check is not about one token).
	Failed     string `json:"failed,omitempty"`
	Position   int    `json:"position"`
	Index      int    `json:"index"`
	Claimed    int32  `json:"claimed"`
	Recomputed int32  `json:"recomputed"`
	Detail     string `json:"detail,omitempty"`
	// Checked lists the output indices recomputed; Positions how many
	// sequence positions were computed to do it.
	Checked   []int         `json:"checked"`
	Positions int           `json:"positions"`
	Startup   time.Duration `json:"startup_ns"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

func (r *Report) fail(check string, index, position int, claimed, recomputed int32, format string, args ...any) *Report {
	r.Valid, r.Failed, r.Index, r.Position = false, check, index, position
	r.Claimed, r.Recomputed = claimed, recomputed
	r.Detail = fmt.Sprintf(format, args...)
	return r
}

// String is a one-line summary.
func (r *Report) String() string {
	if r.Valid {
		return fmt.Sprintf("valid (%s: %d positions recomputed, %d checked)", r.Mode, r.Positions, len(r.Checked))
	}
	if r.Index >= 0 {
		return fmt.Sprintf("INVALID: %s check failed at output token %d (position %d): %s", r.Failed, r.Index, r.Position, r.Detail)
	}
	return fmt.Sprintf("INVALID: %s check failed: %s", r.Failed, r.Detail)
}

// Verifier checks claims against one loaded bundle. It is safe for
// concurrent use; each verification runs in its own instance.
type Verifier struct{ md *runtime.Model }

// New makes a verifier for a loaded model.
func New(md *runtime.Model) *Verifier { return &Verifier{md: md} }

// Verify checks a claim. An invalid claim is a report with Valid false, not
// an error; errors are for a claim about another bundle or a failure of the
// verifier itself.
func (v *Verifier) Verify(ctx context.Context, c *Claim, o Options) (*Report, error) {
	start := time.Now()
	if o.Mode == "" {
		o.Mode = Full
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return nil, err
	}
	job, err := c.Job()
	if err != nil {
		return nil, err
	}
	if job.Bundle != v.md.Bundle().ID() {
		return nil, fmt.Errorf("%w: claim names %s, loaded %s", ErrBundle, job.Bundle, v.md.Bundle().ID())
	}
	r := &Report{Valid: true, Mode: o.Mode, Position: -1, Index: -1, Checked: []int{}}
	if bad := v.structure(c, job, r); bad != nil {
		bad.Elapsed = time.Since(start)
		return bad, nil
	}
	s, err := v.session(ctx, job, len(c.Tokens), o)
	if err != nil {
		return nil, fmt.Errorf("verify: instance: %w", err)
	}
	defer s.Close()
	r.Startup = time.Since(start)
	if c.Prompt != "" {
		toks, err := s.Tokenize(c.Prompt)
		if err != nil {
			return nil, fmt.Errorf("verify: tokenizing the prompt: %w", err)
		}
		if !slices.Equal(toks, job.PromptTokens) {
			r.fail(CheckPrompt, -1, -1, 0, 0, "the prompt tokenizes to %d tokens that differ from the %d claimed", len(toks), len(job.PromptTokens))
			r.Elapsed = time.Since(start)
			return r, nil
		}
	}
	var indices []int
	if o.Mode == Full {
		indices = make([]int, len(c.Tokens))
		for i := range indices {
			indices[i] = i
		}
	} else {
		indices = rasticIndices(job, c.Tokens, o)
	}
	if err := v.recompute(s, job, c, indices, o, r); err != nil {
		return nil, err
	}
	if r.Valid && o.Mode == Full && c.Digest != "" {
		want, _ := keys.ParseHash(c.Digest)
		if got := s.Digest(r.Positions); got != want {
			r.fail(CheckDigest, -1, -1, 0, 0, "claimed %s, recomputed %s over %d positions", want, got, r.Positions)
		}
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

func (v *Verifier) session(ctx context.Context, job *Job, outputs int, o Options) (*runtime.Session, error) {
	budget := o.Budget
	if budget == 0 {
		budget = v.md.DefaultBudget(len(job.PromptTokens) + outputs)
	}
	rj := job.RuntimeJob()
	return v.md.NewSession(ctx, runtime.SessionOptions{Sample: rj.SampleParams(), Budget: budget, Timeout: o.Timeout})
}

// structure checks what needs no computation: vocabulary, lengths, and
// where an honest run stops.
func (v *Verifier) structure(c *Claim, job *Job, r *Report) *Report {
	m := v.md.Manifest().Model
	P, n := len(job.PromptTokens), len(c.Tokens)
	for i, t := range job.PromptTokens {
		if int(t) >= m.VocabSize {
			return r.fail(CheckFormat, -1, i, t, 0, "prompt token %d at position %d is outside the vocabulary of %d", t, i, m.VocabSize)
		}
	}
	for i, t := range c.Tokens {
		if t < 0 || int(t) >= m.VocabSize {
			return r.fail(CheckFormat, i, P+i, t, 0, "token %d is outside the vocabulary of %d", t, m.VocabSize)
		}
	}
	if P > m.ContextLength {
		return r.fail(CheckFormat, -1, -1, 0, 0, "prompt of %d tokens exceeds the context of %d", P, m.ContextLength)
	}
	limit := min(job.MaxTokens, m.ContextLength-P)
	if n > limit {
		return r.fail(CheckFormat, limit, P+limit, 0, 0, "%d output tokens exceed the limit of %d", n, limit)
	}
	stop := func(t int32) bool { return slices.Contains(m.StopTokens, t) }
	for i, t := range c.Tokens[:max(n-1, 0)] {
		if stop(t) {
			return r.fail(CheckTruncation, i, P+i, t, 0, "the output continues after stop token %d", t)
		}
	}
	reason := runtime.StopLimit
	switch {
	case n > 0 && stop(c.Tokens[n-1]):
		reason = runtime.StopToken
	case n < limit:
		return r.fail(CheckTruncation, n, P+n, 0, 0, "the output stops after %d tokens without a stop token; an honest run goes on to %d", n, limit)
	case limit < job.MaxTokens:
		reason = runtime.StopContext
	}
	if c.Stop != "" && c.Stop != reason {
		return r.fail(CheckTruncation, -1, -1, 0, 0, "claims stop %q, the tokens say %q", c.Stop, reason)
	}
	return nil
}

// rasticIndices are the output indices RASTiC recomputes: the first
// (continuity), up to Samples interior ones drawn without replacement from
// a stream keyed by the verifier's secret seed and the claim, and the last
// (truncation).
func rasticIndices(job *Job, tokens []int32, o Options) []int {
	n := len(tokens)
	if n == 0 {
		return nil
	}
	k := o.Samples
	if k <= 0 {
		k = DefaultSamples
	}
	out := []int{0}
	if interior := n - 2; interior > 0 {
		id := job.ID()
		ch := ClaimHash(tokens)
		seed := keys.SHA256([]byte("dna-rastic/1"), binary.LittleEndian.AppendUint64(nil, o.Seed), id[:], ch[:])
		rng := rand.New(rand.NewChaCha8(seed))
		for _, p := range rng.Perm(interior)[:min(k, interior)] {
			out = append(out, p+1)
		}
	}
	if n > 1 {
		out = append(out, n-1)
	}
	slices.Sort(out)
	return out
}

// recompute forwards the claimed sequence as far as the highest index
// needs, in chunks, and compares the canonical sample at each index.
func (v *Verifier) recompute(s *runtime.Session, job *Job, c *Claim, indices []int, o Options, r *Report) error {
	P := len(job.PromptTokens)
	seq := append(append(make([]int32, 0, P+len(c.Tokens)), job.PromptTokens...), c.Tokens...)
	// Output index i is sampled from the logits of position P−1+i.
	upto := P // positions to compute
	if len(indices) > 0 {
		upto = P + indices[len(indices)-1]
	}
	if o.Mode == Full && len(c.Tokens) > 0 {
		upto = P + len(c.Tokens) - 1 // what generation computed (the digest's span)
	}
	chunk := o.Chunk
	if chunk <= 0 {
		chunk = v.md.Manifest().Resources.MaxBatch()
	}
	next := 0 // next index to check
	for off := 0; off < upto; off += chunk {
		end := min(off+chunk, upto)
		if err := s.Forward(seq[off:end], off); err != nil {
			return fmt.Errorf("verify: recomputing positions [%d,%d): %w", off, end, err)
		}
		for ; next < len(indices) && P-1+indices[next] < end; next++ {
			i := indices[next]
			pos := P + i
			got, err := s.Sample(P-1+i-off, uint64(pos))
			if err != nil {
				return fmt.Errorf("verify: sampling position %d: %w", pos, err)
			}
			r.Checked = append(r.Checked, i)
			if got != c.Tokens[i] {
				check := CheckIntegrity
				switch {
				case i == 0:
					check = CheckContinuity
				case i == len(c.Tokens)-1:
					check = CheckTruncation
				}
				r.Positions = end
				r.fail(check, i, pos, c.Tokens[i], got, "claimed token %d, the bundle gives %d", c.Tokens[i], got)
				return nil
			}
		}
	}
	r.Positions = upto
	return nil
}

// ClaimHash binds a whole claimed output: outsourced answers refer to it.
func ClaimHash(tokens []int32) keys.Hash {
	b := make([]byte, 0, 4*len(tokens)+4)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tokens)))
	for _, t := range tokens {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	return keys.DomainHash("claim-tokens", b)
}
