package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/runtime"
)

// Claim is a job with its claimed result, in the JSON that `dna run --json`
// prints. The fields after Digest describe the run that produced it and are
// not checked.
type Claim struct {
	Bundle       string  `json:"bundle"`
	Prompt       string  `json:"prompt,omitempty"`
	PromptTokens []int32 `json:"prompt_tokens"`
	MaxTokens    int     `json:"max_tokens"`
	Temperature  float32 `json:"temperature"`
	TopK         int     `json:"top_k"`
	Seed         uint64  `json:"seed"`
	Tokens       []int32 `json:"tokens"`
	Text         string  `json:"text"`
	Stop         string  `json:"stop"`
	Digest       string  `json:"digest,omitempty"`

	Positions  int     `json:"positions"`
	WorkUnits  uint64  `json:"work_units"`
	Fuel       uint64  `json:"fuel"`                  // guest fuel, the same on every engine
	EngineFuel uint64  `json:"engine_fuel,omitempty"` // wasmtime's own fuel
	TokensPerS float64 `json:"tokens_per_s"`
	PrefillMS  float64 `json:"prefill_ms"`
	TotalMS    float64 `json:"total_ms"`
	Engine     string  `json:"engine,omitempty"`
	Backend    string  `json:"backend,omitempty"`
}

// MaxClaimBytes bounds a claim document.
const MaxClaimBytes = 64 << 20

// ErrClaim reports a claim document that cannot be read.
var ErrClaim = errors.New("verify: malformed claim")

// ParseClaim decodes a claim, checking sizes before it trusts them.
func ParseClaim(b []byte) (*Claim, error) {
	if len(b) > MaxClaimBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrClaim, len(b), MaxClaimBytes)
	}
	var c Claim
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClaim, err)
	}
	if len(c.PromptTokens) > MaxPromptTokens || len(c.Tokens) > MaxOutputTokens {
		return nil, fmt.Errorf("%w: %d prompt and %d output tokens", ErrClaim, len(c.PromptTokens), len(c.Tokens))
	}
	if _, err := c.Job(); err != nil {
		return nil, err
	}
	if c.Digest != "" {
		if _, err := keys.ParseHash(c.Digest); err != nil {
			return nil, fmt.Errorf("%w: digest: %v", ErrClaim, err)
		}
	}
	return &c, nil
}

// Job is the claim's job.
func (c *Claim) Job() (*Job, error) {
	id, err := keys.ParseHash(c.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: bundle: %v", ErrClaim, err)
	}
	j := &Job{Bundle: id, PromptTokens: c.PromptTokens, MaxTokens: c.MaxTokens, Temperature: c.Temperature, TopK: c.TopK, Seed: c.Seed}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return j, nil
}

// NewClaim records a finished generation as a claim.
func NewClaim(bundle keys.Hash, prompt string, job runtime.Job, res *runtime.Result) *Claim {
	return &Claim{
		Bundle: bundle.String(), Prompt: prompt, PromptTokens: res.PromptTokens, MaxTokens: job.MaxTokens,
		Temperature: job.Temperature, TopK: job.TopK, Seed: job.Seed, Tokens: res.Tokens, Text: res.Text,
		Stop: res.Stop, Digest: res.Digest.String(), Positions: res.Positions, WorkUnits: res.WorkUnits,
		Fuel: res.Fuel, EngineFuel: res.EngineFuel,
		TokensPerS: res.TokensPerSecond(),
		PrefillMS:  float64(res.Prefill.Microseconds()) / 1000,
		TotalMS:    float64(res.Total.Microseconds()) / 1000,
	}
}
