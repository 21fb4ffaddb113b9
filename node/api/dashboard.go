package api

import (
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/proto"
)

// The dashboard is a single page with no build step and no external
// resources: static/index.html, app.js and style.css, embedded. The page
// polls GET /api/dashboard (one consistent snapshot, below) every two
// seconds and refreshes at once when GET /api/dashboard/events, a stream
// of every job's lifecycle events, says something happened.

//go:embed static
var staticFS embed.FS

// Dashboard sizes.
const (
	dashJobs       = 40  // jobs listed
	dashSeriesJobs = 300 // jobs the throughput series are computed from
	dashBlocks     = 12  // recent blocks listed
	dashHistory    = 60  // events listed per job
	dashBuckets    = 40  // points per throughput series
)

func registerDashboard(mux *http.ServeMux, n *node.Node) {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /api/dashboard", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(snapshot(n, time.Now()))
	})
	mux.HandleFunc("GET /api/dashboard/events", func(w http.ResponseWriter, r *http.Request) {
		dashEvents(w, r, n)
	})
}

// dashEvents streams every job's history events as server-sent events
// ("event: job", data: a dashEvent), with a comment every 15 s to keep
// proxies from closing an idle stream.
func dashEvents(w http.ResponseWriter, r *http.Request, n *node.Node) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, cancel := n.Watch(keys.Hash{})
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	_, _ = fmt.Fprint(w, "retry: 3000\n: dnahost job events\n\n")
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			_, _ = fmt.Fprint(w, ": ping\n\n")
		case u := <-ch:
			if u.Event == nil {
				continue // tokens: the page shows lifecycles, not text streams
			}
			b, _ := json.Marshal(dashEvent{Job: u.Job.String(), Stage: string(u.Stage), Final: u.Final,
				Time: u.Event.Time.UnixMilli(), What: u.Event.What, Height: u.Event.Height, Reached: string(u.Event.Stage)})
			if _, err := fmt.Fprintf(w, "event: job\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		fl.Flush()
	}
}

// dashEvent is one job event on the dashboard's stream.
type dashEvent struct {
	Job     string `json:"job"`
	Stage   string `json:"stage"`             // the job's stage now
	Reached string `json:"reached,omitempty"` // the stage this event reached, if any
	What    string `json:"what"`
	Time    int64  `json:"time"`
	Height  uint64 `json:"height,omitempty"`
	Final   bool   `json:"final,omitempty"`
}

// dashSnapshot is everything the dashboard shows, taken at once.
type dashSnapshot struct {
	Now       int64             `json:"now"` // unix ms
	Node      dashNode          `json:"node"`
	Ready     readyState        `json:"ready"`
	Metrics   dashMetrics       `json:"metrics"`
	Chain     dashChain         `json:"chain"`
	Mempool   int               `json:"mempool"`
	Peers     []dashPeer        `json:"peers"`
	Gossip    map[string]uint64 `json:"gossip"`
	Bundles   []dashBundle      `json:"bundles"`
	JobCounts map[string]int    `json:"job_counts"`
	Jobs      []dashJob         `json:"jobs"`
	Series    dashSeries        `json:"series"`
}

type dashNode struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	Net      string `json:"net"`
	Listen   string `json:"listen"`
	Started  int64  `json:"started"`
	Compute  bool   `json:"compute"`
	Mine     bool   `json:"mine"`
	Workers  int    `json:"workers"`
	Behavior string `json:"behavior,omitempty"`
}

type dashMetrics struct {
	JobsSeen        uint64  `json:"jobs_seen"`
	JobsComputed    uint64  `json:"jobs_computed"`
	JobsCoordinated uint64  `json:"jobs_coordinated"`
	JobsDecided     uint64  `json:"jobs_decided"`
	JobsFailed      uint64  `json:"jobs_failed"`
	JobsRecorded    uint64  `json:"jobs_recorded"`
	JobsSettled     uint64  `json:"jobs_settled"`
	JobsDisputed    uint64  `json:"jobs_disputed"`
	JobsExpired     uint64  `json:"jobs_expired"`
	Tokens          uint64  `json:"tokens"`
	ComputeSeconds  float64 `json:"compute_seconds"`
	VerifySeconds   float64 `json:"verify_seconds"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	Verified        uint64  `json:"verified"`
	Refuted         uint64  `json:"refuted"`
	BlocksMined     uint64  `json:"blocks_mined"`
	Reorgs          uint64  `json:"reorgs"`
	TxSent          uint64  `json:"tx_sent"`
}

type dashChain struct {
	Height     uint64         `json:"height"`
	Hash       string         `json:"hash"`
	Timestamp  int64          `json:"timestamp"`
	MedianTime int64          `json:"median_time"`
	Minted     uint64         `json:"minted"`
	Burned     uint64         `json:"burned"`
	Jobs       map[string]int `json:"jobs"` // on-chain job states
	WriteAmp   float64        `json:"write_amp"`
	DiskBytes  uint64         `json:"disk_bytes"`
	Blocks     []dashBlock    `json:"blocks"`
	Open       bool           `json:"open"`
}

type dashBlock struct {
	Height    uint64         `json:"height"`
	Hash      string         `json:"hash"`
	Timestamp int64          `json:"timestamp"`
	Txs       int            `json:"txs"`
	Types     map[string]int `json:"types"` // transactions by type, the coinbase left out
	Miner     string         `json:"miner"`
	Mine      bool           `json:"mine"` // mined by this node
	Bytes     int            `json:"bytes"`
}

type dashPeer struct {
	ID       string   `json:"id"`
	Addr     string   `json:"addr"`
	Outbound bool     `json:"outbound"`
	Services []string `json:"services"`
	Height   uint64   `json:"height"`
	Score    float64  `json:"score"`
	RTTms    float64  `json:"rtt_ms"`
	Sent     uint64   `json:"sent"`
	Received uint64   `json:"received"`
	Lost     uint64   `json:"lost"`
}

type dashBundle struct {
	Root   string `json:"root"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Leaves int    `json:"leaves"`
	Arch   string `json:"arch"`
	Held   bool   `json:"held"`
	Loaded bool   `json:"loaded"`
	Peers  int    `json:"peers"`
}

type dashJob struct {
	ID           string         `json:"id"`
	Stage        string         `json:"stage"`
	Final        bool           `json:"final"`
	Bundle       string         `json:"bundle"`
	Model        string         `json:"model"`
	Prompt       string         `json:"prompt"`
	Coordinator  string         `json:"coordinator"` // public key, hex
	Coordinating bool           `json:"coordinating"`
	Received     int64          `json:"received"`
	MaxTokens    uint32         `json:"max_tokens"`
	Replication  uint8          `json:"replication"`
	Reward       uint64         `json:"reward"`
	Verify       string         `json:"verify"`
	Private      bool           `json:"private"`
	Stages       []dashStage    `json:"stages"` // when each stage was reached, in order
	History      []node.Event   `json:"history"`
	Nodes        []dashJobNode  `json:"nodes"`
	Rule         string         `json:"rule,omitempty"`
	Reason       string         `json:"reason,omitempty"`
	Result       string         `json:"result,omitempty"`
	Text         string         `json:"text,omitempty"`
	ResultTx     string         `json:"result_tx,omitempty"`
	BlockHeight  uint64         `json:"block_height,omitempty"`
	Local        *dashLocal     `json:"local,omitempty"`
	Timings      map[string]any `json:"timings"`
}

type dashStage struct {
	Stage  string `json:"stage"`
	Time   int64  `json:"time"`
	Height uint64 `json:"height,omitempty"`
}

type dashJobNode struct {
	node.NodeView
	Me          bool `json:"me"`
	Coordinator bool `json:"coordinator"`
}

type dashLocal struct {
	Computed  bool    `json:"computed"`
	Tokens    int     `json:"tokens"`
	ComputeMs float64 `json:"compute_ms"`
	Committed bool    `json:"committed"`
	Revealed  bool    `json:"revealed"`
	Signed    bool    `json:"signed"`
	Dropped   bool    `json:"dropped"`
	Error     string  `json:"error,omitempty"`
}

// dashSeries are throughput histories computed from the jobs' timestamped
// events, so the page has them from its first poll. Each point is a rate
// over a sliding window ending at its bucket's end: tokens this node
// generated per second (over TokensWindowMs), and jobs decided (or failed)
// and settled per minute (over JobsWindowMs).
type dashSeries struct {
	Start          int64     `json:"start"` // unix ms of the first bucket's start
	StepMs         int64     `json:"step_ms"`
	TokensWindowMs int64     `json:"tokens_window_ms"`
	JobsWindowMs   int64     `json:"jobs_window_ms"`
	TokensPerS     []float64 `json:"tokens_per_s"`
	DecidedPM      []float64 `json:"decided_per_min"`
	SettledPM      []float64 `json:"settled_per_min"`
}

// serviceNames names a peer's service bits.
func serviceNames(s uint64) []string {
	out := []string{}
	for _, b := range []struct {
		bit  uint64
		name string
	}{{netq.ServiceCompute, "compute"}, {netq.ServiceVerify, "verify"}, {netq.ServiceStore, "store"}, {netq.ServiceChain, "chain"}} {
		if s&b.bit != 0 {
			out = append(out, b.name)
		}
	}
	return out
}

func snapshot(n *node.Node, now time.Time) *dashSnapshot {
	cfg := n.Config()
	m := n.Metrics()
	s := &dashSnapshot{Now: now.UnixMilli(), Ready: readiness(n), Gossip: map[string]uint64{},
		JobCounts: map[string]int{}, Peers: []dashPeer{}, Bundles: []dashBundle{}, Jobs: []dashJob{}}
	s.Node = dashNode{ID: n.ID().String(), Account: n.Address(n.Account()), Net: n.Params().Name,
		Started: n.Started().UnixMilli(), Compute: cfg.Compute, Mine: cfg.Mine, Workers: cfg.Workers, Behavior: cfg.Behavior}
	if a := n.Net().Addr(); a != nil {
		s.Node.Listen = a.String()
	}
	s.Metrics = dashMetrics{JobsSeen: m.JobsSeen.Load(), JobsComputed: m.JobsComputed.Load(),
		JobsCoordinated: m.JobsCoordinated.Load(), JobsDecided: m.JobsDecided.Load(), JobsFailed: m.JobsFailed.Load(),
		JobsRecorded: m.JobsRecorded.Load(), JobsSettled: m.JobsSettled.Load(), JobsDisputed: m.JobsDisputed.Load(),
		JobsExpired: m.JobsExpired.Load(), Tokens: m.TokensGenerated.Load(),
		ComputeSeconds: float64(m.ComputeNanos.Load()) / 1e9, VerifySeconds: float64(m.VerifyNanos.Load()) / 1e9,
		TokensPerSecond: tokensPerSecond(m), Verified: m.Verified.Load(), Refuted: m.Refuted.Load(),
		BlocksMined: m.BlocksMined.Load(), Reorgs: m.Reorgs.Load(), TxSent: m.TxSent.Load()}
	s.Mempool = n.Mempool().Len()
	s.Chain = chainView(n)

	for _, p := range n.Net().Peers() {
		s.Peers = append(s.Peers, dashPeer{ID: p.ID.String(), Addr: p.Addr, Outbound: p.Outbound,
			Services: serviceNames(p.Services), Height: p.Height, Score: p.Score,
			RTTms: float64(p.RTT.Microseconds()) / 1000, Sent: p.BytesSent, Received: p.BytesReceived, Lost: p.PacketsLost})
	}
	sortPeers(s.Peers)
	st := n.Net().Stats()
	for k, v := range map[string]uint64{"received": st.GossipReceived, "duplicates": st.GossipDuplicates,
		"delivered": st.GossipDelivered, "invalid": st.GossipInvalid, "sent": st.GossipSent, "iwant_served": st.IWantServed,
		"protocol_violations": st.ProtocolViolations, "bans": st.Bans, "chunks_served": st.ChunksServed,
		"chunks_fetched": st.ChunksFetched, "bad_chunks": st.BadChunks} {
		s.Gossip[k] = v
	}

	names := map[string]string{}
	for _, b := range n.KnownBundles() {
		root := b.Root.String()
		names[root] = b.Name
		s.Bundles = append(s.Bundles, dashBundle{Root: root, Name: b.Name, Size: b.Size, Leaves: b.Leaves,
			Arch: b.Arch, Held: b.Held, Loaded: b.Loaded, Peers: b.Peers})
	}
	for st, c := range n.JobCounts() {
		s.JobCounts[string(st)] = c
	}
	recs := n.Jobs(dashSeriesJobs)
	me := fmt.Sprintf("%x", n.Key().Bytes())
	for i, r := range recs {
		if i >= dashJobs {
			break
		}
		s.Jobs = append(s.Jobs, jobView(r, me, names))
	}
	s.Series = series(recs, n.Started(), now)
	return s
}

// sortPeers orders peers by score, best first, then by ID.
func sortPeers(ps []dashPeer) {
	slices.SortFunc(ps, func(a, b dashPeer) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func chainView(n *node.Node) dashChain {
	c := n.Chain()
	v := dashChain{Jobs: map[string]int{}, Blocks: []dashBlock{}}
	if c == nil {
		return v
	}
	pm := c.StoreMetrics()
	if pm == nil {
		return v
	}
	v.Open = true
	tot := pm.Total()
	v.WriteAmp, v.DiskBytes = tot.WriteAmp(), pm.DiskSpaceUsage()
	tip := c.Tip()
	v.Height, v.Hash, v.Timestamp, v.MedianTime = tip.Height, tip.Hash.String(), tip.Timestamp, tip.MedianTime
	if sp, err := c.Supply(); err == nil {
		v.Minted, v.Burned = sp.Minted, sp.Burned
	}
	if jc, err := c.JobCounts(); err == nil {
		for st, k := range jc {
			v.Jobs[st.String()] = k
		}
	}
	me := n.Account()
	for h := tip.Height; h+dashBlocks > tip.Height; h-- {
		b, err := c.BlockByHeight(h)
		if err != nil {
			break
		}
		bv := dashBlock{Height: h, Hash: b.Hash().String(), Timestamp: b.Header.Timestamp, Txs: len(b.Txs),
			Types: map[string]int{}, Bytes: len(b.Encode())}
		for _, tx := range b.Txs {
			if tx.Type == chain.TxCoinbase {
				if cb, err := chain.DecodeCoinbase(tx.Payload); err == nil {
					bv.Miner, bv.Mine = n.Address(cb.To), cb.To == me
				}
				continue
			}
			bv.Types[tx.Type.String()]++
		}
		v.Blocks = append(v.Blocks, bv)
		if h == 0 {
			break
		}
	}
	return v
}

func jobView(r *node.JobRecord, me string, names map[string]string) dashJob {
	v := dashJob{ID: r.ID.String(), Stage: string(r.Stage), Final: r.Stage.Final(), Bundle: r.Bundle, Model: r.Model,
		Prompt: r.Prompt, Coordinator: r.Coordinator, Coordinating: r.Coordinating, Received: r.Received,
		Rule: r.Rule, Reason: r.Reason, Text: r.Text, BlockHeight: r.BlockHeight, Nodes: []dashJobNode{},
		Stages: []dashStage{}, History: r.History}
	if v.Model == "" {
		v.Model = names[r.Bundle]
	}
	if !r.Result.IsZero() {
		v.Result = r.Result.String()
	}
	if !r.ResultTx.IsZero() {
		v.ResultTx = r.ResultTx.String()
	}
	if j, err := r.Job(); err == nil {
		v.MaxTokens, v.Replication, v.Reward, v.Private = j.MaxTokens, j.Replication, j.Reward, j.Private
		v.Verify = "rastic"
		if j.Verify == proto.VerifyFull {
			v.Verify = "full"
		}
	}
	for _, e := range r.History {
		if e.Stage != "" {
			v.Stages = append(v.Stages, dashStage{Stage: string(e.Stage), Time: e.Time.UnixMilli(), Height: e.Height})
		}
	}
	if len(v.History) > dashHistory {
		v.History = v.History[len(v.History)-dashHistory:]
	}
	for _, nv := range r.Nodes {
		v.Nodes = append(v.Nodes, dashJobNode{NodeView: nv, Me: nv.Node == me, Coordinator: nv.Node == r.Coordinator})
	}
	if l := r.Local; l != nil {
		v.Local = &dashLocal{Computed: l.Computed, Tokens: len(l.Tokens), ComputeMs: float64(l.Compute.Microseconds()) / 1000,
			Committed: l.Committed, Revealed: l.Revealed, Signed: l.CertSigned, Dropped: l.Dropped, Error: l.Error}
	}
	v.Timings = map[string]any{"accepted_at": r.AcceptedAt, "reveal_at": r.RevealAt, "decide_at": r.DecideAt,
		"decided_at": r.DecidedAt, "record_at": r.RecordAt, "recorded_at": r.RecordedAt, "closed_at": r.ClosedAt}
	return v
}

// series covers the node's uptime (at least a minute, at most the last
// thirty) in dashBuckets points.
func series(recs []*node.JobRecord, started, now time.Time) dashSeries {
	span := now.Sub(started)
	if started.IsZero() || span < time.Minute {
		span = time.Minute
	}
	span = min(span, 30*time.Minute)
	step := max((span+dashBuckets-1)/dashBuckets, time.Second)
	if r := step % time.Second; r != 0 {
		step += time.Second - r // whole seconds, rounded up: the span stays covered
	}
	end := now.Truncate(step).Add(step) // the last bucket holds now
	start := end.Add(-step * dashBuckets)
	tokW, jobW := max(step, 10*time.Second), max(step, time.Minute)
	s := dashSeries{Start: start.UnixMilli(), StepMs: step.Milliseconds(), TokensWindowMs: tokW.Milliseconds(),
		JobsWindowMs: jobW.Milliseconds(), TokensPerS: make([]float64, dashBuckets),
		DecidedPM: make([]float64, dashBuckets), SettledPM: make([]float64, dashBuckets)}
	type point struct {
		t time.Time
		v float64
	}
	var tokens, decided, settled []point
	oldest := start.Add(-jobW)
	for _, r := range recs {
		for _, e := range r.History {
			if e.Time.Before(oldest) || e.Time.After(end) {
				continue
			}
			switch {
			case e.Stage == node.StageDecided || e.Stage == node.StageFailed:
				decided = append(decided, point{e.Time, 1})
			case e.Stage == node.StageSettled:
				settled = append(settled, point{e.Time, 1})
			case e.Stage == "" && r.Local != nil && strings.HasPrefix(e.What, "computed "):
				tokens = append(tokens, point{e.Time, float64(len(r.Local.Tokens))})
			}
		}
	}
	// rate sums the points in (t−w, t] over w, in units per `per`.
	rate := func(ps []point, t time.Time, w, per time.Duration) float64 {
		sum := 0.0
		for _, p := range ps {
			if p.t.After(t.Add(-w)) && !p.t.After(t) {
				sum += p.v
			}
		}
		return sum * per.Seconds() / w.Seconds()
	}
	for i := range dashBuckets {
		t := start.Add(step * time.Duration(i+1))
		if t.After(now) {
			t = now // the last point is the rate up to now
		}
		s.TokensPerS[i] = rate(tokens, t, tokW, time.Second)
		s.DecidedPM[i] = rate(decided, t, jobW, time.Minute)
		s.SettledPM[i] = rate(settled, t, jobW, time.Minute)
	}
	return s
}
