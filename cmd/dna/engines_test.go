package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/runtime"
)

// dna run gives the same claim — tokens, text, digest, work units, fuel —
// on every engine of the build, and a claim made on one engine verifies on
// every other. wasmtime also reports its engine fuel; a build without it
// says how to get it.
func TestCLIEngines(t *testing.T) {
	dir := setup(t)
	b := smallBundle(t, dir)
	job := []string{"run", b, "-p", "hello there", "-n", "16", "--temp", "0.8", "--seed", "11", "--json"}
	claims := map[runtime.Engine]verify.Claim{}
	for _, e := range runtime.Engines() {
		var c verify.Claim
		js := mustDNA(t, append(job, "--engine", string(e))...)
		if err := json.Unmarshal([]byte(js), &c); err != nil {
			t.Fatalf("%s: %v\n%s", e, err, js)
		}
		if c.Engine != string(e) || c.Fuel == 0 || c.WorkUnits == 0 {
			t.Fatalf("%s: claim %+v", e, c)
		}
		if (e == runtime.EngineWasmtime) != (c.EngineFuel != 0) {
			t.Fatalf("%s: engine fuel %d", e, c.EngineFuel)
		}
		if !strings.Contains(js, `"fuel"`) {
			t.Fatalf("%s: no fuel in the claim:\n%s", e, js)
		}
		claims[e] = c
		path := filepath.Join(dir, string(e)+".json")
		os.WriteFile(path, []byte(js), 0o644)
	}
	ref := claims[runtime.EngineWazero]
	for e, c := range claims {
		if !slices.Equal(c.Tokens, ref.Tokens) || c.Text != ref.Text || c.Digest != ref.Digest || c.WorkUnits != ref.WorkUnits || c.Fuel != ref.Fuel {
			t.Fatalf("%s's claim differs from wazero's:\n%+v\n%+v", e, c, ref)
		}
		for _, v := range runtime.Engines() {
			if out := mustDNA(t, "verify", b, "--claim", filepath.Join(dir, string(e)+".json"), "--engine", string(v)); !strings.HasPrefix(out, "valid") {
				t.Fatalf("%s's claim verified on %s: %q", e, v, out)
			}
		}
	}
	// The old names still work.
	var old verify.Claim
	json.Unmarshal([]byte(mustDNA(t, append(job, "--engine", "interpreter")...)), &old)
	if old.Digest != ref.Digest || old.Engine != string(runtime.EngineWazeroInterp) {
		t.Fatalf("--engine interpreter: %+v", old)
	}
	// Limits.
	if code, _, errOut := dna(t, "run", b, "-p", "hello", "--fuel", "100"); code != 1 || !strings.Contains(errOut, "fuel limit") {
		t.Fatalf("--fuel 100: exit %d, %q", code, errOut)
	}
	if code, _, errOut := dna(t, "run", b, "-p", "hello", "--engine-fuel", "100"); code != 2 || !strings.Contains(errOut, "--engine wasmtime") {
		t.Fatalf("--engine-fuel on wazero: exit %d, %q", code, errOut)
	}
	if _, ok := claims[runtime.EngineWasmtime]; ok {
		if code, _, errOut := dna(t, "run", b, "-p", "hello", "--engine", "wasmtime", "--engine-fuel", "1000"); code != 1 || !strings.Contains(errOut, "engine fuel limit") {
			t.Fatalf("--engine-fuel 1000: exit %d, %q", code, errOut)
		}
		return
	}
	code, _, errOut := dna(t, "run", b, "-p", "hello", "--engine", "wasmtime")
	if code != 2 || !strings.Contains(errOut, "-tags wasmtime") {
		t.Fatalf("--engine wasmtime without it: exit %d, %q", code, errOut)
	}
	t.Log(strings.TrimSpace(errOut))
}
