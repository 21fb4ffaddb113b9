package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/bundlestore"
	"github.com/dnahost/dnahost/runtime"
)

func chainParams(name string) (*chain.Params, bool) { return chain.ParamsByName(name) }

// devnetNode is one child process of a devnet.
type devnetNode struct {
	dir, http, quic, logPath, address string
	cmd                               *exec.Cmd
	exited                            chan error
}

func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

func cmdDevnet(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(errOut)
	n := fs.Int("n", 4, "nodes")
	dir := fs.String("dir", filepath.Join("build", "devnet"), "directory for the nodes' data")
	reset := fs.Bool("reset", false, "start from empty data directories")
	httpBase := fs.Int("http-port", 0, "HTTP port of node 0, the others follow (0: free ports)")
	var bundles multiFlag
	fs.Var(&bundles, "bundle", "a .dna bundle node 0 publishes (repeatable)")
	demo := fs.String("demo", "", "submit this prompt as a job, show every stage, then stop")
	tokens := fs.Int("tokens", 48, "demo: tokens to generate")
	replication := fs.Int("replication", 3, "demo: nodes that run the job")
	behaviors := fs.String("behaviors", "", "comma-separated behavior per node (e.g. ',,lazy' makes node 2 lazy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 32 {
		return fmt.Errorf("%w: -n %d outside 1..32", errUsage, *n)
	}
	if *reset {
		if err := os.RemoveAll(*dir); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var loaded []*bundle.Bundle
	for _, p := range bundles {
		b, err := bundle.ReadFile(p, bundle.ReadOptions{})
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		loaded = append(loaded, b)
	}
	// One compilation cache for every node, kept across --reset, filled
	// here once so the nodes start from it instead of all compiling at once.
	cache := filepath.Clean(*dir) + "-cache"
	if err := warmCache(ctx0(), cache, loaded); err != nil {
		return err
	}
	behav := strings.Split(*behaviors, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	nodes := make([]*devnetNode, *n)
	var seeds []string
	defer func() {
		for _, d := range nodes {
			if d != nil && d.cmd != nil && d.cmd.Process != nil {
				_ = d.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, d := range nodes {
			if d != nil && d.exited != nil {
				select {
				case <-d.exited:
				case <-time.After(10 * time.Second):
					_ = d.cmd.Process.Kill()
				}
			}
		}
	}()
	for i := range nodes {
		d := &devnetNode{dir: filepath.Join(*dir, fmt.Sprintf("node%d", i))}
		k, _, err := node.Init(d.dir)
		if err != nil {
			return err
		}
		d.address = k.Public().Address().Encode(chain.DevNet.AddressVersion)
		if i == 0 {
			st, err := bundlestore.OpenDir(filepath.Join(d.dir, "bundles"))
			if err != nil {
				return err
			}
			for _, b := range loaded {
				if err := st.Put(b); err != nil {
					return err
				}
			}
		}
		qp, err := freePort("udp")
		if err != nil {
			return err
		}
		hp := *httpBase + i
		if *httpBase == 0 {
			if hp, err = freePort("tcp"); err != nil {
				return err
			}
		}
		d.quic, d.http = fmt.Sprintf("127.0.0.1:%d", qp), fmt.Sprintf("127.0.0.1:%d", hp)
		d.logPath = filepath.Join(d.dir, "node.log")
		logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		b := ""
		if i < len(behav) {
			b = strings.TrimSpace(behav[i])
		}
		a := []string{"run", "--datadir", d.dir, "--net", "devnet", "--listen", d.quic, "--http", d.http,
			"--seeds", strings.Join(seeds, ","), "--compute", "--mine",
			"--mine-interval", (time.Duration(*n) * 300 * time.Millisecond).String(),
			"--miner-threads", "1", "--threads", "1", "--cache-dir", cache,
			"--behavior", b}
		d.cmd = exec.Command(self, a...)
		d.cmd.Stdout, d.cmd.Stderr = logf, logf
		if err := d.cmd.Start(); err != nil {
			logf.Close()
			return err
		}
		d.exited = make(chan error, 1)
		go func() { d.exited <- d.cmd.Wait(); logf.Close() }()
		nodes[i] = d
		seeds = append(seeds, d.quic)
	}
	for i, d := range nodes {
		if err := waitHealthy(ctx, d, 90*time.Second); err != nil {
			return fmt.Errorf("node %d: %w (log: %s)", i, err, d.logPath)
		}
	}
	fmt.Fprintf(out, "devnet: %d nodes on 127.0.0.1 (data in %s)\n", *n, *dir)
	for i, d := range nodes {
		role := ""
		if i < len(behav) && strings.TrimSpace(behav[i]) != "" {
			role = "  [" + strings.TrimSpace(behav[i]) + "]"
		}
		fmt.Fprintf(out, "  node %d  http://%s  quic %s  %s  log %s%s\n", i, d.http, d.quic, d.address, d.logPath, role)
	}
	for _, b := range loaded {
		fmt.Fprintf(out, "  bundle %q %s published by node 0\n", b.Manifest().Name, b.ID())
	}
	if *demo == "" {
		fmt.Fprintf(out, "dashboard: http://%s/   (Ctrl-C stops the devnet)\n", nodes[0].http)
		select {
		case <-ctx.Done():
		case err := <-firstExit(nodes):
			return fmt.Errorf("a node stopped: %v", err)
		}
		return nil
	}
	if len(loaded) == 0 {
		return fmt.Errorf("%w: --demo needs a --bundle", errUsage)
	}
	return runDemo(ctx, out, nodes, loaded[0], *demo, *tokens, *replication)
}

func ctx0() context.Context { return context.Background() }

// warmCache compiles each bundle's modules into the shared cache.
func warmCache(ctx context.Context, dir string, bs []*bundle.Bundle) error {
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	for _, b := range bs {
		md, err := rt.Load(ctx, b)
		if err != nil {
			return fmt.Errorf("bundle %s: %w", b.Manifest().Name, err)
		}
		md.Close(ctx)
	}
	return nil
}

func firstExit(nodes []*devnetNode) <-chan error {
	ch := make(chan error, len(nodes))
	for i, d := range nodes {
		go func() {
			err := <-d.exited
			d.exited <- err
			ch <- fmt.Errorf("node %d: %v", i, err)
		}()
	}
	return ch
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func waitHealthy(ctx context.Context, d *devnetNode, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case err := <-d.exited:
			d.exited <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := http.Get("http://" + d.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("not healthy in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// runDemo submits a job to node 0, prints each stage as the job goes
// through it, then the decided text, the block and the payments.
func runDemo(ctx context.Context, out io.Writer, nodes []*devnetNode, b *bundle.Bundle, prompt string, tokens, replication int) error {
	base := "http://" + nodes[0].http
	fmt.Fprintf(out, "\nsubmitting a job to node 0: %q, %d tokens, replication %d, model %s\n", prompt, tokens, replication, b.Manifest().Name)
	body, _ := json.Marshal(map[string]any{"model": b.Manifest().Name, "prompt": prompt, "max_tokens": tokens,
		"replication": replication, "temperature": 0.8, "seed": 42})
	var rec node.JobRecord
	start := time.Now()
	for {
		resp, err := http.Post(base+"/api/jobs", "application/json", bytes.NewReader(body))
		if err == nil {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				if err := json.Unmarshal(data, &rec); err != nil {
					return fmt.Errorf("job record: %w", err)
				}
				break
			}
			err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
		}
		// The client pays from node 0's account, which its first mined
		// blocks fund.
		if time.Since(start) > 90*time.Second {
			return fmt.Errorf("submitting: %v", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Fprintf(out, "job %s\n\n", rec.ID)
	seen := 0
	for {
		resp, err := http.Get(base + "/api/jobs/" + rec.ID.String())
		if err == nil {
			var r node.JobRecord
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err == nil {
				for ; seen < len(r.History); seen++ {
					e := r.History[seen]
					stage := string(e.Stage)
					if stage == "" {
						stage = "·"
					}
					fmt.Fprintf(out, "  %s  %-10s %s\n", e.Time.Format("15:04:05.000"), stage, e.What)
				}
				if r.Stage.Final() || r.Stage == node.StageFailed && r.ClosedAt != 0 {
					printOutcome(out, &r, time.Since(start))
					if r.Stage != node.StageSettled {
						return fmt.Errorf("job ended %s", r.Stage)
					}
					return nil
				}
			}
		}
		if time.Since(start) > 5*time.Minute {
			return errors.New("the job did not finish in 5 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printOutcome(out io.Writer, r *node.JobRecord, took time.Duration) {
	fmt.Fprintf(out, "\ndecided text (%s; the prompt, then the output):\n  %s\n", r.Rule,
		strings.ReplaceAll(strings.TrimSpace(r.Prompt+r.Text), "\n", "\n  "))
	fmt.Fprintf(out, "recorded in block %d (%s), result tx %s\n", r.BlockHeight, r.BlockHash, r.ResultTx)
	fmt.Fprintln(out, "nodes:")
	for _, v := range r.Nodes {
		fmt.Fprintf(out, "  %s  stake %-9s revealed %-5v %-12s agree %-5v paid %s\n", v.Address,
			coins(int64(v.Stake)), v.Revealed, v.Verification, v.Agree, coins(v.Paid))
	}
	fmt.Fprintf(out, "end to end: %s\n", took.Round(time.Millisecond))
}

func coins(v int64) string {
	s := strconv.FormatFloat(float64(v)/chain.Coin, 'f', -1, 64)
	if v > 0 {
		s = "+" + s
	}
	return s
}
