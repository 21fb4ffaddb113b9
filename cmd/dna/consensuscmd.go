package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/runtime"
)

func cmdConsensus(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usagef("dna consensus test RULE.wasm|PRESET --cases CASES.json | dna consensus new DIR")
	}
	switch args[0] {
	case "test":
		return consensusTest(args[1:], out, errOut)
	case "new":
		return consensusNew(args[1:], out, errOut)
	}
	return usagef("unknown consensus command %q (test, new)", args[0])
}

// paramFlags collects repeated --param k=v.
type paramFlags map[string]string

func (p paramFlags) String() string { return fmt.Sprint(map[string]string(p)) }
func (p paramFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	p[k] = v
	return nil
}

func consensusTest(args []string, out, errOut io.Writer) error {
	fs := newFlags("consensus test", errOut)
	casesPath := fs.String("cases", "", "recorded commitment sets (JSON)")
	params := paramFlags{}
	fs.Var(params, "param", "a WebAssembly rule's parameter key=value (repeatable)")
	verbose := fs.Bool("v", false, "print each decision's reason")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *casesPath == "" {
		return usagef("dna consensus test RULE.wasm|PRESET --cases CASES.json [--param k=v]")
	}
	raw, err := readLimited(*casesPath, consensus.MaxCasesBytes)
	if err != nil {
		return usagef("%v", err)
	}
	cases, err := consensus.ParseCases(raw)
	if err != nil {
		return usagef("%s: %v", *casesPath, err)
	}
	var rule consensus.Rule
	spec := pos[0] // what a case's "rule" field must say to apply
	if strings.HasSuffix(pos[0], ".wasm") {
		spec = "wasm"
		code, err := readLimited(pos[0], 64<<20)
		if err != nil {
			return usagef("%v", err)
		}
		ctx := context.Background()
		rt, err := runtime.New(ctx, runtime.Config{})
		if err != nil {
			return err
		}
		defer rt.Close(ctx)
		w, err := consensus.LoadWasmRule(ctx, rt, code, params, runtime.PureLimits{})
		if err != nil {
			return err
		}
		defer w.Close(ctx)
		rule = w
	} else if rule, err = consensus.ParseRule(pos[0]); err != nil {
		return usagef("%v", err)
	}
	failed, skipped := 0, 0
	for _, c := range cases.Cases {
		if c.Rule != "" && c.Rule != spec {
			skipped++ // recorded for another rule
			continue
		}
		d := consensus.Evaluate(rule, c.JobInfo(), c.Signed())
		got := c.Names(d)
		line := got.Status
		if got.Status == "accepted" {
			line += " " + got.Result + " (agree: " + strings.Join(got.Agree, ", ") + ")"
		}
		if len(got.Penalize) > 0 {
			line += " penalise: " + strings.Join(got.Penalize, ", ")
		}
		mark := ""
		if c.Expect != nil {
			if c.Expect.Matches(got) {
				mark = "ok   "
			} else {
				mark = "FAIL "
				failed++
			}
		}
		fmt.Fprintf(out, "%s%-50s %s\n", mark, c.Name, line)
		if *verbose || strings.HasPrefix(mark, "FAIL") {
			fmt.Fprintf(out, "     reason: %s\n", d.Reason)
		}
		if strings.HasPrefix(mark, "FAIL") {
			fmt.Fprintf(out, "     want: %s %s agree %v penalise %v\n", c.Expect.Status, c.Expect.Result, c.Expect.Agree, c.Expect.Penalize)
		}
	}
	fmt.Fprintf(out, "%d cases with %s, %d failed (%d recorded for other rules skipped)\n", len(cases.Cases)-skipped, rule.Ref(), failed, skipped)
	if failed > 0 {
		return errFailed
	}
	return nil
}

var moduleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*$`)

func consensusNew(args []string, out, errOut io.Writer) error {
	fs := newFlags("consensus new", errOut)
	name := fs.String("name", "", "Go module path of the rule (default: the directory's name)")
	sdk := fs.String("sdk", "", "local path of guest-sdk (adds a replace directive)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna consensus new DIR [--name MODULE] [--sdk PATH]")
	}
	dir := pos[0]
	if *name == "" {
		*name = strings.ToLower(filepath.Base(dir))
	}
	if !moduleNameRE.MatchString(*name) {
		return usagef("module name %q: use lower-case letters, digits, '.', '_', '-' and '/'", *name)
	}
	if _, err := os.Stat(dir); err == nil {
		return usagef("%s already exists", dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	gomod := "module " + *name + "\n\ngo 1.26\n\nrequire github.com/dnahost/dnahost/guest-sdk v0.0.0\n"
	if *sdk != "" {
		abs, err := filepath.Abs(*sdk)
		if err != nil {
			return err
		}
		gomod += "\nreplace github.com/dnahost/dnahost/guest-sdk => " + abs + "\n"
	}
	files := map[string]string{
		"go.mod":     gomod,
		"main.go":    scaffoldMain,
		"cases.json": scaffoldCases,
		"Makefile":   scaffoldMakefile,
		"README.md":  strings.ReplaceAll(scaffoldReadme, "NAME", *name),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "made %s: edit main.go, then `make test` (builds rule.wasm and runs cases.json)\n", dir)
	return nil
}

const scaffoldMain = `// Command rule is a dnahost consensus rule. The host authenticates every
// commitment, calls decide with them in arrival order, and checks that the
// decision fits its input. decide must be deterministic: use only its input.
package main

import (
	"strconv"

	"github.com/dnahost/dnahost/guest-sdk/consensus"
)

// decide accepts the result that a strict majority of the job's replicas
// committed. Change it to your rule.
func decide(in *consensus.Input) consensus.Decision {
	valid, penalize := consensus.Normalize(in) // first commitment per node; equivocators and refuted results set aside
	n := in.Replication
	if n == 0 {
		n = len(valid) + len(penalize)
	}
	tallies := consensus.TallyResults(valid)
	for i, t := range tallies {
		if 2*len(t.Nodes) > n {
			return consensus.Accept(tallies, i, strconv.Itoa(len(t.Nodes))+" of "+strconv.Itoa(n)+" agree", penalize...)
		}
	}
	return consensus.Undecide("no majority yet", penalize...)
}

func init() { consensus.Register(decide) }

func main() {}
`

const scaffoldCases = `{
  "cases": [
    {
      "name": "two of three agree",
      "job": "job-1",
      "replication": 3,
      "commitments": [
        {"node": "alice", "stake": 10, "result": "A"},
        {"node": "bob", "stake": 10, "result": "A"},
        {"node": "carol", "stake": 10, "result": "B"}
      ],
      "expect": {"status": "accepted", "result": "A", "agree": ["alice", "bob"], "penalize": ["carol"]}
    },
    {
      "name": "one of three so far",
      "job": "job-2",
      "replication": 3,
      "commitments": [{"node": "alice", "stake": 10, "result": "A"}],
      "expect": {"status": "undecided"}
    },
    {
      "name": "a bad signature does not count",
      "job": "job-3",
      "replication": 3,
      "commitments": [
        {"node": "alice", "stake": 10, "result": "A"},
        {"node": "bob", "stake": 10, "result": "A", "bad_signature": true}
      ],
      "expect": {"status": "undecided"}
    }
  ]
}
`

const scaffoldMakefile = `DNA ?= dna

rule.wasm: main.go go.mod
	GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -buildmode=c-shared -o rule.wasm .

test: rule.wasm
	$(DNA) consensus test rule.wasm --cases cases.json

.PHONY: test
`

const scaffoldReadme = "# NAME\n\nA dnahost consensus rule.\n\n" +
	"- `main.go`: the rule, a plain Go function from the job's commitments to a decision.\n" +
	"- `cases.json`: recorded commitment sets with the decisions you expect; nodes, results and\n" +
	"  jobs are names, which `dna consensus test` turns into keys and signatures.\n\n" +
	"`make test` builds `rule.wasm` and runs the cases. Ship the rule by putting `rule.wasm` in\n" +
	"a bundle and naming it in the manifest: `\"entry\": {\"consensus\": \"rule.wasm\"}`, with any\n" +
	"parameters under `\"consensus\": {\"params\": {…}}`.\n"
