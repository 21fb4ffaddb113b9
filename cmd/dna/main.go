package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// errUsage marks errors in how the command was called (exit status 2).
var errUsage = errors.New("usage")

type command struct {
	name, args, help string
	run              func(args []string, out, errOut io.Writer) error
}

var commands = []command{
	{"import", "llama2c MODEL.bin TOKENIZER.bin -o OUT.dna [--quant q8]", "make a bundle from a llama2.c checkpoint", cmdImport},
	{"run", "B.dna -p PROMPT [-n N] [--temp T] [--topk K] [--seed S] [--json]", "run a bundle locally in the sandbox", cmdRun},
	{"verify", "B.dna --claim CLAIM.json [--mode rastic|full] [--samples K] [--json]", "check a claimed completion without generating it again", cmdVerify},
	{"consensus", "test RULE.wasm|PRESET --cases CASES.json | new DIR", "test a consensus rule, or scaffold a new one", cmdConsensus},
	{"bundle", "inspect|verify|pack|unpack ...", "inspect, verify, pack or unpack bundles", cmdBundle},
	{"synth", "llama2c -o MODEL.bin [--tokenizer TOK.bin] [--dim D --layers L --heads H ...]", "make a synthetic checkpoint with deterministic random weights", cmdSynth},
	{"keygen", "-o FILE", "make a secp256k1 author key", cmdKeygen},
	{"wallet", "new|address|balance|send [--net N] [--datadir D] ...", "keys and payments on the chain", cmdWallet},
	{"chain", "tip|block|tx|job|jobs|mine [--net N] [--datadir D] ...", "read the local chain; mine devnet blocks", cmdChain},
	{"publish", "B.dna --node http://ADDR [--api-key K]", "upload a bundle to a node, which stores and announces it", cmdPublish},
	{"job", "submit|status --node URL ... [--watch]", "submit a job to a node and follow its stages", cmdJob},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dna COMMAND [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n           %s\n", c.name, c.help, c.args)
	}
	fmt.Fprintln(w, "\nRun 'dna COMMAND -h' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, out, errOut io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(errOut)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], out, errOut)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(errOut, "dna %s: %v\n", c.name, strings.TrimPrefix(err.Error(), "usage: "))
				return 2
			case errors.Is(err, errFailed):
				return 1
			default:
				fmt.Fprintf(errOut, "dna %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(errOut, "dna: unknown command %q\n", args[0])
	usage(errOut)
	return 2
}

// errFailed is returned by commands that already printed why they failed.
var errFailed = errors.New("failed")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// newFlags makes a flag set whose errors become usage errors.
func newFlags(name string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dna "+name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	return fs
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
