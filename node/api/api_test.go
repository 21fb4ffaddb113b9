package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/proto"
	"github.com/dnahost/dnahost/runtime"
)

const testKey = "test-key-1"

// fixture is one in-process devnet shared by every test: two computing,
// mining nodes and a third that mines but does not compute, with a
// synthetic bundle published through node 0's API.
//
// Every job asks for replication 2, so both computing nodes stake on each:
// a node that loses a stake race for a job (replication below the number
// of computing nodes) keeps its failed stake transaction pending, and no
// later transaction of its account gets into a block.
type fixture struct {
	nodes   []*node.Node
	dirs    []string
	bundle  *bundle.Bundle
	model   string           // the bundle's manifest name
	srv     *httptest.Server // node 0's API, with testKey
	srv2    *httptest.Server // node 2's API (it does not compute), with testKey
	open    *httptest.Server // node 0's API without keys (loopback only)
	handler http.Handler     // node 0's API without keys, for requests from elsewhere
	publish bundleJSON       // POST /api/bundles's answer
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.close()
	}
	os.Exit(code)
}

func cluster(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = startFixture() })
	if fixErr != nil {
		t.Fatalf("cluster: %v", fixErr)
	}
	return fix
}

func (f *fixture) close() {
	if f.srv != nil {
		f.srv.Close()
	}
	if f.open != nil {
		f.open.Close()
	}
	if f.srv2 != nil {
		f.srv2.Close()
	}
	for _, n := range f.nodes {
		n.Close()
	}
	for _, d := range f.dirs {
		os.RemoveAll(d)
	}
}

func startFixture() (f *fixture, err error) {
	f = &fixture{}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	b, err := testmodels.SyntheticBundle("tiny", testmodels.Tiny, kernels.F32)
	if err != nil {
		return nil, err
	}
	f.bundle, f.model = b, b.Manifest().Name
	tmp := func() (string, error) {
		d, err := os.MkdirTemp("", "dna-api-test-")
		if err == nil {
			f.dirs = append(f.dirs, d)
		}
		return d, err
	}
	// Compile once into a cache the nodes share, as nodes on one machine do.
	cache, err := tmp()
	if err != nil {
		return nil, err
	}
	rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cache})
	if err != nil {
		return nil, err
	}
	md, err := rt.Load(context.Background(), b)
	if err != nil {
		return nil, err
	}
	md.Close(context.Background())
	rt.Close(context.Background())

	var seeds []string
	for i := range 3 {
		dir, err := tmp()
		if err != nil {
			return nil, err
		}
		if _, _, err := node.Init(dir); err != nil {
			return nil, err
		}
		var log *slog.Logger
		if os.Getenv("DNA_NODE_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
		}
		n, err := node.New(node.Config{DataDir: dir, Listen: "127.0.0.1:0", Seeds: seeds, Compute: i < 2, Mine: true,
			MineInterval: 400 * time.Millisecond, MinerThreads: 1, Threads: 1, CacheDir: cache, Logger: log})
		if err != nil {
			return nil, err
		}
		if err := n.Start(context.Background()); err != nil {
			n.Close()
			return nil, err
		}
		f.nodes = append(f.nodes, n)
		seeds = append(seeds, n.Net().Addr().String())
	}
	cfg := Config{APIKeys: []string{testKey, "another-key"}, DecideTimeout: 90 * time.Second, Heartbeat: time.Second}
	f.srv = httptest.NewServer(New(f.nodes[0], cfg))
	f.srv2 = httptest.NewServer(New(f.nodes[2], cfg))
	f.handler = New(f.nodes[0], Config{DecideTimeout: 90 * time.Second, Heartbeat: time.Second})
	f.open = httptest.NewServer(f.handler)

	// Publish through the API, as dna publish does.
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/bundles", &buf)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("publish: %s: %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &f.publish); err != nil {
		return nil, err
	}
	// Funds to pay for jobs and stake, and the bundle known everywhere.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := true
		for _, n := range f.nodes {
			// Funded in its own chain and in node 0's, which checks the
			// client-signed escrow.
			a, err := n.Chain().Account(n.Account())
			ready = ready && err == nil && a.Balance >= 5*chain.Coin
			a, err = f.nodes[0].Chain().Account(n.Account())
			ready = ready && err == nil && a.Balance >= 5*chain.Coin
			ready = ready && slices.ContainsFunc(n.KnownBundles(), func(v node.BundleView) bool { return v.Root == b.ID() })
		}
		if ready {
			return f, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("nodes not funded or bundle not announced within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// call makes a request (body: nil, []byte or a value to encode as JSON)
// and decodes a JSON answer into out when out is not nil.
func call(t *testing.T, base, method, path, key string, body any, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode, b
}

// wantError checks an error response's status and shape.
func wantError(t *testing.T, what string, status int, body []byte, want int, wantType string) {
	t.Helper()
	if status != want {
		t.Errorf("%s: status %d, want %d: %s", what, status, want, body)
		return
	}
	var e struct {
		Error struct {
			Message, Type string
		}
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("%s: not a JSON error: %s", what, body)
		return
	}
	if wantType != "" && e.Error.Type != wantType {
		t.Errorf("%s: error type %q, want %q", what, e.Error.Type, wantType)
	}
}

type sseEvent struct{ name, id, data string }

// readSSE calls fn for every event of a stream until it returns false or
// the stream ends; it returns the comment lines seen.
func readSSE(t *testing.T, r io.Reader, fn func(sseEvent) bool) int {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var ev sseEvent
	var data []string
	comments := 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 {
				ev.data = strings.Join(data, "\n")
				if !fn(ev) {
					return comments
				}
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			comments++
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		default:
			t.Errorf("unexpected stream line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("reading the stream: %v", err)
	}
	return comments
}

func openStream(t *testing.T, method, url, key string, body any, header http.Header) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := (&http.Client{Timeout: 3 * time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	return resp
}

func TestAPI(t *testing.T) {
	f := cluster(t)
	base := f.srv.URL
	root := f.bundle.ID().String()

	t.Run("publish", func(t *testing.T) {
		if f.publish.Root != root || f.publish.Name != f.model || !f.publish.Held || f.publish.Size != f.bundle.Size() {
			t.Fatalf("publish answered %+v", f.publish)
		}
		status, body := call(t, base, "POST", "/api/bundles", testKey, "not a bundle", nil)
		wantError(t, "garbage bundle", status, body, 400, "invalid_request_error")
		status, body = call(t, base, "POST", "/api/bundles", "", "not a bundle", nil)
		wantError(t, "bundle without key", status, body, 401, "authentication_error")
	})

	t.Run("read", func(t *testing.T) {
		var info struct {
			ID, Address, Net string
			Balance          uint64
			Peers            int
			UptimeS          float64 `json:"uptime_s"`
			API              struct{ Auth string }
		}
		if status, body := call(t, base, "GET", "/api/node", "", nil, &info); status != 200 {
			t.Fatalf("node: %d %s", status, body)
		}
		if info.ID != f.nodes[0].ID().String() || info.Address != f.nodes[0].Address(f.nodes[0].Account()) ||
			info.Balance == 0 || info.Net != "devnet" || info.API.Auth != "api-key" || info.UptimeS <= 0 {
			t.Errorf("node info %+v", info)
		}
		var ch struct {
			Tip struct {
				Height uint64
				Hash   string
			}
			Supply struct{ Minted uint64 }
			Blocks []blockSummary
			Jobs   struct{ Chain, Node map[string]int }
		}
		if status, body := call(t, base, "GET", "/api/chain?blocks=3", "", nil, &ch); status != 200 {
			t.Fatalf("chain: %d %s", status, body)
		}
		if ch.Tip.Height == 0 || len(ch.Blocks) != 3 || ch.Blocks[0].Txs < 1 || ch.Supply.Minted == 0 ||
			ch.Blocks[0].Height <= ch.Blocks[1].Height || ch.Blocks[0].Miner == "" {
			t.Errorf("chain %+v", ch)
		}
		var blk struct {
			Block        blockSummary
			BestChain    bool `json:"best_chain"`
			Transactions []struct{ ID, Type string }
		}
		if status, body := call(t, base, "GET", "/api/blocks/1", "", nil, &blk); status != 200 {
			t.Fatalf("block 1: %d %s", status, body)
		}
		if blk.Block.Height != 1 || !blk.BestChain || len(blk.Transactions) == 0 || blk.Transactions[0].Type != "coinbase" {
			t.Errorf("block 1: %+v", blk)
		}
		var again struct{ Block blockSummary }
		call(t, base, "GET", "/api/blocks/"+blk.Block.Hash, "", nil, &again)
		if again.Block.Hash != blk.Block.Hash || again.Block.Height != 1 {
			t.Errorf("block by hash: %+v", again.Block)
		}
		var peers struct {
			Peers []struct{ ID, Addr string }
		}
		call(t, base, "GET", "/api/peers", "", nil, &peers)
		if len(peers.Peers) != 2 || !slices.ContainsFunc(peers.Peers, func(p struct{ ID, Addr string }) bool { return p.ID == f.nodes[1].ID().String() }) {
			t.Errorf("peers %+v", peers)
		}
		var bundles struct{ Bundles []bundleJSON }
		call(t, base, "GET", "/api/bundles", "", nil, &bundles)
		if len(bundles.Bundles) != 1 || bundles.Bundles[0].Root != root || !bundles.Bundles[0].Held {
			t.Errorf("bundles %+v", bundles)
		}
		var models struct {
			Object string
			Data   []oaModel
		}
		call(t, base, "GET", "/v1/models", "", nil, &models)
		if models.Object != "list" || len(models.Data) != 1 || models.Data[0].ID != f.model || models.Data[0].Root != root {
			t.Errorf("models %+v", models)
		}
		var m oaModel
		call(t, base, "GET", "/v1/models/"+f.model, "", nil, &m)
		if m.ID != f.model || m.Object != "model" {
			t.Errorf("model %+v", m)
		}
		var jobs struct {
			Jobs   []jobJSON
			Counts map[string]int
		}
		if status, body := call(t, base, "GET", "/api/jobs?limit=5", "", nil, &jobs); status != 200 || jobs.Jobs == nil {
			t.Errorf("jobs: %d %s", status, body)
		}
	})

	t.Run("auth", func(t *testing.T) {
		job := map[string]any{"model": f.model, "prompt": "hi", "max_tokens": 2}
		comp := map[string]any{"model": f.model, "prompt": "hi", "max_tokens": 2}
		chat := map[string]any{"model": f.model, "messages": []map[string]string{{"role": "user", "content": "hi"}}}
		for _, c := range []struct {
			path, key string
			body      any
		}{
			{"/api/jobs", "", job}, {"/api/jobs", "wrong", job}, {"/v1/completions", "", comp},
			{"/v1/completions", "wrong", comp}, {"/v1/chat/completions", "", chat}, {"/v1/chat/completions", testKey + "x", chat},
			{"/api/bundles", "", "x"},
		} {
			status, body := call(t, base, "POST", c.path, c.key, c.body, nil)
			wantError(t, "POST "+c.path+" key "+c.key, status, body, 401, "authentication_error")
		}
		// Without keys: loopback clients pass (and meet the bad body).
		status, body := call(t, f.open.URL, "POST", "/api/jobs", "", map[string]any{"model": f.model}, nil)
		wantError(t, "loopback without keys", status, body, 400, "invalid_request_error")
		// Anyone else, or anyone through a proxy, does not.
		for _, hdr := range []string{"", "X-Forwarded-For"} {
			req := httptest.NewRequest("POST", "/api/jobs", strings.NewReader(`{}`))
			if hdr == "" {
				req.RemoteAddr = "192.0.2.7:4000"
			} else {
				req.RemoteAddr = "127.0.0.1:4000"
				req.Header.Set(hdr, "192.0.2.7")
			}
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			wantError(t, "remote without keys "+hdr, rec.Code, rec.Body.Bytes(), 403, "permission_error")
		}
		// Client-paid jobs need no key.
		status, body = call(t, base, "POST", "/api/jobs/signed", "", map[string]string{"job": "AAAA", "escrow": "AAAA"}, nil)
		wantError(t, "signed job without key", status, body, 400, "invalid_request_error")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			what, path string
			body       any
		}{
			{"bad JSON", "/api/jobs", "{"},
			{"empty body", "/api/jobs", ""},
			{"unknown field", "/api/jobs", map[string]any{"model": f.model, "promt": "x"}},
			{"trailing data", "/api/jobs", `{"model":"` + f.model + `","prompt":"x"} {}`},
			{"no model", "/api/jobs", map[string]any{"prompt": "x"}},
			{"empty prompt", "/api/jobs", map[string]any{"model": f.model}},
			{"max tokens", "/api/jobs", map[string]any{"model": f.model, "prompt": "x", "max_tokens": 5000}},
			{"replication", "/api/jobs", map[string]any{"model": f.model, "prompt": "x", "replication": 999}},
			{"temperature", "/api/jobs", map[string]any{"model": f.model, "prompt": "x", "temperature": -1}},
			{"verify", "/api/jobs", map[string]any{"model": f.model, "prompt": "x", "verify": "maybe"}},
			{"bundle root", "/api/jobs", map[string]any{"bundle": "xyz", "prompt": "x"}},
			{"model and bundle differ", "/api/jobs", map[string]any{"bundle": root, "model": strings.Repeat("ab", 32), "prompt": "x"}},
			{"completion without prompt", "/v1/completions", map[string]any{"model": f.model}},
			{"completion token prompt", "/v1/completions", map[string]any{"model": f.model, "prompt": []int{1, 2}}},
			{"completion n", "/v1/completions", map[string]any{"model": f.model, "prompt": "x", "n": 2}},
			{"completion no model", "/v1/completions", map[string]any{"prompt": "x"}},
			{"completion max tokens 0", "/v1/completions", map[string]any{"model": f.model, "prompt": "x", "max_tokens": 0}},
			{"completion replication 0", "/v1/completions", map[string]any{"model": f.model, "prompt": "x", "replication": 0}},
			{"completion seed", "/v1/completions", map[string]any{"model": f.model, "prompt": "x", "seed": 1.5}},
			{"chat no messages", "/v1/chat/completions", map[string]any{"model": f.model, "messages": []any{}}},
			{"chat role", "/v1/chat/completions", map[string]any{"model": f.model, "messages": []map[string]string{{"role": "wizard", "content": "x"}}}},
			{"chat image", "/v1/chat/completions", map[string]any{"model": f.model, "messages": []map[string]any{
				{"role": "user", "content": []map[string]any{{"type": "image_url", "image_url": map[string]string{"url": "x"}}}}}}},
			{"signed not base64", "/api/jobs/signed", map[string]string{"job": "!!", "escrow": "!!"}},
			{"signed garbage", "/api/jobs/signed", map[string]string{"job": "AAECAw==", "escrow": "AAECAw=="}},
		} {
			status, body := call(t, base, "POST", c.path, testKey, c.body, nil)
			wantError(t, c.what, status, body, 400, "invalid_request_error")
		}
		big := `{"model":"` + f.model + `","prompt":"` + strings.Repeat("a", maxJSONBytes) + `"}`
		status, body := call(t, base, "POST", "/api/jobs", testKey, big, nil)
		wantError(t, "body over the limit", status, body, 413, "")
		for _, c := range []struct {
			path string
			want int
		}{
			{"/api/jobs/xyz", 400}, {"/api/jobs/" + strings.Repeat("0", 64), 404}, {"/api/jobs/" + strings.Repeat("0", 64) + "/events", 404},
			{"/api/jobs?limit=0", 400}, {"/api/jobs?limit=x", 400}, {"/api/chain?blocks=1000", 400},
			{"/api/blocks/xyz", 400}, {"/api/blocks/99999999", 404}, {"/api/blocks/" + strings.Repeat("ab", 32), 404},
			{"/api/nothing", 404}, {"/v1/nothing", 404},
		} {
			status, body := call(t, base, "GET", c.path, "", nil, nil)
			wantError(t, "GET "+c.path, status, body, c.want, "")
		}
		status, body = call(t, base, "DELETE", "/api/jobs", testKey, nil, nil)
		wantError(t, "DELETE /api/jobs", status, body, 405, "")
	})

	t.Run("unknown model", func(t *testing.T) {
		for _, c := range []struct {
			path string
			body any
		}{
			{"/v1/completions", map[string]any{"model": "no-such-model", "prompt": "x"}},
			{"/v1/chat/completions", map[string]any{"model": "no-such-model", "messages": []map[string]string{{"role": "user", "content": "x"}}}},
			{"/v1/completions", map[string]any{"model": strings.Repeat("ab", 32), "prompt": "x"}},
			{"/api/jobs", map[string]any{"model": "no-such-model", "prompt": "x"}},
			{"/api/jobs", map[string]any{"bundle": strings.Repeat("ab", 32), "prompt": "x"}},
		} {
			status, body := call(t, base, "POST", c.path, testKey, c.body, nil)
			wantError(t, "unknown model at "+c.path, status, body, 404, "not_found_error")
		}
		status, body := call(t, base, "GET", "/v1/models/no-such-model", "", nil, nil)
		wantError(t, "GET unknown model", status, body, 404, "not_found_error")
	})

	t.Run("signed job", func(t *testing.T) { testSignedJob(t, f) })

	// Jobs run at once; each waits for its decision (the event stream for
	// settlement).
	t.Run("jobs", func(t *testing.T) {
		t.Run("events", func(t *testing.T) { t.Parallel(); testJobEvents(t, f) })
		t.Run("completion", func(t *testing.T) { t.Parallel(); testCompletion(t, f, false) })
		t.Run("completion stream", func(t *testing.T) { t.Parallel(); testCompletionStream(t, f, f.srv.URL, false) })
		t.Run("chat", func(t *testing.T) { t.Parallel(); testCompletion(t, f, true) })
		t.Run("chat stream", func(t *testing.T) { t.Parallel(); testCompletionStream(t, f, f.srv.URL, true) })
		// A node that does not compute streams the decided text.
		t.Run("chat stream elsewhere", func(t *testing.T) { t.Parallel(); testCompletionStream(t, f, f.srv2.URL, true) })
	})
}

// testSignedJob submits a job signed and paid for by node 1's key through
// node 0, which coordinates it.
func testSignedJob(t *testing.T, f *fixture) {
	base := f.srv.URL
	key, err := keys.ReadKeyFile(filepath.Join(f.nodes[1].Config().DataDir, node.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := f.nodes[0].Chain()
	acct, err := c.Account(key.Public().Address())
	if err != nil {
		t.Fatal(err)
	}
	j := &proto.Job{Bundle: f.bundle.ID(), Prompt: "signed by the client", MaxTokens: 3, Replication: 2, Reward: chain.Coin / 2,
		MinStake: chain.Coin / 10, Deadline: c.MedianTimePast() + (2 * time.Minute).Milliseconds(), Created: time.Now().UnixNano()}
	j.Sign(key)
	escrow := func(id keys.Hash) []byte {
		e := j.Escrow()
		tx := &chain.Tx{Version: chain.TxVersion, Type: chain.TxJobEscrow, Nonce: acct.Nonce, Fee: 1000, JobID: id, Payload: e.Encode()}
		tx.Sign(key, c.GenesisHash())
		return tx.Encode()
	}
	b64 := base64.StdEncoding.EncodeToString
	// An escrow of another job is refused.
	status, body := call(t, base, "POST", "/api/jobs/signed", "", map[string]string{"job": b64(j.Encode()),
		"escrow": b64(escrow(keys.SHA256([]byte("another job"))))}, nil)
	wantError(t, "mismatched escrow", status, body, 400, "invalid_request_error")

	var rec jobJSON
	status, body = call(t, base, "POST", "/api/jobs/signed", "", map[string]string{"job": b64(j.Encode()), "escrow": b64(escrow(j.ID()))}, &rec)
	if status != http.StatusAccepted {
		t.Fatalf("signed job: %d %s", status, body)
	}
	if rec.ID != j.ID().String() || !rec.Coordinating || rec.Params == nil || rec.Params.Client != f.nodes[1].Address(key.Public().Address()) {
		t.Fatalf("signed job record %+v", rec)
	}
	// Let the escrow reach a block before other jobs make node 1 send
	// transactions from the same account.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r jobJSON
		call(t, base, "GET", "/api/jobs/"+rec.ID, "", nil, &r)
		if r.Stage != node.StageSubmitted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the signed job's escrow is not in a block after 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var stageOrder = []node.Stage{node.StageSubmitted, node.StageEscrowed, node.StageAccepted, node.StageCommitted,
	node.StageRevealed, node.StageDecided, node.StageRecorded, node.StageSettled}

// testJobEvents submits through /api/jobs and follows the event stream to
// settlement.
func testJobEvents(t *testing.T, f *fixture) {
	base := f.srv.URL
	var rec jobJSON
	status, body := call(t, base, "POST", "/api/jobs", testKey, map[string]any{"model": f.model, "prompt": "Once upon a time",
		"max_tokens": 6, "replication": 2, "seed": 7, "temperature": 0.5}, &rec)
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	if len(rec.ID) != 64 || rec.Stage != node.StageSubmitted || !rec.Coordinating || rec.Params == nil ||
		rec.Params.Replication != 2 || rec.Params.MaxTokens != 6 || rec.Params.Seed != 7 || len(rec.History) == 0 {
		t.Fatalf("submitted record %+v", rec)
	}
	resp := openStream(t, "GET", base+"/api/jobs/"+rec.ID+"/events", "", nil, nil)
	defer resp.Body.Close()
	var stages []node.Stage
	var decided *decidedEvent
	var final *jobJSON
	tokens, lastID, afterFinal := 0, -1, 0
	readSSE(t, resp.Body, func(ev sseEvent) bool {
		if final != nil {
			afterFinal++
		}
		switch ev.name {
		case "stage":
			var s stageEvent
			if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
				t.Fatalf("stage event %q: %v", ev.data, err)
			}
			if ev.id != fmt.Sprint(lastID+1) {
				t.Errorf("stage event id %s after %d", ev.id, lastID)
			}
			fmt.Sscan(ev.id, &lastID)
			if s.Event.Stage != "" {
				stages = append(stages, s.Event.Stage)
			}
			if s.Job != rec.ID || (s.Event.Stage != "" && s.Stage != s.Event.Stage) {
				t.Errorf("stage event %+v", s)
			}
		case "token":
			var tk tokenEvent
			if err := json.Unmarshal([]byte(ev.data), &tk); err != nil || tk.Index != tokens {
				t.Errorf("token event %q (want index %d)", ev.data, tokens)
			}
			tokens++
		case "decided":
			decided = &decidedEvent{}
			json.Unmarshal([]byte(ev.data), decided)
			if len(stages) == 0 || stages[len(stages)-1] != node.StageDecided {
				t.Errorf("decided event after stages %v", stages)
			}
		case "final":
			final = &jobJSON{}
			json.Unmarshal([]byte(ev.data), final)
		default:
			t.Errorf("event type %q", ev.name)
		}
		return true
	})
	if !slices.Equal(stages, stageOrder) {
		t.Errorf("stages %v, want %v", stages, stageOrder)
	}
	if decided == nil || decided.Text == "" || decided.Tokens != 6 || decided.Agree != 2 || len(decided.Result) != 64 {
		t.Errorf("decided event %+v", decided)
	}
	if final == nil || final.Stage != node.StageSettled || final.Text != decided.Text || len(final.History) != lastID+1 ||
		len(final.Nodes) != 2 || final.BlockHeight == 0 || afterFinal != 0 {
		t.Errorf("final event %+v (%d events after it)", final, afterFinal)
	}
	// Both nodes stake on a job of replication 2, so node 0 computed it
	// and streamed its tokens.
	if tokens == 0 {
		t.Error("no token events")
	}
	// Reconnecting after entry 3 replays from entry 4.
	resp2 := openStream(t, "GET", base+"/api/jobs/"+rec.ID+"/events", "", nil, http.Header{"Last-Event-Id": {"3"}})
	defer resp2.Body.Close()
	first, n := "", 0
	readSSE(t, resp2.Body, func(ev sseEvent) bool {
		if ev.name == "stage" && first == "" {
			first = ev.id
		}
		n++
		return true
	})
	if first != "4" {
		t.Errorf("resumed stream starts at %q", first)
	}
	var full jobJSON
	call(t, base, "GET", "/api/jobs/"+rec.ID, "", nil, &full)
	if full.Stage != node.StageSettled || full.Text != decided.Text || full.Local == nil || !full.Local.Computed {
		t.Errorf("record %+v", full)
	}
}

type oaChunk struct {
	ID, Object, Model string
	Choices           []struct {
		Index        int
		Text         *string
		Delta        *struct{ Role, Content *string }
		FinishReason *string `json:"finish_reason"`
	}
	Usage *oaUsage
	Error *struct{ Message, Type string }
}

func completionBody(f *fixture, chat bool, stream bool) map[string]any {
	b := map[string]any{"model": f.model, "max_tokens": 8, "temperature": 0, "replication": 2, "top_p": 0.9, "user": "test"}
	if stream {
		b["stream"] = true
		b["stream_options"] = map[string]bool{"include_usage": true}
	}
	if chat {
		b["messages"] = []map[string]any{{"role": "system", "content": "You tell stories."},
			{"role": "user", "content": []map[string]string{{"type": "text", "text": "A story, please."}}}}
	} else {
		b["prompt"] = "Once upon a time"
	}
	return b
}

func testCompletion(t *testing.T, f *fixture, chat bool) {
	base := f.srv.URL
	path := "/v1/completions"
	if chat {
		path = "/v1/chat/completions"
	}
	var resp struct {
		oaResponse
		Choices []struct {
			Text         string
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	status, body := call(t, base, "POST", path, testKey, completionBody(f, chat, false), &resp)
	if status != 200 {
		t.Fatalf("%s: %d %s", path, status, body)
	}
	if len(resp.ID) != 64 || resp.Model != f.model || len(resp.Choices) != 1 || resp.Usage == nil ||
		resp.Usage.CompletionTokens < 1 || resp.Usage.PromptTokens < 1 ||
		resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens || resp.Dnahost == nil || resp.Dnahost.Job != resp.ID {
		t.Fatalf("response %s", body)
	}
	ch := resp.Choices[0]
	if fr := ch.FinishReason; fr != "length" && fr != "stop" {
		t.Errorf("finish reason %q", fr)
	}
	var rec jobJSON
	call(t, base, "GET", "/api/jobs/"+resp.ID, "", nil, &rec)
	if chat {
		if resp.Object != "chat.completion" || ch.Message.Role != "assistant" || ch.Message.Content == "" ||
			ch.Message.Content != strings.TrimLeft(rec.Text, " \t\r\n") {
			t.Errorf("chat response %s (decided %q)", body, rec.Text)
		}
		if want := "System: You tell stories.\nUser: A story, please.\nAssistant:"; rec.Prompt != want {
			t.Errorf("rendered prompt %q, want %q", rec.Prompt, want)
		}
	} else if resp.Object != "text_completion" || ch.Text == "" || ch.Text != rec.Text {
		t.Errorf("completion %s (decided %q)", body, rec.Text)
	}
	if rec.Params == nil || rec.Params.Replication != 2 || rec.Params.MaxTokens != 8 || rec.Params.Temperature != 0 {
		t.Errorf("job terms %+v", rec.Params)
	}
}

func testCompletionStream(t *testing.T, f *fixture, base string, chat bool) {
	computes := base == f.srv.URL
	path := "/v1/completions"
	object := "text_completion"
	if chat {
		path, object = "/v1/chat/completions", "chat.completion.chunk"
	}
	resp := openStream(t, "POST", base+path, testKey, completionBody(f, chat, true), nil)
	defer resp.Body.Close()
	job := resp.Header.Get("X-Dnahost-Job")
	var text strings.Builder
	var usage *oaUsage
	contentChunks, finishes, done, role := 0, 0, false, ""
	readSSE(t, resp.Body, func(ev sseEvent) bool {
		if done {
			t.Errorf("data after [DONE]: %q", ev.data)
		}
		if ev.data == "[DONE]" {
			done = true
			return true
		}
		var c oaChunk
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("chunk %q: %v", ev.data, err)
		}
		if c.Error != nil {
			t.Fatalf("error chunk %+v", c.Error)
		}
		if c.ID != job || c.Object != object || c.Model != f.model {
			t.Errorf("chunk %s", ev.data)
		}
		if c.Usage != nil {
			usage = c.Usage
			return true
		}
		if len(c.Choices) != 1 {
			t.Fatalf("chunk %s", ev.data)
		}
		ch := c.Choices[0]
		if ch.FinishReason != nil {
			finishes++
		}
		var piece string
		if chat {
			if ch.Delta == nil {
				t.Fatalf("chat chunk without delta: %s", ev.data)
			}
			if ch.Delta.Role != nil {
				role = *ch.Delta.Role
			}
			if ch.Delta.Content != nil {
				piece = *ch.Delta.Content
			}
		} else if ch.Text != nil {
			piece = *ch.Text
		}
		if piece != "" {
			contentChunks++
			text.WriteString(piece)
		}
		return true
	})
	if !done || finishes != 1 || usage == nil || usage.CompletionTokens < 1 || text.Len() == 0 {
		t.Fatalf("stream: done %v, %d finish chunks, usage %+v, text %q", done, finishes, usage, text.String())
	}
	if chat && role != "assistant" {
		t.Errorf("role %q", role)
	}
	// Node 0 computes the job, so its tokens stream as they come; node 2
	// sends the decided text in one piece.
	if computes && contentChunks < 2 {
		t.Errorf("the text came in %d chunks: tokens were not streamed", contentChunks)
	}
	if !computes && contentChunks != 1 {
		t.Errorf("the text came in %d chunks from a node that does not compute", contentChunks)
	}
	var rec jobJSON
	call(t, base, "GET", "/api/jobs/"+job, "", nil, &rec)
	if strings.TrimSpace(text.String()) != strings.TrimSpace(rec.Text) {
		t.Errorf("streamed %q, decided %q", text.String(), rec.Text)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{APIKeys: []string{""}}, {APIKeys: []string{"a b"}}, {DefaultReplication: -1},
		{DefaultMaxTokens: 5000}, {DecideTimeout: -1}} {
		if c.Validate() == nil {
			t.Errorf("%+v validated", c)
		}
	}
	c := Config{}.withDefaults()
	if c.DefaultReplication != 1 || c.DefaultMaxTokens != 64 || c.DecideTimeout != 5*time.Minute || c.Heartbeat == 0 {
		t.Errorf("defaults %+v", c)
	}
}

func TestRenderChat(t *testing.T) {
	p, e := renderChat([]oaMessage{{Role: "developer", Content: json.RawMessage(`"Be brief."`)},
		{Role: "user", Content: json.RawMessage(`[{"type":"text","text":"a"},{"type":"text","text":"b"}]`)},
		{Role: "assistant", Content: json.RawMessage(`null`)}, {Role: "user", Content: json.RawMessage(`"c"`)}})
	if e != nil {
		t.Fatal(e)
	}
	if want := "System: Be brief.\nUser: a\nb\nAssistant: \nUser: c\nAssistant:"; p != want {
		t.Errorf("rendered %q, want %q", p, want)
	}
}

func TestRemainder(t *testing.T) {
	for _, c := range []struct {
		decided, streamed, rest string
		ok                      bool
	}{
		{"abc", "ab", "c", true}, {"abc", "", "abc", true}, {"abc", " ab", "c", true}, {" abc", "ab", "c", true},
		{"abc", "abc", "", true}, {"abc", "x", "", false},
	} {
		rest, ok := remainder(c.decided, c.streamed)
		if rest != c.rest || ok != c.ok {
			t.Errorf("remainder(%q, %q) = %q, %v", c.decided, c.streamed, rest, ok)
		}
	}
}
