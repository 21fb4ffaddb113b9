package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/internal/testmodels"
)

// dna runs the command in-process and returns its exit status and output.
func dna(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func mustDNA(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := dna(t, args...)
	if code != 0 {
		t.Fatalf("dna %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func setup(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("DNA_AUTHOR_KEY", "")
	return dir
}

// The tester's path end to end: synthesize, import, inspect, verify, run.
func TestCLISyntheticEndToEnd(t *testing.T) {
	dir := setup(t)
	ck, tok, key := filepath.Join(dir, "m.bin"), filepath.Join(dir, "t.bin"), filepath.Join(dir, "a.key")
	mustDNA(t, "synth", "llama2c", "-o", ck, "--tokenizer", tok, "--dim", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--vocab", "300", "--seq-len", "64")
	mustDNA(t, "keygen", "-o", key)
	if code, _, _ := dna(t, "keygen", "-o", key); code == 0 {
		t.Fatal("keygen overwrote an existing key")
	}
	b := filepath.Join(dir, "m.dna")
	out := mustDNA(t, "import", "llama2c", ck, tok, "-o", b, "--key", key)
	id := strings.Fields(out)[0]
	if len(id) != 64 {
		t.Fatalf("import printed %q", out)
	}
	if !strings.Contains(mustDNA(t, "bundle", "inspect", b), id) {
		t.Fatal("inspect does not show the bundle ID")
	}
	if !strings.HasPrefix(mustDNA(t, "bundle", "verify", b), "ok "+id) {
		t.Fatal("verify")
	}
	var claim verify.Claim
	js := mustDNA(t, "run", b, "-p", "hello there", "-n", "12", "--temp", "0.9", "--seed", "5", "--json")
	if err := json.Unmarshal([]byte(js), &claim); err != nil {
		t.Fatalf("run --json: %v\n%s", err, js)
	}
	if claim.Bundle != id || len(claim.Tokens) != 12 || claim.Seed != 5 || claim.Temperature != 0.9 || len(claim.PromptTokens) == 0 ||
		len(claim.Digest) != 64 || claim.WorkUnits == 0 || claim.Stop != "limit" {
		t.Fatalf("claim %+v", claim)
	}
	// The same job on one thread in the interpreter: the same claim.
	var again verify.Claim
	json.Unmarshal([]byte(mustDNA(t, "run", b, "-p", "hello there", "-n", "12", "--temp", "0.9", "--seed", "5", "--json",
		"--threads", "1", "--engine", "interpreter", "--generic", "--prefill-chunk", "1")), &again)
	if again.Digest != claim.Digest || !slices.Equal(again.Tokens, claim.Tokens) || again.Text != claim.Text {
		t.Fatalf("the same job differs:\n%+v\n%+v", claim, again)
	}
	// Streaming text equals the claim's text after the prompt.
	text := mustDNA(t, "run", b, "-p", "hello there", "-n", "12", "--temp", "0.9", "--seed", "5")
	if !strings.HasSuffix(text, claim.Text+"\n") {
		t.Fatalf("streamed %q, claim text %q", text, claim.Text)
	}
	// The default author key is made on first use.
	mustDNA(t, "import", "llama2c", ck, tok, "-o", filepath.Join(dir, "m2.dna"), "--quant", "q8")
	if _, err := os.Stat(filepath.Join(dir, "config", "dnahost", "author.key")); err != nil {
		t.Fatalf("default key not made: %v", err)
	}
}

// A corrupted byte makes verify fail (exit 1) and name the chunk.
func TestCLICorruptedBundle(t *testing.T) {
	dir := setup(t)
	ck, tok := filepath.Join(dir, "m.bin"), filepath.Join(dir, "t.bin")
	mustDNA(t, "synth", "llama2c", "-o", ck, "--tokenizer", tok, "--dim", "128", "--layers", "4", "--heads", "4", "--vocab", "2000")
	b := filepath.Join(dir, "m.dna")
	mustDNA(t, "import", "llama2c", ck, tok, "-o", b)
	data, _ := os.ReadFile(b)
	data[len(data)-1000] ^= 0x55 // inside the last chunk's payload
	os.WriteFile(b, data, 0o644)
	code, _, errOut := dna(t, "bundle", "verify", b)
	if code != 1 || !strings.Contains(errOut, "INVALID") || !strings.Contains(errOut, "chunk ") {
		t.Fatalf("verify of a corrupted bundle: exit %d, %q", code, errOut)
	}
	t.Log(strings.TrimSpace(errOut))
	if code, _, _ := dna(t, "run", b, "-p", "x"); code != 1 {
		t.Fatal("run accepted a corrupted bundle")
	}
}

// pack(unpack(B)) is B: same ID.
func TestCLIPackUnpack(t *testing.T) {
	dir := setup(t)
	ck, tok, key := filepath.Join(dir, "m.bin"), filepath.Join(dir, "t.bin"), filepath.Join(dir, "a.key")
	mustDNA(t, "synth", "llama2c", "-o", ck, "--tokenizer", tok, "--vocab", "300")
	mustDNA(t, "keygen", "-o", key)
	b := filepath.Join(dir, "m.dna")
	id := strings.Fields(mustDNA(t, "import", "llama2c", ck, tok, "-o", b, "--key", key))[0]
	mustDNA(t, "bundle", "unpack", b, "-o", filepath.Join(dir, "un"))
	again := strings.Fields(mustDNA(t, "bundle", "pack", filepath.Join(dir, "un"), "-o", filepath.Join(dir, "re.dna"), "--key", key))[0]
	if again != id {
		t.Fatalf("repacked bundle has ID %s, original %s", again, id)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	setup(t)
	for _, args := range [][]string{
		{}, {"nope"}, {"run"}, {"run", "x.dna", "--temp", "-1"}, {"run", "x.dna", "--engine", "jit"},
		{"import", "gguf", "a", "b", "-o", "c"}, {"import", "llama2c", "a", "b"}, {"bundle"}, {"bundle", "frob"},
		{"synth", "llama2c"}, {"keygen"}, {"run", "x.dna", "--bogus"},
	} {
		if code, _, _ := dna(t, args...); code != 2 {
			t.Errorf("dna %v: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := dna(t, "run", "missing.dna", "-p", "x"); code != 1 {
		t.Error("a missing bundle is not exit 1")
	}
}

// dna run on the stories260K bundle prints exactly llama2.c's output.
func TestCLIGolden(t *testing.T) {
	dir := setup(t)
	models := testmodels.SharedModelsDir()
	if models == "" {
		t.Skip("../shared/models is not present")
	}
	b := filepath.Join(dir, "s.dna")
	mustDNA(t, "import", "llama2c", filepath.Join(models, "stories260K", "stories260K.bin"),
		filepath.Join(models, "stories260K", "tok512.bin"), "-o", b)
	for _, g := range testmodels.GoldenRuns(t) {
		out := mustDNA(t, "run", b, "-p", "Once upon a time", "-n", strconv.Itoa(g.Steps+1-5))
		if out != g.Stdout {
			t.Errorf("-n %d:\n got  %q\n want %q", g.Steps, out, g.Stdout)
		}
	}
}

// smallBundle makes a small synthetic model with the CLI and imports it as
// DIR/m.dna.
func smallBundle(t *testing.T, dir string) string {
	t.Helper()
	ck, tok := filepath.Join(dir, "m.bin"), filepath.Join(dir, "t.bin")
	mustDNA(t, "synth", "llama2c", "-o", ck, "--tokenizer", tok, "--dim", "32", "--layers", "2", "--heads", "4", "--vocab", "300", "--seq-len", "64")
	b := filepath.Join(dir, "m.dna")
	mustDNA(t, "import", "llama2c", ck, tok, "-o", b)
	return b
}

// dna verify: 0 for an honest claim, 1 for a tampered one (naming the check
// and position), 2 for input errors.
func TestCLIVerify(t *testing.T) {
	dir := setup(t)
	b := smallBundle(t, dir)
	claimPath := filepath.Join(dir, "claim.json")
	os.WriteFile(claimPath, []byte(mustDNA(t, "run", b, "-p", "hello", "-n", "20", "--temp", "0.7", "--seed", "3", "--json")), 0o644)
	for _, mode := range []string{"full", "rastic"} {
		if out := mustDNA(t, "verify", b, "--claim", claimPath, "--mode", mode); !strings.HasPrefix(out, "valid") {
			t.Fatalf("%s: %q", mode, out)
		}
	}
	var claim verify.Claim
	raw, _ := os.ReadFile(claimPath)
	json.Unmarshal(raw, &claim)
	claim.Tokens[5] = (claim.Tokens[5] + 7) % 300
	if claim.Tokens[5] < 3 {
		claim.Tokens[5] += 3 // not a stop token
	}
	bad, _ := json.Marshal(claim)
	badPath := filepath.Join(dir, "bad.json")
	os.WriteFile(badPath, bad, 0o644)
	code, out, _ := dna(t, "verify", b, "--claim", badPath)
	if code != 1 || !strings.Contains(out, "output token 5") || !strings.Contains(out, "integrity") {
		t.Fatalf("tampered claim: exit %d, %q", code, out)
	}
	code, out, _ = dna(t, "verify", b, "--claim", badPath, "--json")
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); code != 1 || err != nil || rep.Valid || rep.Index != 5 || rep.Failed != verify.CheckIntegrity {
		t.Fatalf("--json: exit %d, %+v, %v", code, rep, err)
	}
	os.WriteFile(badPath, []byte("{not json"), 0o644)
	for _, args := range [][]string{
		{"verify", b}, {"verify", b, "--claim", badPath}, {"verify", b, "--claim", claimPath, "--mode", "fast"},
		{"verify", b, "--claim", filepath.Join(dir, "missing.json")},
	} {
		if code, _, _ := dna(t, args...); code != 2 {
			t.Errorf("dna %v: exit %d, want 2", args, code)
		}
	}
	// A claim about another bundle is an input error too.
	other := filepath.Join(dir, "o.dna")
	mustDNA(t, "import", "llama2c", filepath.Join(dir, "m.bin"), filepath.Join(dir, "t.bin"), "-o", other, "--quant", "q8")
	if code, _, errOut := dna(t, "verify", other, "--claim", claimPath); code != 2 {
		t.Errorf("claim about another bundle: exit %d, %s", code, errOut)
	}
}

func TestCLIConsensus(t *testing.T) {
	dir := setup(t)
	root := testmodels.RepoRoot(t)
	cases := filepath.Join(root, "consensus", "testdata", "presets.json")
	out := mustDNA(t, "consensus", "test", "majority", "--cases", cases)
	if !strings.Contains(out, "0 failed") || !strings.Contains(out, "ok   majority: 2 of 3 agree") {
		t.Fatalf("%s", out)
	}
	// A failing expectation is exit 1 and shows what was expected.
	raw, _ := os.ReadFile(cases)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(strings.Replace(string(raw), `"agree": [
     "alice",
     "bob"
    ],`, `"agree": ["alice"],`, 1)), 0o644)
	if code, out, _ := dna(t, "consensus", "test", "majority", "--cases", bad); code != 1 || !strings.Contains(out, "FAIL") {
		t.Fatalf("a failing case: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"consensus"}, {"consensus", "test", "plurality", "--cases", cases}, {"consensus", "test", "majority"}, {"consensus", "frob"}} {
		if code, _, _ := dna(t, args...); code != 2 {
			t.Errorf("dna %v: exit %d, want 2", args, code)
		}
	}
	// Scaffold a rule project, build it, and run its cases.
	proj := filepath.Join(dir, "myrule")
	mustDNA(t, "consensus", "new", proj, "--sdk", filepath.Join(root, "guest-sdk"))
	if code, _, _ := dna(t, "consensus", "new", proj); code != 2 {
		t.Fatal("scaffolding over an existing directory")
	}
	wasm := testmodels.BuildGuest(t, proj)
	os.WriteFile(filepath.Join(proj, "rule.wasm"), wasm, 0o644)
	out = mustDNA(t, "consensus", "test", filepath.Join(proj, "rule.wasm"), "--cases", filepath.Join(proj, "cases.json"))
	if !strings.Contains(out, "3 cases with wasm@1") || !strings.Contains(out, "0 failed") {
		t.Fatalf("scaffolded rule:\n%s", out)
	}
	// An example rule with a parameter.
	ms := testmodels.BuildGuest(t, filepath.Join(root, "examples", "rules", "minstake"))
	os.WriteFile(filepath.Join(dir, "minstake.wasm"), ms, 0o644)
	out = mustDNA(t, "consensus", "test", filepath.Join(dir, "minstake.wasm"), "--param", "min_stake=50",
		"--cases", filepath.Join(root, "examples", "rules", "minstake", "cases.json"))
	if !strings.Contains(out, "0 failed") {
		t.Fatalf("minstake:\n%s", out)
	}
}
