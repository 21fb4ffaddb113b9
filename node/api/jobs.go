package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node"
	"github.com/dnahost/dnahost/node/proto"
)

// submitJSON is the body of POST /api/jobs.
type submitJSON struct {
	Model       string  `json:"model"`
	Bundle      string  `json:"bundle"`
	Prompt      string  `json:"prompt"`
	MaxTokens   int     `json:"max_tokens"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	Seed        uint64  `json:"seed"`
	Replication int     `json:"replication"`
	Reward      uint64  `json:"reward"`
	MinStake    uint64  `json:"min_stake"`
	DeadlineS   float64 `json:"deadline_s"`
	Verify      string  `json:"verify"`
	Samples     int     `json:"samples"`
	Private     bool    `json:"private"`
}

// jobParams are the terms of a job, decoded from the signed job.
type jobParams struct {
	Bundle      string  `json:"bundle"`
	MaxTokens   uint32  `json:"max_tokens"`
	Temperature float32 `json:"temperature"`
	TopK        uint32  `json:"top_k"`
	Seed        uint64  `json:"seed"`
	Replication uint8   `json:"replication"`
	Reward      uint64  `json:"reward"`
	MinStake    uint64  `json:"min_stake"`
	Deadline    int64   `json:"deadline"` // unix ms, chain time
	Verify      string  `json:"verify"`
	Samples     uint8   `json:"samples"`
	Private     bool    `json:"private"`
	Created     int64   `json:"created"` // unix ns
	Client      string  `json:"client"`  // the paying account
}

// localJSON is this node's own work on a job.
type localJSON struct {
	StakeTx    string  `json:"stake_tx,omitempty"`
	Staked     bool    `json:"staked"`
	Computed   bool    `json:"computed"`
	Tokens     []int32 `json:"tokens,omitempty"`
	Digest     string  `json:"digest,omitempty"`
	Text       string  `json:"text,omitempty"`
	ComputeMs  float64 `json:"compute_ms"`
	WorkUnits  uint64  `json:"work_units"`
	Committed  bool    `json:"committed"`
	Revealed   bool    `json:"revealed"`
	CertSigned bool    `json:"cert_signed"`
	Dropped    bool    `json:"dropped"`
	Error      string  `json:"error,omitempty"`
}

// jobJSON is a job record as the API shows it: hashes in hex, the signed
// job decoded. Lists leave out the history, nodes and messages.
type jobJSON struct {
	ID           string          `json:"id"`
	Stage        node.Stage      `json:"stage"`
	Model        string          `json:"model,omitempty"`
	Bundle       string          `json:"bundle"`
	Prompt       string          `json:"prompt"`
	Coordinator  string          `json:"coordinator"`
	Coordinating bool            `json:"coordinating"`
	Params       *jobParams      `json:"params,omitempty"`
	Text         string          `json:"text,omitempty"`
	Tokens       []int32         `json:"tokens,omitempty"`
	Result       string          `json:"result,omitempty"`
	Rule         string          `json:"rule,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	ResultTx     string          `json:"result_tx,omitempty"`
	BlockHash    string          `json:"block_hash,omitempty"`
	BlockHeight  uint64          `json:"block_height,omitempty"`
	Received     int64           `json:"received"`
	AcceptedAt   int64           `json:"accepted_at,omitempty"`
	RevealAt     int64           `json:"reveal_at,omitempty"`
	DecideAt     int64           `json:"decide_at,omitempty"`
	DecidedAt    int64           `json:"decided_at,omitempty"`
	RecordAt     int64           `json:"record_at,omitempty"`
	RecordedAt   int64           `json:"recorded_at,omitempty"`
	ClosedAt     int64           `json:"closed_at,omitempty"`
	History      []node.Event    `json:"history,omitempty"`
	Nodes        []node.NodeView `json:"nodes,omitempty"`
	Local        *localJSON      `json:"local,omitempty"`

	// The signed job, escrow transaction and protocol messages
	// (base64), in the full record only.
	Job      []byte            `json:"job,omitempty"`
	EscrowTx []byte            `json:"escrow_tx,omitempty"`
	Decision []byte            `json:"decision,omitempty"`
	Commits  map[string][]byte `json:"commits,omitempty"`
	Reveals  map[string][]byte `json:"reveals,omitempty"`
	CertSigs map[string][]byte `json:"cert_sigs,omitempty"`
}

// bundleNames maps the roots of known bundles to their names.
func (s *server) bundleNames() map[string]string {
	m := map[string]string{}
	for _, b := range s.n.KnownBundles() {
		m[b.Root.String()] = b.Name
	}
	return m
}

// jobOf shows a record; names (from bundleNames, or nil) names its bundle
// when the record does not.
func (s *server) jobOf(r *node.JobRecord, full bool, names map[string]string) *jobJSON {
	v := &jobJSON{ID: r.ID.String(), Stage: r.Stage, Model: r.Model, Bundle: r.Bundle, Prompt: r.Prompt,
		Coordinator: r.Coordinator, Coordinating: r.Coordinating, Text: r.Text, Result: hexOrEmpty(r.Result),
		Rule: r.Rule, Reason: r.Reason, ResultTx: hexOrEmpty(r.ResultTx), BlockHash: hexOrEmpty(r.BlockHash),
		BlockHeight: r.BlockHeight, Received: r.Received, AcceptedAt: r.AcceptedAt, RevealAt: r.RevealAt,
		DecideAt: r.DecideAt, DecidedAt: r.DecidedAt, RecordAt: r.RecordAt, RecordedAt: r.RecordedAt,
		ClosedAt: r.ClosedAt}
	if v.Model == "" {
		if names == nil {
			names = s.bundleNames()
		}
		v.Model = names[r.Bundle]
	}
	if j, err := r.Job(); err == nil {
		mode := "rastic"
		if j.Verify == proto.VerifyFull {
			mode = "full"
		}
		v.Params = &jobParams{Bundle: j.Bundle.String(), MaxTokens: j.MaxTokens, Temperature: j.Temperature,
			TopK: j.TopK, Seed: j.Seed, Replication: j.Replication, Reward: j.Reward, MinStake: j.MinStake,
			Deadline: j.Deadline, Verify: mode, Samples: j.Samples, Private: j.Private, Created: j.Created,
			Client: s.n.Address(j.ClientAddress())}
	}
	if !full {
		return v
	}
	v.Tokens, v.History, v.Nodes = r.Tokens, r.History, r.Nodes
	if v.History == nil {
		v.History = []node.Event{}
	}
	v.Job, v.EscrowTx, v.Decision = r.JobBytes, r.EscrowTx, r.Decision
	v.Commits, v.Reveals, v.CertSigs = r.Commits, r.Reveals, r.CertSigs
	if l := r.Local; l != nil {
		v.Local = &localJSON{StakeTx: hexOrEmpty(l.StakeTx), Staked: l.Staked, Computed: l.Computed, Tokens: l.Tokens,
			Digest: hexOrEmpty(l.Digest), Text: l.Text, ComputeMs: float64(l.Compute.Microseconds()) / 1000,
			WorkUnits: l.WorkUnits, Committed: l.Committed, Revealed: l.Revealed, CertSigned: l.CertSigned,
			Dropped: l.Dropped, Error: l.Error}
	}
	return v
}

// submitRequest checks a request's job terms and resolves its model.
func (s *server) submitRequest(b *submitJSON) (node.SubmitRequest, node.BundleView, *apiError) {
	var req node.SubmitRequest
	bv, e := s.bundleFor(b.Model, b.Bundle)
	if e != nil {
		return req, bv, e
	}
	maxRep := min(s.n.Params().MaxReplication, 255)
	switch {
	case b.Prompt == "":
		return req, bv, errBadRequest("prompt is empty")
	case len(b.Prompt) > proto.MaxPromptBytes:
		return req, bv, errBadRequest("prompt of %d bytes, limit %d", len(b.Prompt), proto.MaxPromptBytes)
	case b.MaxTokens < 0 || b.MaxTokens > proto.MaxJobTokens:
		return req, bv, errBadRequest("max_tokens %d outside 1..%d", b.MaxTokens, proto.MaxJobTokens)
	case math.IsNaN(b.Temperature) || b.Temperature < 0 || b.Temperature > 100:
		return req, bv, errBadRequest("temperature %v outside 0..100", b.Temperature)
	case b.TopK < 0:
		return req, bv, errBadRequest("top_k %d is negative", b.TopK)
	case b.Replication < 0 || b.Replication > maxRep:
		return req, bv, errBadRequest("replication %d outside 1..%d", b.Replication, maxRep)
	case b.DeadlineS < 0 || b.DeadlineS > 7*24*3600:
		return req, bv, errBadRequest("deadline_s %v outside 0..604800", b.DeadlineS)
	case b.Verify != "" && b.Verify != "rastic" && b.Verify != "full":
		return req, bv, errBadRequest("verify %q: rastic or full", b.Verify)
	case b.Samples < 0 || b.Samples > 255:
		return req, bv, errBadRequest("samples %d outside 0..255", b.Samples)
	}
	req = node.SubmitRequest{Bundle: bv.Root, Prompt: b.Prompt, MaxTokens: b.MaxTokens, Temperature: float32(b.Temperature),
		TopK: b.TopK, Seed: b.Seed, Replication: b.Replication, Reward: b.Reward, MinStake: b.MinStake,
		Deadline: time.Duration(b.DeadlineS * float64(time.Second)), Verify: b.Verify, Samples: b.Samples, Private: b.Private}
	if req.MaxTokens == 0 {
		req.MaxTokens = s.cfg.DefaultMaxTokens
	}
	if req.Replication == 0 {
		req.Replication = min(s.cfg.DefaultReplication, maxRep)
	}
	return req, bv, nil
}

// bundleFor resolves a model name or bundle root (one of them needed).
func (s *server) bundleFor(model, root string) (node.BundleView, *apiError) {
	switch {
	case model == "" && root == "":
		return node.BundleView{}, errBadRequest("a model (bundle name) or bundle (root) is needed")
	case root != "":
		h, err := keys.ParseHash(root)
		if err != nil {
			return node.BundleView{}, errBadRequest("bundle %q: %v", root, err)
		}
		bv, ok := s.resolveModel(root)
		if !ok {
			return bv, &apiError{http.StatusNotFound, "not_found_error", "model_not_found",
				fmt.Sprintf("bundle %s is neither held by this node nor announced by its peers", h)}
		}
		if model != "" {
			if mv, ok := s.resolveModel(model); !ok || mv.Root != h {
				return bv, errBadRequest("model %q is not bundle %s", model, h.String()[:16])
			}
		}
		return bv, nil
	}
	bv, ok := s.resolveModel(model)
	if !ok {
		return bv, &apiError{http.StatusNotFound, "not_found_error", "model_not_found",
			fmt.Sprintf("the model %q does not exist: no bundle of that name or root is known here (GET /v1/models lists them)", model)}
	}
	return bv, nil
}

// submitError maps a failed submission to a response.
func submitError(err error) *apiError {
	switch {
	case errors.Is(err, node.ErrBadJob), errors.Is(err, proto.ErrMessage), errors.Is(err, proto.ErrEscrow):
		return errBadRequest("%v", err)
	case errors.Is(err, node.ErrNoBundle):
		return &apiError{http.StatusNotFound, "not_found_error", "model_not_found", err.Error()}
	case errors.Is(err, chain.ErrSenderLimit):
		return &apiError{http.StatusTooManyRequests, "rate_limit_error", "", err.Error()}
	case errors.Is(err, chain.ErrMempoolFull):
		return &apiError{http.StatusServiceUnavailable, "server_error", "", err.Error()}
	case errors.Is(err, chain.ErrFeeTooLow), errors.Is(err, chain.ErrNonceGap), errors.Is(err, chain.ErrStaleNonce),
		errors.Is(err, chain.ErrReplacementFee), errors.Is(err, chain.ErrCoinbaseTx):
		return errBadRequest("%v", err)
	}
	switch chain.CodeOf(err) {
	case 0:
		return errServer(err)
	case chain.ErrInsufficientFunds:
		return &apiError{http.StatusPaymentRequired, "insufficient_funds", "insufficient_quota", err.Error()}
	default:
		return errBadRequest("%v", err)
	}
}

func (s *server) postJob(w http.ResponseWriter, r *http.Request) {
	var body submitJSON
	if e := decodeJSON(w, r, &body, true); e != nil {
		writeError(w, e)
		return
	}
	req, _, e := s.submitRequest(&body)
	if e != nil {
		writeError(w, e)
		return
	}
	rec, err := s.n.Submit(r.Context(), req)
	if err != nil {
		writeError(w, submitError(err))
		return
	}
	w.Header().Set("Location", "/api/jobs/"+rec.ID.String())
	writeJSON(w, http.StatusAccepted, s.jobOf(rec, true, nil))
}

// postSignedJob coordinates a job its client signed and pays for.
func (s *server) postSignedJob(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Job    string `json:"job"`
		Escrow string `json:"escrow"`
	}
	if e := decodeJSON(w, r, &body, true); e != nil {
		writeError(w, e)
		return
	}
	jb, err := decodeBase64(body.Job)
	if err != nil || len(jb) == 0 {
		writeError(w, errBadRequest("job: base64 of proto.Job.Encode() needed"))
		return
	}
	eb, err := decodeBase64(body.Escrow)
	if err != nil || len(eb) == 0 {
		writeError(w, errBadRequest("escrow: base64 of the escrow transaction's encoding needed"))
		return
	}
	j, err := proto.DecodeJob(jb)
	if err != nil {
		writeError(w, errBadRequest("job: %v", err))
		return
	}
	tx, err := chain.DecodeTx(eb)
	if err != nil {
		writeError(w, errBadRequest("escrow: %v", err))
		return
	}
	if _, e := s.bundleFor("", j.Bundle.String()); e != nil {
		writeError(w, e)
		return
	}
	rec, err := s.n.SubmitSigned(j, tx)
	if err != nil {
		writeError(w, submitError(err))
		return
	}
	w.Header().Set("Location", "/api/jobs/"+rec.ID.String())
	writeJSON(w, http.StatusAccepted, s.jobOf(rec, true, nil))
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	limit, e := queryInt(r, "limit", 50, 1, 1000)
	if e != nil {
		writeError(w, e)
		return
	}
	recs := s.n.Jobs(limit)
	out := make([]*jobJSON, 0, len(recs))
	names := s.bundleNames()
	for _, rec := range recs {
		out = append(out, s.jobOf(rec, false, names))
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out, "counts": s.n.JobCounts()})
}

// jobRecord reads the {id} path value's job.
func (s *server) jobRecord(r *http.Request) (*node.JobRecord, *apiError) {
	id, err := keys.ParseHash(r.PathValue("id"))
	if err != nil {
		return nil, errBadRequest("job ID %q: %v", r.PathValue("id"), err)
	}
	rec, err := s.n.Job(id)
	if err != nil {
		return nil, errNotFound("no job %s on this node", id)
	}
	return rec, nil
}

func (s *server) getJob(w http.ResponseWriter, r *http.Request) {
	rec, e := s.jobRecord(r)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, s.jobOf(rec, true, nil))
}

// Event stream payloads.
type (
	stageEvent struct {
		Job   string     `json:"job"`
		Stage node.Stage `json:"stage"`
		Event node.Event `json:"event"`
	}
	tokenEvent struct {
		Job   string `json:"job"`
		Index int    `json:"index"`
		Token string `json:"token"`
	}
	decidedEvent struct {
		Job    string `json:"job"`
		Result string `json:"result"`
		Text   string `json:"text"`
		Tokens int    `json:"tokens"`
		Agree  int    `json:"agree"`
	}
)

// jobEvents streams a job's history, then its updates, until it is final.
func (s *server) jobEvents(w http.ResponseWriter, r *http.Request) {
	rec, e := s.jobRecord(r)
	if e != nil {
		writeError(w, e)
		return
	}
	id := rec.ID
	updates, cancel := s.n.Watch(id)
	defer cancel()
	// Read again after watching, so that nothing falls between.
	if rec, _ = s.n.Job(id); rec == nil {
		writeError(w, errNotFound("no job %s on this node", id))
		return
	}
	sent := 0
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if k, err := strconv.Atoi(v); err == nil && k >= 0 {
			sent = min(k+1, len(rec.History))
		}
	}
	stage := node.Stage("")
	for _, ev := range rec.History[:sent] {
		if ev.Stage != "" {
			stage = ev.Stage
		}
	}
	sse := startSSE(w, nil)
	// emit sends the history entries not sent yet; it reports the end.
	emit := func(rec *node.JobRecord) bool {
		for ; sent < len(rec.History); sent++ {
			ev := rec.History[sent]
			if ev.Stage != "" {
				stage = ev.Stage
			}
			if sse.event("stage", strconv.Itoa(sent), stageEvent{Job: id.String(), Stage: stage, Event: ev}) != nil {
				return true
			}
			if ev.Stage == node.StageDecided {
				agree := 0
				for _, nv := range rec.Nodes {
					if nv.Agree {
						agree++
					}
				}
				sse.event("decided", "", decidedEvent{Job: id.String(), Result: hexOrEmpty(rec.Result), Text: rec.Text,
					Tokens: len(rec.Tokens), Agree: agree})
			}
		}
		if rec.Stage.Final() {
			sse.event("final", "", s.jobOf(rec, true, nil))
			return true
		}
		return sse.err != nil
	}
	if emit(rec) {
		return
	}
	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case u := <-updates:
			if u.Event == nil {
				if sse.event("token", "", tokenEvent{Job: id.String(), Index: u.Index, Token: u.Token}) != nil {
					return
				}
				continue
			}
		case <-tick.C:
			// A slow reader may have lost updates: the record has them.
			if sse.comment("ping") != nil {
				return
			}
		}
		if rec, err := s.n.Job(id); err == nil && emit(rec) {
			return
		}
	}
}
