// Package e2e tests dnahost end to end: real dnahost processes on
// 127.0.0.1, each with its own data directory, talking QUIC to each other
// and HTTP to the test. The dnahost binary is built once per test binary;
// the test bundle is compiled once into a cache every node shares.
//
// Environment:
//
//	DNA_E2E_JOBS          jobs of TestE2EFiveNodes (default 20)
//	DNA_E2E_RESTART_JOBS  jobs of TestE2ERestart, over two rounds (default 6)
//	DNA_E2E_BENCH_JOBS    jobs of BenchmarkDevnetJobs (default 20)
//	DNA_E2E_LOG_LEVEL     the nodes' --log-level (default info)
//	DNA_E2E_LOGS          print the tail of every node's log even when a test passes
//	DNA_E2E_KEEP=DIR      keep the nodes' data directories and logs under DIR
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/bundlestore"
	"github.com/dnahost/dnahost/runtime"
)

// The dnahost binary, built once per test binary.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if localModel != nil {
		localModel.Close(context.Background())
		localModel.Runtime().Close(context.Background())
	}
	if cacheParent != "" {
		os.RemoveAll(cacheParent)
	}
	os.Exit(code)
}

func skipUnsupported(tb testing.TB) {
	tb.Helper()
	if goruntime.GOOS == "windows" {
		tb.Skip("the end-to-end tests signal processes (SIGTERM, SIGKILL); not on windows")
	}
	if testing.Short() {
		tb.Skip("end-to-end tests start real node processes; skipped in -short mode")
	}
}

// dnahostBinary builds cmd/dnahost into a temporary directory once.
func dnahostBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "dnahost-e2e-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "dnahost")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/dnahost/dnahost/cmd/dnahost")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ./cmd/dnahost: %v\n%s", err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: built dnahost in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// The test bundle and a compilation cache shared by every node of every
// cluster in the test binary, compiled once.
var (
	bundleOnce  sync.Once
	testBundle  *bundle.Bundle
	cacheDir    string
	localModel  *runtime.Model
	bundleErr   error
	localMu     sync.Mutex
	cacheParent string
)

func sharedBundle(tb testing.TB) (*bundle.Bundle, string) {
	tb.Helper()
	bundleOnce.Do(func() {
		testBundle, bundleErr = testmodels.SyntheticBundle("tiny", testmodels.Tiny, kernels.F32)
		if bundleErr != nil {
			return
		}
		cacheParent, bundleErr = os.MkdirTemp("", "dnahost-e2e-cache-")
		if bundleErr != nil {
			return
		}
		cacheDir = filepath.Join(cacheParent, "cache")
		// The test keeps this runtime for its own reference runs; loading
		// the bundle fills the cache the nodes start from.
		rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cacheDir})
		if err != nil {
			bundleErr = err
			return
		}
		localModel, bundleErr = rt.Load(context.Background(), testBundle)
	})
	if bundleErr != nil {
		tb.Fatal(bundleErr)
	}
	return testBundle, cacheDir
}

// localRun generates a job's tokens in the test process, as an honest
// compute node does.
func localRun(tb testing.TB, prompt string, maxTokens int, temperature float32, topK int, seed uint64) (*runtime.Result, keys.Hash) {
	tb.Helper()
	sharedBundle(tb)
	localMu.Lock()
	defer localMu.Unlock()
	res, err := localModel.Generate(context.Background(), runtime.Job{Prompt: prompt, MaxTokens: maxTokens,
		Temperature: temperature, TopK: topK, Seed: seed}, runtime.Callbacks{})
	if err != nil {
		tb.Fatal(err)
	}
	return res, consensus.ResultHash(res.Tokens, res.Digest)
}

// envInt reads a positive integer from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// clusterOptions shape a cluster.
type clusterOptions struct {
	Nodes        int
	BlockEvery   time.Duration // the devnet's mean block time, all miners together (default 300 ms)
	CommitWindow time.Duration // 0: the node's default
	RevealWindow time.Duration
	SignWindow   time.Duration
	Behaviors    []string // per node ("" honest)
}

// proc is one dnahost process.
type proc struct {
	i        int
	dir      string
	logPath  string
	quic     string // QUIC address, fixed after the first start
	http     string // HTTP address, fixed after the first start
	address  string // chain account
	behavior string
	mine     bool
	starts   int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	err     error
	stopped bool // stopped by the test (not crashed)
}

// crashed reports a process that exited without the test stopping it.
func (p *proc) crashed() bool {
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	return !stopped && p.exited != nil && !p.running()
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// cluster is a devnet of dnahost processes.
type cluster struct {
	tb     testing.TB
	opt    clusterOptions
	bin    string
	cache  string
	bundle *bundle.Bundle
	root   string // the bundle's root, hex
	nodes  []*proc
	client *http.Client
	start  time.Time
}

// newCluster starts a devnet: node 0 holds the bundle, every node seeds to
// the earlier ones, computes and mines. It stops the processes when the
// test ends and prints the tail of every node's log if the test failed.
func newCluster(tb testing.TB, opt clusterOptions) *cluster {
	tb.Helper()
	skipUnsupported(tb)
	if opt.BlockEvery == 0 {
		opt.BlockEvery = 300 * time.Millisecond
	}
	b, cache := sharedBundle(tb)
	c := &cluster{tb: tb, opt: opt, bin: dnahostBinary(tb), cache: cache, bundle: b, root: b.ID().String(),
		client: &http.Client{Timeout: 20 * time.Second}, start: time.Now()}
	base := tb.TempDir()
	if keep := os.Getenv("DNA_E2E_KEEP"); keep != "" {
		// Keep the nodes' data and logs for a look after the test.
		var err error
		if base, err = os.MkdirTemp(keep, "cluster-"); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("cluster data and logs in %s", base)
	}
	tb.Cleanup(func() {
		c.stopAll()
		if tb.Failed() || os.Getenv("DNA_E2E_LOGS") != "" {
			c.dumpLogs(60)
		}
	})
	for i := range opt.Nodes {
		p := &proc{i: i, dir: filepath.Join(base, fmt.Sprintf("node%d", i)), mine: true}
		p.logPath = filepath.Join(p.dir, "node.log")
		if i < len(opt.Behaviors) {
			p.behavior = opt.Behaviors[i]
		}
		out, err := exec.Command(c.bin, "init", "--datadir", p.dir).CombinedOutput()
		if err != nil {
			tb.Fatalf("dnahost init: %v\n%s", err, out)
		}
		if m := regexp.MustCompile(`address\s+(\S+)`).FindSubmatch(out); m != nil {
			p.address = string(m[1])
		}
		if i == 0 {
			st, err := bundlestore.OpenDir(filepath.Join(p.dir, "bundles"))
			if err != nil {
				tb.Fatal(err)
			}
			if err := st.Put(b); err != nil {
				tb.Fatal(err)
			}
		}
		c.nodes = append(c.nodes, p)
		c.startProc(p)
	}
	for _, p := range c.nodes {
		c.waitHealthy(p, 60*time.Second)
	}
	tb.Logf("cluster of %d nodes up in %s", opt.Nodes, time.Since(c.start).Round(time.Millisecond))
	return c
}

var (
	listenRE = regexp.MustCompile(`msg="node started".* listen=(\S+)`)
	httpRE   = regexp.MustCompile(`msg="http api" addr=http://(\S+)`)
)

// args are a node's command line.
func (c *cluster) args(p *proc) []string {
	var seeds []string
	for _, q := range c.nodes[:p.i] {
		seeds = append(seeds, q.quic)
	}
	quic, httpAddr := p.quic, p.http
	if quic == "" {
		quic, httpAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	a := []string{"run", "--datadir", p.dir, "--net", "devnet", "--listen", quic, "--http", httpAddr,
		"--seeds", strings.Join(seeds, ","), "--compute", "--mine=" + strconv.FormatBool(p.mine),
		"--mine-interval", (time.Duration(c.opt.Nodes) * c.opt.BlockEvery).String(),
		"--miner-threads", "1", "--threads", "1", "--cache-dir", c.cache, "--behavior", p.behavior,
		"--log-level", envOr("DNA_E2E_LOG_LEVEL", "info")}
	for _, w := range []struct {
		flag string
		d    time.Duration
	}{{"--commit-window", c.opt.CommitWindow}, {"--reveal-window", c.opt.RevealWindow}, {"--sign-window", c.opt.SignWindow}} {
		if w.d > 0 {
			a = append(a, w.flag, w.d.String())
		}
	}
	return a
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// startProc starts a node's process; the first start learns its addresses
// from its log, later ones reuse them.
func (c *cluster) startProc(p *proc) {
	c.tb.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.tb.Fatal(err)
	}
	p.starts++
	fmt.Fprintf(logf, "=== e2e: start %d of node %d at %s (behavior %q, mine %v)\n", p.starts, p.i,
		time.Now().Format("15:04:05.000"), p.behavior, p.mine)
	var offset int64
	if st, err := logf.Stat(); err == nil {
		offset = st.Size()
	}
	cmd := exec.Command(c.bin, c.args(p)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.tb.Fatal(err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.err, p.stopped = cmd, exited, nil, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	if p.quic != "" {
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(p.logPath)
		if int64(len(b)) > offset {
			b = b[offset:]
		}
		lm, hm := listenRE.FindSubmatch(b), httpRE.FindSubmatch(b)
		if lm != nil && hm != nil {
			p.quic, p.http = string(lm[1]), string(hm[1])
			return
		}
		select {
		case <-exited:
			c.tb.Fatalf("node %d exited at start: %v\n%s", p.i, p.err, tail(p.logPath, 30))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("node %d: no listen addresses in its log in time\n%s", p.i, tail(p.logPath, 30))
		}
	}
}

func (c *cluster) waitHealthy(p *proc, limit time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		if !p.running() {
			c.tb.Fatalf("node %d exited: %v\n%s", p.i, p.err, tail(p.logPath, 30))
		}
		resp, err := c.client.Get("http://" + p.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("node %d not healthy in %s", p.i, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.address == "" {
		var info nodeInfo
		if err := c.get(p.i, "/api/node", &info); err != nil {
			c.tb.Fatal(err)
		}
		p.address = info.Address
	}
}

// signal sends sig to node i and waits for it to exit (SIGKILL after
// 15 s for a SIGTERM that is not obeyed).
func (c *cluster) signal(i int, sig syscall.Signal) {
	c.tb.Helper()
	p := c.nodes[i]
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.stopped = true
	p.mu.Unlock()
	if cmd == nil || !p.running() {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		c.tb.Errorf("node %d ignored %v for 15 s; killing it", i, sig)
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Kill SIGKILLs node i.
func (c *cluster) Kill(i int) { c.signal(i, syscall.SIGKILL) }

// Stop stops node i with SIGTERM (a clean shutdown).
func (c *cluster) Stop(i int) { c.signal(i, syscall.SIGTERM) }

// Start starts a stopped node i again, with its addresses, and waits
// until it serves.
func (c *cluster) Start(i int) {
	c.tb.Helper()
	p := c.nodes[i]
	if p.running() {
		c.tb.Fatalf("node %d is running", i)
	}
	c.startProc(p)
	c.waitHealthy(p, 60*time.Second)
}

// Restart stops node i (SIGTERM) and starts it with a behavior.
func (c *cluster) Restart(i int, behavior string) {
	c.tb.Helper()
	c.Stop(i)
	c.nodes[i].behavior = behavior
	c.Start(i)
}

func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.signal(i, syscall.SIGTERM)
		}()
	}
	wg.Wait()
}

func (c *cluster) dumpLogs(lines int) {
	for _, p := range c.nodes {
		c.tb.Logf("---- node %d (%s) log tail: %s\n%s", p.i, p.address, p.logPath, tail(p.logPath, lines))
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var ring []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ring = append(ring, sc.Text())
		if len(ring) > n {
			ring = ring[1:]
		}
	}
	return strings.Join(ring, "\n")
}

// HTTP.

type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (c *cluster) url(i int, path string) string { return "http://" + c.nodes[i].http + path }

func (c *cluster) do(req *http.Request, out any) error {
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &apiError{resp.StatusCode, strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

func (c *cluster) get(i int, path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, c.url(i, path), nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

func (c *cluster) post(i int, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, c.url(i, path), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

// jobRequest is the body of POST /api/jobs.
type jobRequest struct {
	Bundle      string  `json:"bundle,omitempty"`
	Model       string  `json:"model,omitempty"`
	Prompt      string  `json:"prompt"`
	MaxTokens   int     `json:"max_tokens"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k,omitempty"`
	Seed        uint64  `json:"seed"`
	Replication int     `json:"replication"`
	DeadlineS   float64 `json:"deadline_s,omitempty"`
}

// jobView is a job record as the API serves it.
type jobView struct {
	ID           string `json:"id"`
	Stage        string `json:"stage"`
	Coordinator  string `json:"coordinator"`
	Coordinating bool   `json:"coordinating"`
	Params       *struct {
		MaxTokens   uint32  `json:"max_tokens"`
		Temperature float32 `json:"temperature"`
		TopK        uint32  `json:"top_k"`
		Seed        uint64  `json:"seed"`
		Replication uint8   `json:"replication"`
		Reward      uint64  `json:"reward"`
		MinStake    uint64  `json:"min_stake"`
		Deadline    int64   `json:"deadline"`
		Client      string  `json:"client"`
	} `json:"params"`
	Prompt      string          `json:"prompt"`
	Text        string          `json:"text"`
	Tokens      []int32         `json:"tokens"`
	Result      string          `json:"result"`
	Rule        string          `json:"rule"`
	Reason      string          `json:"reason"`
	ResultTx    string          `json:"result_tx"`
	BlockHash   string          `json:"block_hash"`
	BlockHeight uint64          `json:"block_height"`
	Received    int64           `json:"received"`
	AcceptedAt  int64           `json:"accepted_at"`
	DecidedAt   int64           `json:"decided_at"`
	RecordedAt  int64           `json:"recorded_at"`
	ClosedAt    int64           `json:"closed_at"`
	History     []node.Event    `json:"history"`
	Nodes       []node.NodeView `json:"nodes"`
	Local       *struct {
		Staked     bool    `json:"staked"`
		Computed   bool    `json:"computed"`
		Tokens     []int32 `json:"tokens"`
		Digest     string  `json:"digest"`
		ComputeMs  float64 `json:"compute_ms"`
		Committed  bool    `json:"committed"`
		Revealed   bool    `json:"revealed"`
		CertSigned bool    `json:"cert_signed"`
		Dropped    bool    `json:"dropped"`
	} `json:"local"`
}

func (j *jobView) final() bool {
	return node.Stage(j.Stage).Final()
}

// view returns the node view of an account.
func (j *jobView) view(address string) *node.NodeView {
	for i := range j.Nodes {
		if j.Nodes[i].Address == address {
			return &j.Nodes[i]
		}
	}
	return nil
}

// localResult is the result hash of this node's own computation.
func (j *jobView) localResult() (keys.Hash, bool) {
	if j.Local == nil || !j.Local.Computed {
		return keys.Hash{}, false
	}
	d, err := keys.ParseHash(j.Local.Digest)
	if err != nil {
		return keys.Hash{}, false
	}
	return consensus.ResultHash(j.Local.Tokens, d), true
}

// computeMs is this node's compute time for the job.
func (j *jobView) computeMs() float64 {
	if j.Local == nil {
		return 0
	}
	return j.Local.ComputeMs
}

// stageAt is when the record entered a stage (zero if it did not).
func (j *jobView) stageAt(s node.Stage) time.Time {
	for _, e := range j.History {
		if e.Stage == s {
			return e.Time
		}
	}
	return time.Time{}
}

// eventAt is the first history entry whose text starts with prefix.
func (j *jobView) eventAt(prefix string) (node.Event, bool) {
	for _, e := range j.History {
		if strings.HasPrefix(e.What, prefix) {
			return e, true
		}
	}
	return node.Event{}, false
}

func (j *jobView) historyString() string {
	var sb strings.Builder
	for _, e := range j.History {
		st := string(e.Stage)
		if st == "" {
			st = "·"
		}
		fmt.Fprintf(&sb, "  %s %-10s %s\n", e.Time.Format("15:04:05.000"), st, e.What)
	}
	return sb.String()
}

type nodeInfo struct {
	Address string `json:"address"`
	Key     string `json:"key"`
	Balance uint64 `json:"balance"`
	Height  uint64 `json:"height"`
	Peers   int    `json:"peers"`
}

type chainInfo struct {
	Tip struct {
		Height uint64 `json:"height"`
		Hash   string `json:"hash"`
	} `json:"tip"`
	Supply struct {
		Minted uint64 `json:"minted"`
		Burned uint64 `json:"burned"`
	} `json:"supply"`
	Jobs struct {
		Chain map[string]int `json:"chain"`
		Node  map[string]int `json:"node"`
	} `json:"jobs"`
}

type blockView struct {
	BestChain    bool `json:"best_chain"`
	Transactions []struct {
		ID     string         `json:"id"`
		Type   string         `json:"type"`
		Sender string         `json:"sender"`
		Job    string         `json:"job"`
		Body   map[string]any `json:"body"`
	} `json:"transactions"`
}

// Submit posts a job to node i.
func (c *cluster) Submit(i int, req jobRequest) (*jobView, error) {
	if req.Bundle == "" && req.Model == "" {
		req.Bundle = c.root
	}
	var v jobView
	if err := c.post(i, "/api/jobs", req, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// SubmitWhenFunded submits a job to node i, retrying while the node cannot
// pay the escrow yet (its mined blocks fund it) or has not heard of the
// bundle yet.
func (c *cluster) SubmitWhenFunded(i int, req jobRequest, limit time.Duration) *jobView {
	c.tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		v, err := c.Submit(i, req)
		if err == nil {
			return v
		}
		var ae *apiError
		retry := errors.As(err, &ae) && (ae.Status == http.StatusPaymentRequired || ae.Status == http.StatusNotFound ||
			ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable)
		if !retry || time.Now().After(deadline) {
			c.tb.Fatalf("submit to node %d: %v", i, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// WaitFunds waits until every node's account holds at least min.
func (c *cluster) WaitFunds(least uint64, limit time.Duration) {
	c.tb.Helper()
	c.waitFor(limit, fmt.Sprintf("every node to hold %d", least), func() bool {
		for i, p := range c.nodes {
			if !p.mine {
				continue
			}
			var info nodeInfo
			if c.get(i, "/api/node", &info) != nil || info.Balance < least {
				return false
			}
		}
		return true
	})
}

// WaitBundle waits until node i holds or has heard of the test bundle.
func (c *cluster) WaitBundle(i int, limit time.Duration) {
	c.tb.Helper()
	c.waitFor(limit, fmt.Sprintf("node %d to know the bundle", i), func() bool {
		var out struct {
			Bundles []struct {
				Root  string `json:"root"`
				Held  bool   `json:"held"`
				Peers int    `json:"peers"`
			} `json:"bundles"`
		}
		if c.get(i, "/api/bundles", &out) != nil {
			return false
		}
		for _, b := range out.Bundles {
			if b.Root == c.root && (b.Held || b.Peers > 0) {
				return true
			}
		}
		return false
	})
}

// Job reads job id's record on node i.
func (c *cluster) Job(i int, id string) (*jobView, error) {
	var v jobView
	if err := c.get(i, "/api/jobs/"+id, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func (c *cluster) NodeInfo(i int) nodeInfo {
	c.tb.Helper()
	var info nodeInfo
	if err := c.get(i, "/api/node", &info); err != nil {
		c.tb.Fatalf("node %d: %v", i, err)
	}
	return info
}

func (c *cluster) Chain(i int) (chainInfo, error) {
	var ci chainInfo
	err := c.get(i, "/api/chain?blocks=0", &ci)
	return ci, err
}

// WaitFinal waits until node i's record of each job is final and returns
// the records.
func (c *cluster) WaitFinal(i int, ids []string, limit time.Duration) map[string]*jobView {
	c.tb.Helper()
	out := map[string]*jobView{}
	deadline := time.Now().Add(limit)
	for {
		for _, id := range ids {
			if out[id] != nil {
				continue
			}
			if v, err := c.Job(i, id); err == nil && v.final() {
				out[id] = v
			}
		}
		if len(out) == len(ids) {
			return out
		}
		c.checkAlive()
		if time.Now().After(deadline) {
			for _, id := range ids {
				if out[id] == nil {
					if v, err := c.Job(i, id); err == nil {
						c.tb.Logf("job %s on node %d stuck at %s:\n%s", id[:12], i, v.Stage, v.historyString())
					} else {
						c.tb.Logf("job %s on node %d: %v", id[:12], i, err)
					}
				}
			}
			c.tb.Fatalf("%d of %d jobs final on node %d after %s", len(out), len(ids), i, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// WaitSynced waits until every running node reports the same tip.
func (c *cluster) WaitSynced(limit time.Duration) chainInfo {
	c.tb.Helper()
	var last chainInfo
	c.waitFor(limit, "every node on the same tip", func() bool {
		hash := ""
		for i, p := range c.nodes {
			p.mu.Lock()
			stopped := p.stopped
			p.mu.Unlock()
			if stopped {
				continue
			}
			ci, err := c.Chain(i)
			if err != nil {
				return false
			}
			if hash != "" && ci.Tip.Hash != hash {
				return false
			}
			hash, last = ci.Tip.Hash, ci
		}
		return true
	})
	return last
}

// checkAlive fails the test if a node exited without being told to.
func (c *cluster) checkAlive() {
	c.tb.Helper()
	for _, p := range c.nodes {
		if p.crashed() {
			c.tb.Fatalf("node %d exited on its own: %v\n%s", p.i, p.err, tail(p.logPath, 40))
		}
	}
}

func (c *cluster) waitFor(limit time.Duration, what string, ok func() bool) {
	c.tb.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		c.checkAlive()
		if time.Now().After(deadline) {
			c.tb.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openChain opens a stopped node's chain store.
func openChain(tb testing.TB, dir string) *chain.Chain {
	tb.Helper()
	ch, err := chain.Open(chain.Options{Params: &chain.DevNet, Dir: filepath.Join(dir, "chain", chain.DevNet.Name)})
	if err != nil {
		tb.Fatalf("open chain of %s: %v", dir, err)
	}
	return ch
}
