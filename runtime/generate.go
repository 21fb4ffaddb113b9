package runtime

import (
	"context"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
)

// MaxPromptBytes bounds a prompt's text.
const MaxPromptBytes = 1 << 20

// DefaultPrefillChunk is how many prompt positions one forward call takes.
const DefaultPrefillChunk = 256

// Job is one generation request.
type Job struct {
	Prompt       string  // text, tokenized by the bundle's tokenizer
	PromptTokens []int32 // or the tokens themselves (then Prompt is ignored)
	MaxTokens    int     // tokens to generate at most
	Temperature  float32 // 0: greedy
	TopK         int     // 0: no top-k mask
	Seed         uint64
	// Budget is the work-unit budget. 0 means four times the bundle's
	// work_per_token for every position (unlimited if the bundle gives none).
	Budget uint64
	// Timeout bounds wall-clock time (0: none beyond ctx).
	Timeout time.Duration
	// Fuel bounds the guest's own computation (0: unlimited), the same on
	// every engine; see SessionOptions.Fuel.
	Fuel uint64
	// EngineFuel bounds the engine's own instruction fuel (0: unlimited;
	// wasmtime only); see SessionOptions.EngineFuel.
	EngineFuel uint64
	// PrefillChunk bounds positions per forward call while reading the
	// prompt (0: DefaultPrefillChunk; 1: token by token; never more than the
	// bundle's batch). Results do not depend on it.
	PrefillChunk int
	// Walltime is the time the guest's clock reads.
	Walltime time.Time
}

// Validate checks a job's parameters.
func (j *Job) Validate() error {
	switch {
	case j.MaxTokens < 0:
		return fmt.Errorf("%w: max tokens %d", ErrJob, j.MaxTokens)
	case !(j.Temperature >= 0) || math.IsInf(float64(j.Temperature), 0):
		return fmt.Errorf("%w: temperature %v", ErrJob, j.Temperature)
	case j.TopK < 0:
		return fmt.Errorf("%w: top-k %d", ErrJob, j.TopK)
	case len(j.Prompt) > MaxPromptBytes:
		return fmt.Errorf("%w: prompt of %d bytes, limit %d", ErrJob, len(j.Prompt), MaxPromptBytes)
	case j.PrefillChunk < 0:
		return fmt.Errorf("%w: prefill chunk %d", ErrJob, j.PrefillChunk)
	}
	return nil
}

// SampleParams are the job's canonical sampling parameters.
func (j *Job) SampleParams() kernels.SampleParams {
	return kernels.SampleParams{Temperature: j.Temperature, TopK: j.TopK, Seed: j.Seed}
}

// Token is one generated token as it streams.
type Token struct {
	ID    int32
	Pos   int    // its position in the sequence
	Text  string // text completed by this token (may be empty mid-character)
	Index int    // 0 for the first generated token
}

// Stop reasons.
const (
	StopToken   = "stop_token" // a stop token (EOS) was sampled
	StopLimit   = "limit"      // MaxTokens were generated
	StopContext = "context"    // the context window is full
)

// Result is a finished generation.
type Result struct {
	PromptTokens []int32
	Tokens       []int32 // generated tokens, ending with the stop token if one was sampled
	PromptText   string  // the prompt as the tokenizer decodes it
	Text         string  // the generated text (stop token excluded)
	Stop         string
	Digest       keys.Hash // over the positions the generation computed
	Positions    int       // positions computed: prompt + generated − 1
	WorkUnits    uint64
	Fuel         uint64        // guest fuel: function entries and loop iterations
	EngineFuel   uint64        // the engine's own fuel (wasmtime; 0 elsewhere)
	Startup      time.Duration // instantiating the guest and its dna_init
	Prefill      time.Duration // tokenizing and reading the prompt
	Decode       time.Duration // sampling and forwarding the generated tokens
	Total        time.Duration
}

// TokensPerSecond is generated tokens over the prefill and decode time
// (start-up excluded, as llama2.c reports it).
func (r *Result) TokensPerSecond() float64 {
	d := r.Prefill + r.Decode
	if d <= 0 {
		return 0
	}
	return float64(len(r.Tokens)) / d.Seconds()
}

// DefaultBudget is the budget Job.Budget = 0 stands for.
func (md *Model) DefaultBudget(positions int) uint64 {
	w := md.m.Resources.WorkPerToken
	if w == 0 {
		return 0
	}
	return satMul(satMul(w, uint64(positions)), 4) + 1<<24
}

func satMul(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}

// Callbacks receive a generation's progress as it happens. Either may be
// nil; an error from one ends the generation with that error.
type Callbacks struct {
	// Prompt is called once the prompt is tokenized, with its decoded text.
	Prompt func(text string, tokens []int32) error
	// Token is called for each generated token (and once more with ID −1
	// for text held back at the end).
	Token func(Token) error
}

// Generate runs a job: tokenize, prefill, then sample and forward one token
// at a time until a stop token, MaxTokens or the context end.
func (md *Model) Generate(ctx context.Context, job Job, cb Callbacks) (*Result, error) {
	return md.GenerateWith(ctx, job, SessionOptions{}, cb)
}

// GenerateWith is Generate with extra session options (e.g. a native guest).
func (md *Model) GenerateWith(ctx context.Context, job Job, so SessionOptions, cb Callbacks) (*Result, error) {
	onToken := cb.Token
	if err := job.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	so.Sample = job.SampleParams()
	so.Timeout = job.Timeout
	so.Fuel = job.Fuel
	so.EngineFuel = job.EngineFuel
	so.Walltime = job.Walltime
	ctxLen := md.m.Model.ContextLength
	budget := job.Budget
	if budget == 0 {
		budget = md.DefaultBudget(min(ctxLen, len(job.PromptTokens)+len(job.Prompt)+8+job.MaxTokens))
	}
	so.Budget = budget
	s, err := md.NewSession(ctx, so)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	started := time.Now()
	prompt := job.PromptTokens
	if prompt == nil {
		if prompt, err = s.Tokenize(job.Prompt); err != nil {
			return nil, err
		}
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("%w: empty prompt", ErrJob)
	}
	if len(prompt) > ctxLen {
		return nil, fmt.Errorf("%w: prompt of %d tokens, context %d", ErrContext, len(prompt), ctxLen)
	}
	res := &Result{PromptTokens: prompt}
	dec := &textDecoder{s: s}
	if res.PromptText, err = dec.prompt(prompt); err != nil {
		return nil, err
	}
	if cb.Prompt != nil {
		if err := cb.Prompt(res.PromptText, prompt); err != nil {
			return nil, err
		}
	}
	chunk := job.PrefillChunk
	if chunk == 0 {
		chunk = DefaultPrefillChunk
	}
	chunk = min(chunk, md.m.Resources.MaxBatch())
	limit := min(job.MaxTokens, ctxLen-len(prompt))
	var lastRow int
	for off := 0; off < len(prompt); off += chunk {
		end := min(off+chunk, len(prompt))
		if err := s.Forward(prompt[off:end], off); err != nil {
			return nil, err
		}
		lastRow = end - off - 1
	}
	res.Startup = started.Sub(start)
	res.Prefill = time.Since(started)
	stops := map[int32]bool{}
	for _, t := range md.m.Model.StopTokens {
		stops[t] = true
	}
	pos := len(prompt) // position of the token being sampled
	prev := prompt[len(prompt)-1]
	res.Stop = StopLimit
	var text []byte
	for len(res.Tokens) < limit {
		tok, err := s.Sample(lastRow, uint64(pos))
		if err != nil {
			return nil, err
		}
		res.Tokens = append(res.Tokens, tok)
		if stops[tok] {
			res.Stop = StopToken
			break
		}
		piece, err := dec.next(prev, tok)
		if err != nil {
			return nil, err
		}
		text = append(text, piece...)
		if onToken != nil {
			if err := onToken(Token{ID: tok, Pos: pos, Text: piece, Index: len(res.Tokens) - 1}); err != nil {
				return nil, err
			}
		}
		prev = tok
		if len(res.Tokens) == limit {
			if limit < job.MaxTokens {
				res.Stop = StopContext
			}
			break
		}
		if err := s.Forward([]int32{tok}, pos); err != nil {
			return nil, err
		}
		lastRow = 0
		pos++
	}
	if limit == 0 && job.MaxTokens > 0 {
		res.Stop = StopContext
	}
	if tail := dec.flush(); tail != "" {
		text = append(text, tail...)
		if onToken != nil {
			if err := onToken(Token{ID: -1, Pos: pos, Text: tail, Index: len(res.Tokens)}); err != nil {
				return nil, err
			}
		}
	}
	res.Text = string(text)
	res.Positions = len(prompt) + max(len(res.Tokens)-1, 0)
	res.Digest = s.Digest(res.Positions)
	res.WorkUnits = s.WorkUnits()
	res.Fuel = s.Fuel()
	res.EngineFuel = s.EngineFuel()
	res.Total = time.Since(start)
	res.Decode = res.Total - res.Startup - res.Prefill
	return res, nil
}

// textDecoder turns token pieces into valid UTF-8 as they stream, holding
// back the bytes of a character that is not complete yet.
type textDecoder struct {
	s       *Session
	pending []byte
}

func (d *textDecoder) prompt(toks []int32) (string, error) {
	var out []byte
	prev := int32(-1)
	for _, t := range toks {
		p, err := d.s.Detokenize(prev, t)
		if err != nil {
			return "", err
		}
		out = append(out, p...)
		prev = t
	}
	return string(toValidUTF8(out)), nil
}

func (d *textDecoder) next(prev, tok int32) (string, error) {
	p, err := d.s.Detokenize(prev, tok)
	if err != nil {
		return "", err
	}
	d.pending = append(d.pending, p...)
	// Emit everything up to an incomplete trailing character.
	cut := len(d.pending)
	for i := len(d.pending) - 1; i >= 0 && i >= len(d.pending)-3; i-- {
		if utf8.RuneStart(d.pending[i]) {
			if !utf8.FullRune(d.pending[i:]) {
				cut = i
			}
			break
		}
	}
	out := toValidUTF8(d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return string(out), nil
}

func (d *textDecoder) flush() string {
	out := toValidUTF8(d.pending)
	d.pending = nil
	return string(out)
}

func toValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	var out []byte
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}
