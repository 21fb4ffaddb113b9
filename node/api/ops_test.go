package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node"
)

// opsNode starts one light node (no computing, no mining) for the
// operations endpoints' tests.
func opsNode(t *testing.T, seeds ...string) *node.Node {
	t.Helper()
	dir := t.TempDir()
	if _, _, err := node.Init(dir); err != nil {
		t.Fatal(err)
	}
	n, err := node.New(node.Config{DataDir: dir, Listen: "127.0.0.1:0", Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func opsServer(t *testing.T, n *node.Node) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	registerOps(mux, n)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func opsGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// ---- a small parser of the Prometheus text format (0.0.4) ----

var (
	promName  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabel = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	promTypes = map[string]bool{"counter": true, "gauge": true, "untyped": true, "histogram": true, "summary": true}
)

type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

type promFamily struct {
	typ, help string
	samples   []promSample
}

// parseProm checks every line of an exposition and returns its families.
// It requires what this package promises beyond the format's minimum: a
// HELP and a TYPE line for every family, before its samples, which follow
// it contiguously; no series twice; counters named *_total and not
// negative.
func parseProm(text string) (map[string]*promFamily, error) {
	fams := map[string]*promFamily{}
	seen := map[string]bool{}
	done := map[string]bool{} // families whose samples have ended
	current := ""
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("exposition does not end with a newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		ln := i + 1
		if line == "" {
			return nil, fmt.Errorf("line %d: empty", ln)
		}
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				continue // a plain comment
			}
			name := f[2]
			if !promName.MatchString(name) {
				return nil, fmt.Errorf("line %d: bad metric name %q", ln, name)
			}
			if done[name] {
				return nil, fmt.Errorf("line %d: %s declared after its samples", ln, name)
			}
			if current != "" && current != name {
				done[current] = true
			}
			current = name
			fam := fams[name]
			if fam == nil {
				fam = &promFamily{}
				fams[name] = fam
			}
			text := ""
			if len(f) == 4 {
				text = f[3]
			}
			switch f[1] {
			case "HELP":
				if fam.help != "" {
					return nil, fmt.Errorf("line %d: second HELP for %s", ln, name)
				}
				if text == "" {
					return nil, fmt.Errorf("line %d: empty HELP for %s", ln, name)
				}
				fam.help = text
			case "TYPE":
				if fam.typ != "" {
					return nil, fmt.Errorf("line %d: second TYPE for %s", ln, name)
				}
				if !promTypes[text] {
					return nil, fmt.Errorf("line %d: unknown type %q", ln, text)
				}
				if len(fam.samples) > 0 {
					return nil, fmt.Errorf("line %d: TYPE of %s after its samples", ln, name)
				}
				fam.typ = text
			}
			continue
		}
		s, err := parsePromSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v: %q", ln, err, line)
		}
		fam := fams[s.name]
		if fam == nil || fam.typ == "" || fam.help == "" {
			return nil, fmt.Errorf("line %d: sample of %s, which has no HELP and TYPE before it", ln, s.name)
		}
		if s.name != current {
			return nil, fmt.Errorf("line %d: sample of %s among the samples of %s", ln, s.name, current)
		}
		key := s.name + "{"
		for _, k := range sortedLabelNames(s.labels) {
			key += k + "=" + strconv.Quote(s.labels[k]) + ","
		}
		if seen[key] {
			return nil, fmt.Errorf("line %d: series %s} twice", ln, key)
		}
		seen[key] = true
		if fam.typ == "counter" {
			if !strings.HasSuffix(s.name, "_total") {
				return nil, fmt.Errorf("line %d: counter %s not named *_total", ln, s.name)
			}
			if s.value < 0 || math.IsNaN(s.value) {
				return nil, fmt.Errorf("line %d: counter %s is %v", ln, s.name, s.value)
			}
		}
		fam.samples = append(fam.samples, s)
	}
	for name, f := range fams {
		if f.typ == "" || f.help == "" {
			return nil, fmt.Errorf("%s lacks HELP or TYPE", name)
		}
		if len(f.samples) == 0 {
			return nil, fmt.Errorf("%s has no samples", name)
		}
	}
	return fams, nil
}

func sortedLabelNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// parsePromSample parses `name{l="v",...} value [timestamp]`.
func parsePromSample(line string) (promSample, error) {
	s := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no value")
	}
	s.name = line[:i]
	if !promName.MatchString(s.name) {
		return s, fmt.Errorf("bad name")
	}
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return s, fmt.Errorf("bad label")
			}
			ln := rest[:eq]
			if !promLabel.MatchString(ln) || strings.HasPrefix(ln, "__") {
				return s, fmt.Errorf("bad label name %q", ln)
			}
			if _, dup := s.labels[ln]; dup {
				return s, fmt.Errorf("label %s twice", ln)
			}
			rest = rest[eq+2:]
			var v strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				switch {
				case c == '\\':
					if j+1 >= len(rest) {
						return s, fmt.Errorf("dangling escape")
					}
					j++
					switch rest[j] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, fmt.Errorf("bad escape \\%c", rest[j])
					}
				case c == '"':
					rest, closed = rest[j+1:], true
				case c == '\n':
					return s, fmt.Errorf("raw newline in label value")
				default:
					v.WriteByte(c)
				}
				if closed {
					break
				}
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value")
			}
			s.labels[ln] = v.String()
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, fmt.Errorf("expected , or } after a label")
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return s, fmt.Errorf("no space before the value")
	}
	f := strings.Split(rest[1:], " ")
	if len(f) < 1 || len(f) > 2 || f[0] == "" {
		return s, fmt.Errorf("bad value field")
	}
	switch f[0] {
	case "NaN":
		s.value = math.NaN()
	case "+Inf":
		s.value = math.Inf(1)
	case "-Inf":
		s.value = math.Inf(-1)
	default:
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || strings.ContainsAny(f[0], "xX_") {
			return s, fmt.Errorf("bad value %q", f[0])
		}
		s.value = v
	}
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp %q", f[1])
		}
	}
	return s, nil
}

func TestPromWriterEscapes(t *testing.T) {
	w := newPromWriter()
	w.family("x_total", "counter", "Help with a \\ backslash\nand a newline.")
	w.sample(3, "a", `quote " back \ new`+"\nline", "b", "")
	w.sample(1e20, "a", "big")
	w.family("y", "gauge", "Odd values.")
	w.sample(math.NaN(), "k", "nan")
	w.sample(math.Inf(1), "k", "inf")
	w.sample(math.Inf(-1), "k", "-inf")
	w.sample(0.125, "k", "frac")
	w.sample(-7, "k", "neg")
	fams, err := parseProm(w.b.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, w.b.String())
	}
	got := fams["x_total"].samples[0]
	if got.labels["a"] != `quote " back \ new`+"\nline" || got.labels["b"] != "" || got.value != 3 {
		t.Fatalf("round trip: %+v", got)
	}
	if v := fams["x_total"].samples[1].value; v != 1e20 {
		t.Fatalf("1e20 → %v", v)
	}
	ys := fams["y"].samples
	if !math.IsNaN(ys[0].value) || !math.IsInf(ys[1].value, 1) || !math.IsInf(ys[2].value, -1) || ys[3].value != 0.125 || ys[4].value != -7 {
		t.Fatalf("values: %+v", ys)
	}
	// The parser refuses what the format does not allow.
	for _, bad := range []string{
		"# TYPE a gauge\n# HELP a x\na{b=\"c\"} 1 2 3\n",
		"# TYPE a gauge\n# HELP a x\na{b=c} 1\n",
		"# TYPE a gauge\n# HELP a x\na 1\n# TYPE b gauge\n# HELP b x\nb 1\na 2\n",
		"b 1\n",
		"# TYPE a counter\n# HELP a x\na 1\n",
		"# TYPE a gauge\n# HELP a x\na{b=\"1\"} 1\na{b=\"1\"} 2\n",
		"# TYPE a gauge\n# HELP a x\na one\n",
	} {
		if _, err := parseProm(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestMetrics(t *testing.T) {
	n := opsNode(t)
	srv := opsServer(t, n)
	n.Metrics().TokensGenerated.Add(500)
	n.Metrics().ComputeNanos.Add(uint64(2 * time.Second))
	n.Metrics().Verified.Add(3)
	n.Metrics().Refuted.Add(1)
	resp, body := opsGet(t, srv.URL+"/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	fams, err := parseProm(string(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	want := map[string]string{
		"dnahost_node_info": "gauge", "dnahost_uptime_seconds": "gauge",
		"dnahost_jobs_total": "counter", "dnahost_jobs": "gauge", "dnahost_tokens_generated_total": "counter",
		"dnahost_compute_seconds_total": "counter", "dnahost_verify_seconds_total": "counter",
		"dnahost_verifications_total": "counter", "dnahost_tokens_per_second": "gauge", "dnahost_peers": "gauge",
		"dnahost_peers_by_direction": "gauge", "dnahost_chain_height": "gauge", "dnahost_chain_reorgs_total": "counter",
		"dnahost_blocks_mined_total": "counter", "dnahost_tx_sent_total": "counter", "dnahost_mempool_txs": "gauge",
		"dnahost_gossip_received_total": "counter", "dnahost_gossip_duplicates_total": "counter",
		"dnahost_gossip_delivered_total": "counter", "dnahost_gossip_invalid_total": "counter",
		"dnahost_gossip_sent_total": "counter", "dnahost_gossip_iwant_served_total": "counter",
		"dnahost_net_protocol_violations_total": "counter", "dnahost_net_bans_total": "counter",
		"dnahost_net_chunks_served_total": "counter", "dnahost_net_chunks_fetched_total": "counter",
		"dnahost_net_bad_chunks_total": "counter", "dnahost_chain_tip_timestamp_seconds": "gauge",
		"dnahost_chain_supply_units": "gauge", "dnahost_chain_jobs": "gauge",
		"dnahost_chain_store_write_amplification": "gauge", "dnahost_chain_store_read_amplification": "gauge",
		"dnahost_chain_store_disk_bytes": "gauge", "dnahost_chain_store_wal_bytes_written_total": "counter",
		"dnahost_chain_store_flushes_total": "counter", "dnahost_chain_store_compactions_total": "counter",
	}
	for name, typ := range want {
		f := fams[name]
		if f == nil {
			t.Errorf("missing %s", name)
			continue
		}
		if f.typ != typ {
			t.Errorf("%s is a %s, want %s", name, f.typ, typ)
		}
	}
	for name := range fams {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is not in the test's list", name)
		}
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
	next:
		for _, s := range fams[name].samples {
			for i := 0; i+1 < len(labels); i += 2 {
				if s.labels[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return s.value
		}
		t.Fatalf("no sample %s%v", name, labels)
		return 0
	}
	if v := value("dnahost_tokens_per_second"); v != 250 {
		t.Errorf("tokens/s %v, want 250", v)
	}
	if v := value("dnahost_compute_seconds_total"); v != 2 {
		t.Errorf("compute seconds %v", v)
	}
	if v := value("dnahost_verifications_total", "result", "verified"); v != 3 {
		t.Errorf("verified %v", v)
	}
	if v := value("dnahost_verifications_total", "result", "refuted"); v != 1 {
		t.Errorf("refuted %v", v)
	}
	if v := value("dnahost_chain_height"); v != float64(n.Chain().Tip().Height) {
		t.Errorf("height %v", v)
	}
	if v := value("dnahost_node_info", "id", n.ID().String()); v != 1 {
		t.Errorf("node info %v", v)
	}
	if got := len(fams["dnahost_jobs"].samples); got != len(nodeStages) {
		t.Errorf("%d stage gauges, want %d", got, len(nodeStages))
	}
	if got := len(fams["dnahost_jobs_total"].samples); got != 9 {
		t.Errorf("%d stage counters, want 9", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	alone := opsNode(t)
	srv := opsServer(t, alone)
	resp, body := opsGet(t, srv.URL+"/healthz")
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz: %s %q", resp.Status, body)
	}
	var rd readyState
	resp, body = opsGet(t, srv.URL+"/readyz")
	if err := json.Unmarshal(body, &rd); err != nil || resp.StatusCode != 200 || !rd.Ready {
		t.Fatalf("a node alone by config: %s %s", resp.Status, body)
	}

	// A node with a seed that does not answer has no peer: not ready.
	lonely := opsNode(t, "127.0.0.1:9")
	srv2 := opsServer(t, lonely)
	resp, body = opsGet(t, srv2.URL+"/readyz")
	rd = readyState{}
	if err := json.Unmarshal(body, &rd); err != nil || resp.StatusCode != 503 || rd.Ready ||
		!strings.Contains(rd.Reason, "no peers") {
		t.Fatalf("no peers: %s %s", resp.Status, body)
	}
	// Once it reaches a peer it is.
	peer := opsNode(t)
	if _, err := lonely.Net().Connect(context.Background(), peer.Net().Addr().String(), netq.PeerID{}); err != nil {
		t.Skipf("connect: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !readiness(lonely).Ready {
		if time.Now().After(deadline) {
			t.Fatalf("not ready with a peer: %+v", readiness(lonely))
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, _ = opsGet(t, srv2.URL+"/readyz")
	if resp.StatusCode != 200 {
		t.Fatalf("with a peer: %s", resp.Status)
	}

	// A closed node's chain store is closed.
	alone.Close()
	resp, body = opsGet(t, srv.URL+"/readyz")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "chain store closed") {
		t.Fatalf("closed: %s %s", resp.Status, body)
	}
	resp, _ = opsGet(t, srv.URL+"/healthz")
	if resp.StatusCode != 200 {
		t.Fatalf("healthz of a closed node: %s", resp.Status)
	}
}

// external matches a reference to a resource elsewhere.
var external = regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|(fetch|EventSource)\(\s*["'](https?:)?//`)

func TestDashboardServes(t *testing.T) {
	n := opsNode(t)
	srv := opsServer(t, n)
	resp, body := opsGet(t, srv.URL+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), `src="/ui/app.js"`) || !strings.Contains(string(body), `href="/ui/style.css"`) {
		t.Fatalf("/: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if external.Match(body) {
		t.Fatalf("the page refers to an external resource: %s", external.Find(body))
	}
	for path, ctype := range map[string]string{"/ui/app.js": "javascript", "/ui/style.css": "text/css"} {
		resp, body := opsGet(t, srv.URL+path)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(body) < 1000 {
			t.Fatalf("%s: %s %q %d bytes", path, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
		if external.Match(body) {
			t.Fatalf("%s refers to an external resource: %s", path, external.Find(body))
		}
	}
	if resp, _ := opsGet(t, srv.URL+"/ui/nope.js"); resp.StatusCode != 404 {
		t.Fatalf("/ui/nope.js: %s", resp.Status)
	}

	resp, body = opsGet(t, srv.URL+"/api/dashboard")
	if resp.StatusCode != 200 {
		t.Fatalf("/api/dashboard: %s", resp.Status)
	}
	var s dashSnapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Node.ID != n.ID().String() || s.Node.Net != "devnet" || !s.Chain.Open || !s.Ready.Ready {
		t.Fatalf("snapshot: %+v", s.Node)
	}
	if len(s.Chain.Blocks) == 0 || s.Chain.Blocks[0].Height != s.Chain.Height {
		t.Fatalf("blocks: %+v (height %d)", s.Chain.Blocks, s.Chain.Height)
	}
	if len(s.Series.TokensPerS) != dashBuckets || s.Series.StepMs <= 0 {
		t.Fatalf("series: %+v", s.Series)
	}
	// The JSON keys the page reads are there even when empty.
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"now", "node", "ready", "metrics", "chain", "mempool", "peers", "gossip", "bundles", "job_counts", "jobs", "series"} {
		if len(raw[k]) == 0 || string(raw[k]) == "null" {
			t.Errorf("snapshot key %q is %s", k, raw[k])
		}
	}

	// The event stream opens.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/dashboard/events", nil)
	sresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	line, err := bufio.NewReader(sresp.Body).ReadString('\n')
	if err != nil || sresp.Header.Get("Content-Type") != "text/event-stream" || line != "retry: 3000\n" {
		t.Fatalf("events: %q %q %v", sresp.Header.Get("Content-Type"), line, err)
	}
}

func TestDashboardSeries(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	started := now.Add(-10 * time.Minute)
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	recs := []*node.JobRecord{
		{History: []node.Event{
			{Time: at(5 * time.Minute), Stage: node.StageSubmitted, What: "job announced"},
			{Time: at(5*time.Minute - time.Second), What: "computed 30 tokens in 1s"},
			{Time: at(4 * time.Minute), Stage: node.StageDecided, What: "decided"},
			{Time: at(3 * time.Minute), Stage: node.StageSettled, What: "settled"},
		}, Local: &node.LocalWork{Computed: true, Tokens: make([]int32, 30)}},
		{History: []node.Event{
			{Time: at(20 * time.Minute), Stage: node.StageDecided, What: "long ago"},
			{Time: at(time.Second), Stage: node.StageFailed, What: "undecided"},
		}},
	}
	s := series(recs, started, now)
	if len(s.TokensPerS) != dashBuckets || s.StepMs != 15000 || s.TokensWindowMs != 15000 || s.JobsWindowMs != 60000 {
		t.Fatalf("step %d, windows %d %d, %d buckets", s.StepMs, s.TokensWindowMs, s.JobsWindowMs, len(s.TokensPerS))
	}
	if end := time.UnixMilli(s.Start + s.StepMs*dashBuckets); end.Before(now) || end.Sub(now) > 15*time.Second {
		t.Fatalf("the last bucket ends at %v, now is %v", end, now)
	}
	// idx is the first point whose window holds t.
	idx := func(t time.Time) int {
		return int((t.UnixMilli()-s.Start+s.StepMs-1)/s.StepMs) - 1
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	i := idx(at(5*time.Minute - time.Second))
	near("tokens/s at the computation", s.TokensPerS[i], 2) // 30 tokens over 15 s
	near("tokens/s before", s.TokensPerS[i-1], 0)
	near("tokens/s after", s.TokensPerS[i+1], 0)
	i = idx(at(4 * time.Minute))
	for k := range 4 { // a one-minute window: four 15 s points
		near(fmt.Sprintf("decided/min %d after", k), s.DecidedPM[i+k], 1)
	}
	near("decided/min a minute later", s.DecidedPM[i+4], 0)
	near("decided/min before", s.DecidedPM[i-1], 0)
	near("settled/min", s.SettledPM[idx(at(3*time.Minute))], 1)
	near("failed counts as decided, up to now", s.DecidedPM[dashBuckets-1], 1)
	total := 0.0
	for _, v := range s.DecidedPM {
		total += v
	}
	near("decided overall (the event 20 minutes ago left out)", total, 5)
}

func TestDashboardJobView(t *testing.T) {
	r := &node.JobRecord{ID: keys.SHA256([]byte("job")), Stage: node.StageSettled, Bundle: "ab", Coordinator: "02aa",
		Received: 1000, Rule: "majority@1", History: []node.Event{
			{Time: time.UnixMilli(1000), Stage: node.StageSubmitted, What: "a"},
			{Time: time.UnixMilli(1500), What: "commit"},
			{Time: time.UnixMilli(2000), Stage: node.StageDecided, What: "b"},
			{Time: time.UnixMilli(3000), Stage: node.StageSettled, What: "c"},
		}, Nodes: []node.NodeView{{Node: "02aa", Agree: true, Paid: 5}, {Node: "03bb", Verification: "refuted", Paid: -1}}}
	v := jobView(r, "03bb", map[string]string{"ab": "tiny"})
	if v.Model != "tiny" || !v.Final || len(v.Stages) != 3 || v.Stages[1].Stage != "decided" || v.Stages[1].Time != 2000 {
		t.Fatalf("%+v", v)
	}
	if !v.Nodes[0].Coordinator || v.Nodes[0].Me || !v.Nodes[1].Me || v.Nodes[1].Paid != -1 {
		t.Fatalf("nodes %+v", v.Nodes)
	}
	b, _ := json.Marshal(v.Nodes[1])
	if !strings.Contains(string(b), `"verification":"refuted"`) || !strings.Contains(string(b), `"me":true`) {
		t.Fatalf("node JSON %s", b)
	}
}
