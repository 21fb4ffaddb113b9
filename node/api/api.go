package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/proto"
)

// Config configures the API. The zero value of every field means its
// default.
type Config struct {
	// APIKeys are the bearer tokens accepted by the endpoints that spend
	// the node's funds or publish bundles. If empty, those endpoints are
	// served only to loopback clients (see the package documentation).
	APIKeys []string
	// DefaultReplication is how many nodes run a job that does not say
	// (default 1).
	DefaultReplication int
	// DefaultMaxTokens is a job's token limit when the request has none
	// (default 64).
	DefaultMaxTokens int
	// DecideTimeout is how long a completion request waits for its job to
	// be decided (default 5 minutes).
	DecideTimeout time.Duration
	// MaxBundleBytes caps an uploaded bundle (default 8 GiB).
	MaxBundleBytes int64
	// Heartbeat is the interval of keep-alive comments in event streams
	// (default 15 s).
	Heartbeat time.Duration
}

// maxJSONBytes caps a JSON request body (a prompt is at most 64 KiB).
const maxJSONBytes = 1 << 20

// Validate reports a config that cannot be used.
func (c Config) Validate() error {
	for i, k := range c.APIKeys {
		if k == "" || strings.ContainsAny(k, " \t\r\n") {
			return fmt.Errorf("api: API key %d is empty or contains white space", i+1)
		}
	}
	switch {
	case c.DefaultReplication < 0 || c.DefaultReplication > 255:
		return fmt.Errorf("api: default replication %d outside 0..255", c.DefaultReplication)
	case c.DefaultMaxTokens < 0 || c.DefaultMaxTokens > proto.MaxJobTokens:
		return fmt.Errorf("api: default max tokens %d outside 0..%d", c.DefaultMaxTokens, proto.MaxJobTokens)
	case c.DecideTimeout < 0 || c.Heartbeat < 0 || c.MaxBundleBytes < 0:
		return errors.New("api: negative timeout, heartbeat or bundle size")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.DefaultReplication == 0 {
		c.DefaultReplication = 1
	}
	if c.DefaultMaxTokens == 0 {
		c.DefaultMaxTokens = 64
	}
	if c.DecideTimeout == 0 {
		c.DecideTimeout = 5 * time.Minute
	}
	if c.MaxBundleBytes == 0 {
		c.MaxBundleBytes = 8 << 30
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 15 * time.Second
	}
	return c
}

type server struct {
	n    *node.Node
	cfg  Config
	keys []keys.Hash // SHA-256 of each API key, compared in constant time
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns the node's HTTP handler. It panics if cfg.Validate fails.
func New(n *node.Node, cfg Config) http.Handler {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	s := &server{n: n, cfg: cfg.withDefaults(), log: n.Config().Logger.With("component", "api"), mux: http.NewServeMux()}
	for _, k := range cfg.APIKeys {
		s.keys = append(s.keys, keys.SHA256([]byte(k)))
	}
	m := s.mux
	m.HandleFunc("POST /api/jobs", s.spending(s.postJob))
	m.HandleFunc("POST /api/jobs/signed", s.postSignedJob)
	m.HandleFunc("GET /api/jobs", s.listJobs)
	m.HandleFunc("GET /api/jobs/{id}", s.getJob)
	m.HandleFunc("GET /api/jobs/{id}/events", s.jobEvents)
	m.HandleFunc("GET /api/bundles", s.listBundles)
	m.HandleFunc("POST /api/bundles", s.spending(s.postBundle))
	m.HandleFunc("GET /api/peers", s.peers)
	m.HandleFunc("GET /api/chain", s.chainInfo)
	m.HandleFunc("GET /api/blocks/{ref}", s.block)
	m.HandleFunc("GET /api/node", s.nodeInfo)
	m.HandleFunc("GET /v1/models", s.models)
	m.HandleFunc("GET /v1/models/{model...}", s.model)
	m.HandleFunc("POST /v1/completions", s.spending(s.completions))
	m.HandleFunc("POST /v1/chat/completions", s.spending(s.chatCompletions))
	registerOps(m, n)
	return s
}

// ServeHTTP answers unknown API paths and wrong methods with JSON errors
// and hands everything else to the mux.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/v1/") {
		if _, pattern := s.mux.Handler(r); pattern == "" || pattern == "/" {
			var allow []string
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				if m == r.Method {
					continue
				}
				q := r.Clone(r.Context())
				q.Method = m
				if _, p := s.mux.Handler(q); p != "" && p != "/" {
					allow = append(allow, m)
				}
			}
			if len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeError(w, &apiError{http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed",
					fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))})
				return
			}
			writeError(w, errNotFound("no such endpoint: %s %s", r.Method, r.URL.Path))
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// apiError is an error response.
type apiError struct {
	Status  int    `json:"-"`
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func errBadRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "not_found_error", "", fmt.Sprintf(format, args...)}
}

func errServer(err error) *apiError {
	return &apiError{http.StatusInternalServerError, "server_error", "", err.Error()}
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"encoding the response failed","type":"server_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decodeJSON reads a size-limited JSON body into v (unknown fields are
// refused when strict).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, strict bool) *apiError {
	body := http.MaxBytesReader(w, r.Body, maxJSONBytes)
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	var mb *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mb):
		return &apiError{http.StatusRequestEntityTooLarge, "invalid_request_error", "", fmt.Sprintf("request body over %d bytes", mb.Limit)}
	case errors.Is(err, io.EOF):
		return errBadRequest("empty request body; a JSON object is expected")
	default:
		return errBadRequest("bad JSON body: %v", err)
	}
}

func hexOrEmpty(h keys.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// resolveModel finds a bundle by manifest name or hex root among those the
// node holds or has heard of.
func (s *server) resolveModel(name string) (node.BundleView, bool) {
	views := s.n.KnownBundles()
	find := func(h keys.Hash) (node.BundleView, bool) {
		for _, v := range views {
			if v.Root == h {
				return v, true
			}
		}
		return node.BundleView{}, false
	}
	if h, err := keys.ParseHash(name); err == nil {
		return find(h)
	}
	if h, ok := s.n.BundleByName(name); ok {
		if v, ok := find(h); ok {
			return v, true
		}
	}
	sortBundles(views)
	for _, v := range views {
		if v.Name == name {
			return v, true
		}
	}
	return node.BundleView{}, false
}

// sortBundles puts held bundles first, then by name and root.
func sortBundles(vs []node.BundleView) {
	sort.Slice(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Held != b.Held {
			return a.Held
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Root.String() < b.Root.String()
	})
}

// bundleJSON is a bundle as the API lists it.
type bundleJSON struct {
	Root   string `json:"root"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Leaves int    `json:"leaves"`
	Arch   string `json:"arch,omitempty"`
	Held   bool   `json:"held"`
	Loaded bool   `json:"loaded"`
	Peers  int    `json:"peers,omitempty"`
}

func bundleOf(v node.BundleView) bundleJSON {
	return bundleJSON{Root: v.Root.String(), Name: v.Name, Size: v.Size, Leaves: v.Leaves, Arch: v.Arch,
		Held: v.Held, Loaded: v.Loaded, Peers: v.Peers}
}

func (s *server) listBundles(w http.ResponseWriter, r *http.Request) {
	views := s.n.KnownBundles()
	sortBundles(views)
	out := make([]bundleJSON, 0, len(views))
	for _, v := range views {
		out = append(out, bundleOf(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"bundles": out})
}

// postBundle publishes the .dna container in the request body.
func (s *server) postBundle(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength < 0 {
		writeError(w, &apiError{http.StatusLengthRequired, "invalid_request_error", "", "the bundle upload needs a Content-Length"})
		return
	}
	if r.ContentLength > s.cfg.MaxBundleBytes {
		writeError(w, &apiError{http.StatusRequestEntityTooLarge, "invalid_request_error", "",
			fmt.Sprintf("bundle of %d bytes, limit %d", r.ContentLength, s.cfg.MaxBundleBytes)})
		return
	}
	clearDeadlines(w)
	body := http.MaxBytesReader(w, r.Body, r.ContentLength)
	info, err := s.n.Publish(body, r.ContentLength)
	if err != nil {
		if errors.Is(err, bundle.ErrContainer) || errors.Is(err, bundle.ErrSignature) || errors.Is(err, bundle.ErrManifest) ||
			errors.Is(err, bundle.ErrCorrupt) || errors.Is(err, bundle.ErrTensorFile) {
			writeError(w, errBadRequest("not a valid bundle: %v", err))
			return
		}
		writeError(w, errServer(err))
		return
	}
	view := node.BundleView{Info: info, Held: true}
	for _, v := range s.n.KnownBundles() {
		if v.Root == info.Root {
			view = v
		}
	}
	w.Header().Set("Location", "/api/bundles")
	writeJSON(w, http.StatusCreated, bundleOf(view))
}

// clearDeadlines lifts the server's read and write deadlines from a
// request that streams or waits for a job.
func clearDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

func (s *server) peers(w http.ResponseWriter, r *http.Request) {
	type peerJSON struct {
		ID            string  `json:"id"`
		Addr          string  `json:"addr"`
		Outbound      bool    `json:"outbound"`
		Services      uint64  `json:"services"`
		Height        uint64  `json:"height"`
		Score         float64 `json:"score"`
		RTTMillis     float64 `json:"rtt_ms"`
		BytesSent     uint64  `json:"bytes_sent"`
		BytesReceived uint64  `json:"bytes_received"`
		PacketsLost   uint64  `json:"packets_lost"`
	}
	ps := s.n.Net().Peers()
	sort.Slice(ps, func(i, j int) bool { return ps[i].Addr < ps[j].Addr })
	out := make([]peerJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, peerJSON{ID: p.ID.String(), Addr: p.Addr, Outbound: p.Outbound, Services: p.Services,
			Height: p.Height, Score: p.Score, RTTMillis: float64(p.RTT.Microseconds()) / 1000,
			BytesSent: p.BytesSent, BytesReceived: p.BytesReceived, PacketsLost: p.PacketsLost})
	}
	writeJSON(w, http.StatusOK, map[string]any{"peers": out})
}

type blockSummary struct {
	Height     uint64 `json:"height"`
	Hash       string `json:"hash"`
	Time       int64  `json:"time"` // unix ms
	Txs        int    `json:"txs"`
	Jobs       int    `json:"jobs"` // transactions naming a job
	Bytes      int    `json:"bytes"`
	Miner      string `json:"miner,omitempty"`
	Fees       uint64 `json:"fees"`
	PrevHash   string `json:"prev_hash"`
	MerkleRoot string `json:"merkle_root"`
	Bits       uint32 `json:"bits"`
	Nonce      uint64 `json:"nonce"`
	Version    uint32 `json:"version"`
}

func (s *server) summary(b *chain.Block) blockSummary {
	out := blockSummary{Height: b.Header.Height, Hash: b.Hash().String(), Time: b.Header.Timestamp, Txs: len(b.Txs),
		Bytes: len(b.Encode()), PrevHash: b.Header.PrevHash.String(), Bits: b.Header.Bits, Nonce: b.Header.Nonce,
		Version: b.Header.Version, MerkleRoot: b.Header.MerkleRoot.String()}
	for _, tx := range b.Txs {
		if !tx.JobID.IsZero() {
			out.Jobs++
		}
		if tx.Type == chain.TxCoinbase {
			if cb, err := chain.DecodeCoinbase(tx.Payload); err == nil {
				out.Miner = s.n.Address(cb.To)
			}
		} else {
			out.Fees += tx.Fee
		}
	}
	return out
}

func (s *server) chainInfo(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "blocks", 10, 0, 100)
	if err != nil {
		writeError(w, err)
		return
	}
	c := s.n.Chain()
	tip := c.Tip()
	supply, serr := c.Supply()
	if serr != nil {
		writeError(w, errServer(serr))
		return
	}
	chainJobs, jerr := c.JobCounts()
	if jerr != nil {
		writeError(w, errServer(jerr))
		return
	}
	cj := map[string]int{}
	for st, k := range chainJobs {
		cj[st.String()] = k
	}
	blocks := []blockSummary{}
	for h := int64(tip.Height); h >= 0 && len(blocks) < n; h-- {
		b, err := c.BlockByHeight(uint64(h))
		if err != nil {
			break // the tip moved under us; what we have will do
		}
		blocks = append(blocks, s.summary(b))
	}
	p := s.n.Params()
	writeJSON(w, http.StatusOK, map[string]any{
		"net":     p.Name,
		"genesis": c.GenesisHash().String(),
		"tip": map[string]any{"height": tip.Height, "hash": tip.Hash.String(), "time": tip.Timestamp,
			"median_time": tip.MedianTime},
		"supply": map[string]any{"minted": supply.Minted, "burned": supply.Burned,
			"circulating": supply.Minted - min(supply.Burned, supply.Minted)},
		"jobs":       map[string]any{"chain": cj, "node": s.n.JobCounts()},
		"mempool":    map[string]any{"txs": s.n.Mempool().Len()},
		"orphans":    c.Orphans(),
		"blocks":     blocks,
		"coin_units": chain.Coin,
	})
}

func (s *server) block(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	c := s.n.Chain()
	var b *chain.Block
	var err error
	if h, perr := strconv.ParseUint(ref, 10, 64); perr == nil && len(ref) < 2*keys.HashSize {
		b, err = c.BlockByHeight(h)
	} else if hash, perr := keys.ParseHash(ref); perr == nil {
		b, err = c.BlockByHash(hash)
	} else {
		writeError(w, errBadRequest("block reference %q is neither a height nor a 64-character hex hash", ref))
		return
	}
	if err != nil {
		if errors.Is(err, chain.ErrNotFound) {
			writeError(w, errNotFound("no block %s", ref))
			return
		}
		writeError(w, errServer(err))
		return
	}
	type txJSON struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Sender string `json:"sender,omitempty"`
		Nonce  uint64 `json:"nonce"`
		Fee    uint64 `json:"fee"`
		Job    string `json:"job,omitempty"`
		Bytes  int    `json:"bytes"`
		Body   any    `json:"body,omitempty"`
	}
	txs := make([]txJSON, 0, len(b.Txs))
	for _, tx := range b.Txs {
		t := txJSON{ID: tx.ID().String(), Type: tx.Type.String(), Nonce: tx.Nonce, Fee: tx.Fee,
			Job: hexOrEmpty(tx.JobID), Bytes: len(tx.Encode()), Body: s.txBody(tx)}
		if tx.Type != chain.TxCoinbase {
			t.Sender = s.n.Address(tx.Sender())
		}
		txs = append(txs, t)
	}
	best := false
	if h, err := c.HashAtHeight(b.Header.Height); err == nil && h == b.Hash() {
		best = true
	}
	writeJSON(w, http.StatusOK, map[string]any{"block": s.summary(b), "best_chain": best, "transactions": txs})
}

// txBody shows a transaction's fields.
func (s *server) txBody(tx *chain.Tx) any {
	if tx.Type == chain.TxCoinbase {
		cb, err := chain.DecodeCoinbase(tx.Payload)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return map[string]any{"to": s.n.Address(cb.To), "amount": cb.Amount, "height": cb.Height}
	}
	body, err := tx.Body()
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	switch b := body.(type) {
	case *chain.Transfer:
		return map[string]any{"to": s.n.Address(b.To), "amount": b.Amount}
	case *chain.JobEscrow:
		return map[string]any{"bundle": b.BundleRoot.String(), "reward": b.Reward, "replication": b.Replication,
			"min_stake": b.MinStake, "deadline": b.Deadline, "rule": b.Rule}
	case *chain.Stake:
		return map[string]any{"amount": b.Amount}
	case *chain.Result:
		agree := make([]string, 0, len(b.Agree))
		for _, a := range b.Agree {
			agree = append(agree, s.n.Address(a))
		}
		return map[string]any{"bundle": b.BundleRoot.String(), "result": b.ResultHash.String(), "rule": b.Rule,
			"agree": agree, "certificate_bytes": len(b.Certificate)}
	case *chain.Dispute:
		return map[string]any{"evidence_bytes": len(b.Evidence)}
	}
	return nil
}

func (s *server) nodeInfo(w http.ResponseWriter, r *http.Request) {
	n := s.n
	cfg := n.Config()
	acct, err := n.Chain().Account(n.Account())
	if err != nil {
		writeError(w, errServer(err))
		return
	}
	auth := "loopback"
	if len(s.keys) > 0 {
		auth = "api-key"
	}
	started := n.Started()
	uptime := 0.0
	if !started.IsZero() {
		uptime = time.Since(started).Seconds()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":        n.ID().String(),
		"key":       fmt.Sprintf("%x", n.Key().Bytes()),
		"address":   n.Address(n.Account()),
		"balance":   acct.Balance,
		"nonce":     acct.Nonce,
		"net":       n.Params().Name,
		"listen":    n.Net().Addr().String(),
		"height":    n.Chain().Tip().Height,
		"peers":     len(n.Net().Peers()),
		"started":   started,
		"uptime_s":  uptime,
		"jobs":      n.JobCounts(),
		"bundles":   len(n.KnownBundles()),
		"agent":     "dnahost/1",
		"coin_unit": chain.Coin,
		"config": map[string]any{
			"compute": cfg.Compute, "workers": cfg.Workers, "threads": cfg.Threads, "engine": cfg.Engine,
			"stake": cfg.Stake, "fee": cfg.Fee, "mine": cfg.Mine, "seeds": cfg.Seeds,
			"commit_window_s": cfg.CommitWindow.Seconds(), "reveal_window_s": cfg.RevealWindow.Seconds(),
			"sign_window_s": cfg.SignWindow.Seconds(), "behavior": cfg.Behavior,
		},
		"api": map[string]any{
			"auth": auth, "default_replication": s.cfg.DefaultReplication, "default_max_tokens": s.cfg.DefaultMaxTokens,
			"decide_timeout_s": s.cfg.DecideTimeout.Seconds(), "max_bundle_bytes": s.cfg.MaxBundleBytes,
		},
	})
}

// queryInt reads an integer query parameter within [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int) (int, *apiError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < lo || k > hi {
		return 0, errBadRequest("%s=%q: want an integer in %d..%d", name, v, lo, hi)
	}
	return k, nil
}
