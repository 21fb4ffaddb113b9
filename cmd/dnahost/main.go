package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/api"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  dnahost init [--datadir D]             make a node key and data directory
  dnahost [run] [flags]                  run a node (dnahost run -h for flags)
  dnahost devnet -n N [--bundle B.dna]   run N local nodes on 127.0.0.1 (dnahost devnet -h)
`)
}

func run(args []string, out, errOut io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "init":
		err = cmdInit(args, out)
	case "run":
		err = cmdRun(args, out, errOut)
	case "devnet":
		err = cmdDevnet(args, out, errOut)
	case "help":
		usage(out)
		return 0
	default:
		fmt.Fprintf(errOut, "dnahost: unknown command %q\n", cmd)
		usage(errOut)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(errOut, "dnahost %s: %v\n", cmd, err)
		return 2
	default:
		fmt.Fprintf(errOut, "dnahost %s: %v\n", cmd, err)
		return 1
	}
}

var errUsage = errors.New("usage")

func defaultDataDir() string {
	if d := os.Getenv("DNAHOST_DATADIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".dnahost"
	}
	return filepath.Join(home, ".dnahost")
}

func cmdInit(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fs.String("datadir", defaultDataDir(), "data directory")
	net := fs.String("net", "devnet", "network (for printing the address)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, created, err := node.Init(*dir)
	if err != nil {
		return err
	}
	p, ok := chainParams(*net)
	if !ok {
		return fmt.Errorf("%w: unknown network %q", errUsage, *net)
	}
	verb := "kept the existing"
	if created {
		verb = "made a new"
	}
	fmt.Fprintf(out, "%s node key in %s\nnode key  %s\naddress   %s (%s)\n", verb, *dir, k.Public().Hex(),
		k.Public().Address().Encode(p.AddressVersion), p.Name)
	return nil
}

// nodeFlags are the settings of a node, shared by run and devnet children.
type nodeFlags struct {
	datadir, net, listen, http, seeds, engine, behavior, apiKeys, logLevel, logFormat, cacheDir string
	compute, mine                                                                               bool
	workers, threads, minerThreads                                                              int
	stake, fee                                                                                  uint64
	mineInterval, commitWindow, revealWindow, signWindow                                        time.Duration
}

func (f *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.datadir, "datadir", defaultDataDir(), "data directory (dnahost init makes it)")
	fs.StringVar(&f.net, "net", "devnet", "network: devnet, testnet or mainnet")
	fs.StringVar(&f.listen, "listen", "", "QUIC address (default 127.0.0.1:<network port>)")
	fs.StringVar(&f.http, "http", "127.0.0.1:8710", "HTTP API and dashboard address (empty: none)")
	fs.StringVar(&f.seeds, "seeds", "", "comma-separated peers host:port")
	fs.BoolVar(&f.compute, "compute", true, "run jobs for others")
	fs.IntVar(&f.workers, "workers", 1, "jobs computed at once")
	fs.IntVar(&f.threads, "threads", 0, "kernel threads per job (0: every core)")
	fs.StringVar(&f.engine, "engine", "wazero", "WebAssembly engine: wazero, wazero-interp, or wasmtime (a build with -tags wasmtime)")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "compiled-module cache (default DATADIR/cache)")
	fs.Uint64Var(&f.stake, "stake", 0, "stake per job (default: the job's minimum)")
	fs.Uint64Var(&f.fee, "fee", 1000, "fee per transaction, base units")
	fs.BoolVar(&f.mine, "mine", false, "mine blocks")
	fs.IntVar(&f.minerThreads, "miner-threads", 0, "mining cores (0: all)")
	fs.DurationVar(&f.mineInterval, "mine-interval", time.Second, "devnet: mean time between this node's blocks")
	fs.DurationVar(&f.commitWindow, "commit-window", 0, "wait for commits after a job is accepted (default 10s devnet, 60s else)")
	fs.DurationVar(&f.revealWindow, "reveal-window", 0, "wait for reveals (default 10s devnet, 60s else)")
	fs.DurationVar(&f.signWindow, "sign-window", 0, "wait for certificate signatures (default 10s devnet, 60s else)")
	fs.StringVar(&f.behavior, "behavior", "", "make the node dishonest, for tests: lazy, copy, silent or truncate")
	fs.StringVar(&f.apiKeys, "api-keys", "", "comma-separated API keys for spending endpoints (none: loopback clients only)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
}

func (f *nodeFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("%w: log level %q", errUsage, f.logLevel)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("%w: log format %q", errUsage, f.logFormat)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdRun(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var f nodeFlags
	f.register(fs)
	config := fs.String("config", "", "config file of name = value lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	if err := applyConfig(fs, *config); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log, err := f.logger(errOut)
	if err != nil {
		return err
	}
	cfg := node.Config{DataDir: f.datadir, Net: f.net, Listen: f.listen, Seeds: splitList(f.seeds),
		Compute: f.compute, Workers: f.workers, Threads: f.threads, Engine: f.engine, CacheDir: f.cacheDir,
		Stake: f.stake, Fee: f.fee, Mine: f.mine, MineInterval: f.mineInterval, MinerThreads: f.minerThreads,
		CommitWindow: f.commitWindow, RevealWindow: f.revealWindow, SignWindow: f.signWindow,
		Behavior: f.behavior, Logger: log}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Start(ctx); err != nil {
		n.Close()
		return err
	}
	var srv *http.Server
	if f.http != "" {
		acfg := api.Config{APIKeys: splitList(f.apiKeys)}
		if err := acfg.Validate(); err != nil {
			n.Close()
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		ln, err := net.Listen("tcp", f.http)
		if err != nil {
			n.Close()
			return err
		}
		srv = &http.Server{Handler: api.New(n, acfg), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http", "err", err)
			}
		}()
		log.Info("http api", "addr", "http://"+ln.Addr().String(), "dashboard", "http://"+ln.Addr().String()+"/")
	}
	<-ctx.Done()
	log.Info("shutting down")
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if err := n.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
