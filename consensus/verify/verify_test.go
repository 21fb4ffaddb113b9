package verify_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/runtime"
)

var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dna-verify-test-cache")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is a loaded model with a verifier.
type env struct {
	md *runtime.Model
	v  *verify.Verifier
	b  *bundle.Bundle
}

func load(tb testing.TB, b *bundle.Bundle) *env {
	tb.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: cacheDir})
	if err != nil {
		tb.Fatal(err)
	}
	md, err := rt.Load(ctx, b)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { md.Close(ctx); rt.Close(ctx) })
	return &env{md: md, v: verify.New(md), b: b}
}

// model returns the real stories260K when ../shared is present, else a
// synthetic model, so the suite runs everywhere.
func model(tb testing.TB, q kernels.DType) *bundle.Bundle {
	if testmodels.SharedModelsDir() != "" {
		return testmodels.Stories260K(tb, q)
	}
	return testmodels.Synthetic(tb, "tiny", testmodels.Tiny, q)
}

// claim runs a job honestly and returns its claim.
func (e *env) claim(tb testing.TB, prompt string, job runtime.Job) *verify.Claim {
	tb.Helper()
	job.Prompt = prompt
	res, err := e.md.Generate(context.Background(), job, runtime.Callbacks{})
	if err != nil {
		tb.Fatal(err)
	}
	return verify.NewClaim(e.b.ID(), prompt, job, res)
}

func (e *env) verify(tb testing.TB, c *verify.Claim, o verify.Options) *verify.Report {
	tb.Helper()
	r, err := e.v.Verify(context.Background(), c, o)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func clone(c *verify.Claim) *verify.Claim {
	d := *c
	d.Tokens = slices.Clone(c.Tokens)
	d.PromptTokens = slices.Clone(c.PromptTokens)
	return &d
}

func TestHonestClaimsAreValid(t *testing.T) {
	e := load(t, model(t, kernels.F32))
	c := e.claim(t, "Once upon a time", runtime.Job{MaxTokens: 50, Temperature: 0.8, Seed: 9})
	for _, mode := range []verify.Mode{verify.Full, verify.RASTiC} {
		r := e.verify(t, c, verify.Options{Mode: mode, Seed: 4})
		if !r.Valid {
			t.Fatalf("%s: an honest claim was rejected: %s", mode, r)
		}
		if mode == verify.Full && (len(r.Checked) != len(c.Tokens) || r.Positions != c.Positions) {
			t.Fatalf("full verification checked %d of %d tokens over %d positions (claim %d)", len(r.Checked), len(c.Tokens), r.Positions, c.Positions)
		}
		if mode == verify.RASTiC && (len(r.Checked) != 2+verify.DefaultSamples || r.Checked[0] != 0 || r.Checked[len(r.Checked)-1] != len(c.Tokens)-1) {
			t.Fatalf("RASTiC checked %v", r.Checked)
		}
	}
}

// attack is a dishonest claim built from honest material.
type attack struct {
	name  string
	build func(t testing.TB, e *attackEnv, rng *rand.Rand) *verify.Claim
}

type attackEnv struct {
	f32, q8 *env
	prompt  string
	job     runtime.Job
	honest  *verify.Claim
}

func (a *attackEnv) stops() []int32 { return a.f32.md.Manifest().Model.StopTokens }

// otherToken is a token other than t that is not a stop token.
func (a *attackEnv) otherToken(rng *rand.Rand, t int32) int32 {
	v := a.f32.md.Manifest().Model.VocabSize
	for {
		x := int32(rng.IntN(v))
		if x != t && !slices.Contains(a.stops(), x) {
			return x
		}
	}
}

var attacks = []attack{
	{"substituted token", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		c := clone(a.honest)
		i := rng.IntN(len(c.Tokens))
		c.Tokens[i] = a.otherToken(rng, c.Tokens[i])
		return c
	}},
	{"truncated without EOS", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		c := clone(a.honest)
		c.Tokens = c.Tokens[:rng.IntN(len(c.Tokens)-1)+1]
		return c
	}},
	{"truncated with a fake EOS", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		c := clone(a.honest)
		c.Tokens = append(c.Tokens[:rng.IntN(len(c.Tokens)-1)], a.stops()[0])
		c.Stop = runtime.StopToken
		return c
	}},
	{"spliced from another prompt", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		prompts := []string{"The dog", "Lily and Ben", "One day", "There was a big", "Tom had a"}
		other := a.f32.claim(t, prompts[rng.IntN(len(prompts))], a.job)
		c := clone(a.honest)
		c.Tokens, c.Digest = other.Tokens, other.Digest
		return c
	}},
	{"another seed", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		job := a.job
		job.Seed = a.job.Seed + 1 + rng.Uint64N(1000)
		other := a.f32.claim(t, a.prompt, job)
		c := clone(a.honest)
		c.Tokens, c.Digest = other.Tokens, other.Digest
		return c
	}},
	{"another temperature", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		job := a.job
		job.Temperature = []float32{0, 0.5, 1.2, 1.6}[rng.IntN(4)]
		other := a.f32.claim(t, a.prompt, job)
		c := clone(a.honest)
		c.Tokens, c.Digest = other.Tokens, other.Digest
		return c
	}},
	{"q8 output claimed as f32", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		other := a.q8.claim(t, a.prompt, a.job)
		c := clone(a.honest)
		c.Tokens, c.Digest = other.Tokens, other.Digest
		return c
	}},
	{"repetition padding", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		// §2.5.7: compute a few tokens honestly, then pad to the limit with
		// a repeated pattern.
		c := clone(a.honest)
		k := 1 + rng.IntN(len(c.Tokens)/2)
		period := min(1+rng.IntN(3), k)
		for i := k; i < len(c.Tokens); i++ {
			c.Tokens[i] = c.Tokens[k-period+(i-k)%period]
		}
		return c
	}},
	{"tampered digest", func(t testing.TB, a *attackEnv, rng *rand.Rand) *verify.Claim {
		c := clone(a.honest)
		b := []byte(c.Digest)
		i := rng.IntN(len(b))
		const hex = "0123456789abcdef"
		b[i] = hex[(strings.IndexByte(hex, b[i])+1+rng.IntN(15))%16]
		c.Digest = string(b)
		return c
	}},
}

// differs reports whether an attack's claim differs from the honest one at
// all (a spliced or re-seeded output can coincide with the honest one).
func differs(a, b *verify.Claim) bool {
	return !slices.Equal(a.Tokens, b.Tokens) || a.Digest != b.Digest || a.Stop != b.Stop
}

func newAttackEnv(t testing.TB, seed uint64) *attackEnv {
	a := &attackEnv{f32: load(t, model(t, kernels.F32)), q8: load(t, model(t, kernels.Q8_0)), prompt: "Once upon a time",
		job: runtime.Job{MaxTokens: 60, Temperature: 0.8, Seed: seed}}
	// The q8 claim must be about the f32 bundle: only its tokens and digest
	// are taken, as a node that ran the wrong bundle would report them.
	a.honest = a.f32.claim(t, a.prompt, a.job)
	if a.honest.Stop != runtime.StopLimit {
		t.Fatalf("the honest run stopped early (%s); pick another seed", a.honest.Stop)
	}
	return a
}

// Full verification rejects every attack, every time.
func TestAttacksFullVerification(t *testing.T) {
	a := newAttackEnv(t, 11)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			trials := 6
			for n := 0; n < trials; n++ {
				c := at.build(t, a, rng)
				if !differs(c, a.honest) {
					continue // coincided with the honest output: nothing to detect
				}
				r := a.f32.verify(t, c, verify.Options{Mode: verify.Full})
				if r.Valid {
					t.Fatalf("full verification accepted %q: %+v", at.name, c)
				}
				if n == 0 {
					t.Log(r)
				}
			}
		})
	}
}

// TestRASTiCDetectionRates measures how often RASTiC (3 interior samples,
// fresh verifier seed each trial) catches each attack, next to what the
// paper's analysis predicts. It prints the table docs/verification.md
// quotes; set DNA_RASTIC_TRIALS for more trials.
func TestRASTiCDetectionRates(t *testing.T) {
	trials := 60
	if s := os.Getenv("DNA_RASTIC_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	if testing.Short() {
		trials = 10
	}
	a := newAttackEnv(t, 11)
	rng := rand.New(rand.NewPCG(3, 4))
	n := len(a.honest.Tokens)
	k := verify.DefaultSamples
	for _, at := range attacks {
		detected, counted := 0, 0
		expected := 0.0 // paper's analysis, where it has one
		for trial := 0; trial < trials; trial++ {
			c := at.build(t, a, rng)
			if !differs(c, a.honest) {
				continue
			}
			counted++
			r := a.f32.verify(t, c, verify.Options{Mode: verify.RASTiC, Seed: rng.Uint64()})
			if !r.Valid {
				detected++
			}
			if at.name == "substituted token" {
				// The paper's analysis treats positions as independent: caught
				// iff the index is checked (index 0 and the last always, an
				// interior one with probability k/(n−2)). A substitution also
				// changes the context of every later position, so checks after
				// it catch it too: the analysis is a lower bound.
				i := firstDiff(c.Tokens, a.honest.Tokens)
				if i == 0 || i == n-1 {
					expected++
				} else {
					expected += float64(k) / float64(n-2)
				}
			}
		}
		rate := float64(detected) / float64(max(counted, 1))
		line := fmt.Sprintf("%-28s detected %3d of %3d (%5.1f%%)", at.name, detected, counted, 100*rate)
		if at.name == "substituted token" && counted > 0 {
			p := expected / float64(counted)
			line += fmt.Sprintf("; the paper's independent-position analysis: %.1f%%", 100*p)
			if sd := math.Sqrt(p * (1 - p) / float64(counted)); rate < p-5*sd-0.01 {
				t.Errorf("substitution detection %.3f is below the analysis %.3f", rate, p)
			}
		}
		t.Log(line)
		switch at.name {
		case "truncated without EOS", "truncated with a fake EOS":
			// The structure check or the always-checked last position.
			if detected != counted {
				t.Errorf("%s: RASTiC missed %d of %d", at.name, counted-detected, counted)
			}
		}
	}
}

func firstDiff(a, b []int32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Honest claims are never rejected: many random honest jobs of varied
// lengths, seeds, temperatures and top-k, on f32 and q8, in both modes.
func TestNoFalsePositives(t *testing.T) {
	jobs := 1000
	if testing.Short() {
		jobs = 100
	}
	envs := []*env{load(t, model(t, kernels.F32)), load(t, model(t, kernels.Q8_0))}
	prompts := []string{"Once upon a time", "The cat", "Lily wanted to", "One day, a big", "x", "Tom and Sam went to the park and"}
	var mu sync.Mutex
	var wg sync.WaitGroup
	failures, fullChecked := 0, 0
	work := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rng := rand.New(rand.NewPCG(uint64(i), 77))
				e := envs[i%2]
				job := runtime.Job{
					MaxTokens:   1 + rng.IntN(80),
					Temperature: []float32{0, 0.3, 0.8, 1, 1.5}[rng.IntN(5)],
					TopK:        []int{0, 0, 5, 40}[rng.IntN(4)],
					Seed:        rng.Uint64(),
				}
				c := e.claim(t, prompts[rng.IntN(len(prompts))], job)
				for _, mode := range []verify.Mode{verify.Full, verify.RASTiC} {
					r, err := e.v.Verify(context.Background(), c, verify.Options{Mode: mode, Seed: rng.Uint64(), Samples: 1 + rng.IntN(5)})
					mu.Lock()
					if err != nil || !r.Valid {
						failures++
						t.Errorf("job %d (%+v, %d tokens, %s): %v %v", i, job, len(c.Tokens), mode, err, r)
					}
					if mode == verify.Full {
						fullChecked += len(r.Checked)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < jobs; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("%d honest jobs, %d tokens checked by full verification, %d rejected", jobs, fullChecked, failures)
}

func TestClaimsAboutAnotherBundle(t *testing.T) {
	e := load(t, model(t, kernels.F32))
	c := e.claim(t, "Once upon a time", runtime.Job{MaxTokens: 5})
	c.Bundle = "00" + c.Bundle[2:]
	if _, err := e.v.Verify(context.Background(), c, verify.Options{}); err == nil {
		t.Fatal("a claim about another bundle was verified")
	}
}

func TestPromptCheck(t *testing.T) {
	e := load(t, model(t, kernels.F32))
	c := e.claim(t, "Once upon a time", runtime.Job{MaxTokens: 5})
	c.Prompt = "Once upon a dime"
	if r := e.verify(t, c, verify.Options{}); r.Valid || r.Failed != verify.CheckPrompt {
		t.Fatalf("a prompt that does not match its tokens: %s", r)
	}
}

// The outsourced answer confirms the claimed token exactly when it is the
// bundle's, and reveals only a hash.
func TestOutsourced(t *testing.T) {
	e := load(t, model(t, kernels.F32))
	c := e.claim(t, "Once upon a time", runtime.Job{MaxTokens: 30, Temperature: 0.8, Seed: 2})
	job, err := c.Job()
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range []int{0, 7, len(c.Tokens) - 1} {
		q := &verify.OutsourceRequest{Job: *job, Tokens: slices.Clone(c.Tokens), Index: idx}
		wire, err := verify.DecodeOutsourceRequest(q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		ans, err := e.v.Answer(context.Background(), wire)
		if err != nil {
			t.Fatal(err)
		}
		back, err := verify.DecodeOutsourceAnswer(ans.Encode())
		if err != nil || *back != *ans {
			t.Fatalf("answer round trip: %v", err)
		}
		if !back.Confirms(q) {
			t.Fatalf("index %d: the answer does not confirm an honest token", idx)
		}
		bad := &verify.OutsourceRequest{Job: *job, Tokens: slices.Clone(c.Tokens), Index: idx}
		bad.Tokens[idx] = (bad.Tokens[idx] + 3) % int32(e.md.Manifest().Model.VocabSize)
		badAns, err := e.v.Answer(context.Background(), bad)
		if err != nil {
			t.Fatal(err)
		}
		if badAns.Confirms(bad) {
			t.Fatalf("index %d: the answer confirms a substituted token", idx)
		}
		// An answer for one claim does not confirm another claim's token.
		if back.Confirms(bad) {
			t.Fatal("an answer was replayed for another claim")
		}
	}
}
