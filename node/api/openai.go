package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node"
)

// oaRequest is the body of /v1/completions and /v1/chat/completions.
// Fields not listed (top_p, stop, logprobs, user, ...) are ignored.
type oaRequest struct {
	Model               string          `json:"model"`
	Prompt              json.RawMessage `json:"prompt"`
	Messages            []oaMessage     `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	Seed                *json.Number    `json:"seed"`
	N                   *int            `json:"n"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	TopK        *int `json:"top_k"`
	Replication *int `json:"replication"`
}

type oaMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type oaUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type oaMsgOut struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type oaChoice struct {
	Index        int       `json:"index"`
	Text         *string   `json:"text,omitempty"`    // completions
	Message      *oaMsgOut `json:"message,omitempty"` // chat
	Delta        *oaMsgOut `json:"delta,omitempty"`   // chat chunks
	Logprobs     any       `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// oaExtra tells a client where its completion came from.
type oaExtra struct {
	Job         string     `json:"job"`
	Bundle      string     `json:"bundle"`
	Result      string     `json:"result,omitempty"`
	Stage       node.Stage `json:"stage"`
	Replication int        `json:"replication"`
	Agree       int        `json:"agree"`
}

type oaResponse struct {
	ID                string     `json:"id"`
	Object            string     `json:"object"`
	Created           int64      `json:"created"`
	Model             string     `json:"model"`
	SystemFingerprint string     `json:"system_fingerprint,omitempty"`
	Choices           []oaChoice `json:"choices"`
	Usage             *oaUsage   `json:"usage,omitempty"`
	Dnahost           *oaExtra   `json:"dnahost,omitempty"`
}

type oaModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Root    string `json:"root"`
	Size    int64  `json:"size"`
	Held    bool   `json:"held"`
}

func ptr[T any](v T) *T { return &v }

// models lists the bundles by name (by root where a name is missing or
// taken by the bundle the name selects).
func (s *server) models(w http.ResponseWriter, r *http.Request) {
	views := s.n.KnownBundles()
	sortBundles(views)
	primary := map[string]keys.Hash{}
	out := []oaModel{}
	for _, v := range views {
		id := v.Name
		if id != "" {
			if _, ok := primary[id]; !ok {
				if bv, ok := s.resolveModel(id); ok {
					primary[id] = bv.Root
				}
			}
		}
		if id == "" || primary[id] != v.Root {
			id = v.Root.String()
		}
		out = append(out, modelOf(id, v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
}

func modelOf(id string, v node.BundleView) oaModel {
	return oaModel{ID: id, Object: "model", OwnedBy: "dnahost", Root: v.Root.String(), Size: v.Size, Held: v.Held}
}

func (s *server) model(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	v, ok := s.resolveModel(name)
	if !ok {
		writeError(w, &apiError{http.StatusNotFound, "not_found_error", "model_not_found",
			fmt.Sprintf("the model %q does not exist", name)})
		return
	}
	writeJSON(w, http.StatusOK, modelOf(name, v))
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) { s.complete(w, r, false) }

func (s *server) chatCompletions(w http.ResponseWriter, r *http.Request) { s.complete(w, r, true) }

// completionPrompt reads a completion's prompt: a string, or an array of
// one string.
func completionPrompt(raw json.RawMessage) (string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errBadRequest("prompt is required")
	}
	var p string
	if err := json.Unmarshal(raw, &p); err == nil {
		return p, nil
	}
	var ps []string
	if err := json.Unmarshal(raw, &ps); err == nil && len(ps) == 1 {
		return ps[0], nil
	}
	return "", errBadRequest("prompt must be a string (batches and token arrays are not supported)")
}

var chatRoles = map[string]string{"system": "System", "developer": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}

// renderChat renders messages into the plain prompt the package
// documentation describes.
func renderChat(msgs []oaMessage) (string, *apiError) {
	if len(msgs) == 0 {
		return "", errBadRequest("messages is required and must not be empty")
	}
	var b strings.Builder
	for i, m := range msgs {
		role, ok := chatRoles[m.Role]
		if !ok {
			return "", errBadRequest("messages[%d].role %q: system, developer, user, assistant or tool", i, m.Role)
		}
		text, e := messageText(m.Content)
		if e != nil {
			return "", errBadRequest("messages[%d].content: %s", i, e.Message)
		}
		b.WriteString(role + ": " + text + "\n")
	}
	b.WriteString("Assistant:")
	return b.String(), nil
}

// messageText reads a message's content: a string, null, or text parts
// (joined by newlines).
func messageText(raw json.RawMessage) (string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errBadRequest("a string or an array of text parts is expected")
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.Type != "text" {
			return "", errBadRequest("content part of type %q: only text is supported", p.Type)
		}
		texts = append(texts, p.Text)
	}
	return strings.Join(texts, "\n"), nil
}

// completion is one /v1 request in flight.
type completion struct {
	chat      bool
	model     string
	prompt    string
	bundle    keys.Hash
	maxTokens int
	created   int64
	rec       *node.JobRecord
}

func (s *server) complete(w http.ResponseWriter, r *http.Request, chat bool) {
	var req oaRequest
	if e := decodeJSON(w, r, &req, false); e != nil {
		writeError(w, e)
		return
	}
	var prompt string
	var e *apiError
	if chat {
		prompt, e = renderChat(req.Messages)
	} else {
		prompt, e = completionPrompt(req.Prompt)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	if req.Model == "" {
		writeError(w, errBadRequest("model is required (GET /v1/models lists them)"))
		return
	}
	if req.N != nil && *req.N != 1 {
		writeError(w, errBadRequest("n=%d: one choice per request is supported", *req.N))
		return
	}
	body := submitJSON{Model: req.Model, Prompt: prompt, Temperature: 1}
	switch {
	case req.MaxCompletionTokens != nil:
		body.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		body.MaxTokens = *req.MaxTokens
	}
	if (req.MaxCompletionTokens != nil || req.MaxTokens != nil) && body.MaxTokens == 0 {
		writeError(w, errBadRequest("max_tokens must be at least 1"))
		return
	}
	if req.Temperature != nil {
		body.Temperature = *req.Temperature
	}
	if req.TopK != nil {
		body.TopK = *req.TopK
	}
	if req.Replication != nil {
		if *req.Replication < 1 {
			writeError(w, errBadRequest("replication must be at least 1"))
			return
		}
		body.Replication = *req.Replication
	}
	switch {
	case req.Seed != nil:
		v, err := parseSeed(string(*req.Seed))
		if err != nil {
			writeError(w, errBadRequest("seed %s: an integer is expected", *req.Seed))
			return
		}
		body.Seed = v
	case body.Temperature > 0:
		body.Seed = rand.Uint64()
	}
	sreq, bv, e := s.submitRequest(&body)
	if e != nil {
		writeError(w, e)
		return
	}
	rec, err := s.n.Submit(r.Context(), sreq)
	if err != nil {
		writeError(w, submitError(err))
		return
	}
	// The job is paid for: a retry would pay for another.
	w.Header().Set("X-Should-Retry", "false")
	w.Header().Set("X-Dnahost-Job", rec.ID.String())
	updates, cancel := s.n.Watch(rec.ID)
	defer cancel()
	clearDeadlines(w)
	c := &completion{chat: chat, model: req.Model, prompt: prompt, bundle: bv.Root, maxTokens: sreq.MaxTokens,
		created: time.Now().Unix(), rec: rec}
	ctx, stop := context.WithTimeout(r.Context(), s.cfg.DecideTimeout)
	defer stop()
	if req.Stream {
		s.stream(w, r, ctx, c, updates, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	rec, e = s.await(r.Context(), ctx, rec.ID, updates, nil, nil)
	if e != nil {
		writeError(w, e)
		return
	}
	if rec == nil {
		return // the client left
	}
	c.rec = rec
	text := rec.Text
	if chat {
		text = strings.TrimLeft(text, " \t\r\n")
	}
	resp := s.response(c)
	if chat {
		resp.Choices = []oaChoice{{Message: &oaMsgOut{Role: "assistant", Content: &text}, FinishReason: ptr(finishReason(c))}}
	} else {
		resp.Choices = []oaChoice{{Text: &text, FinishReason: ptr(finishReason(c))}}
	}
	resp.Usage = s.usage(r.Context(), c)
	writeJSON(w, http.StatusOK, resp)
}

func parseSeed(s string) (uint64, error) {
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return uint64(v), err
}

// response is a response or chunk without its choices.
func (s *server) response(c *completion) *oaResponse {
	obj := "text_completion"
	if c.chat {
		obj = "chat.completion"
	}
	agree := 0
	for _, nv := range c.rec.Nodes {
		if nv.Agree {
			agree++
		}
	}
	rep := 0
	if j, err := c.rec.Job(); err == nil {
		rep = int(j.Replication)
	}
	return &oaResponse{ID: c.rec.ID.String(), Object: obj, Created: c.created, Model: c.model,
		SystemFingerprint: "dnahost-" + c.bundle.String()[:16],
		Dnahost: &oaExtra{Job: c.rec.ID.String(), Bundle: c.bundle.String(), Result: hexOrEmpty(c.rec.Result),
			Stage: c.rec.Stage, Replication: rep, Agree: agree}}
}

func finishReason(c *completion) string {
	if len(c.rec.Tokens) >= c.maxTokens {
		return "length"
	}
	return "stop"
}

// usage counts the prompt's tokens (with the bundle's tokenizer, which the
// coordinating node has loaded to verify) and the result's.
func (s *server) usage(ctx context.Context, c *completion) *oaUsage {
	u := &oaUsage{CompletionTokens: len(c.rec.Tokens)}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if toks, err := s.n.Tokenize(ctx, c.bundle, c.prompt); err == nil {
		u.PromptTokens = len(toks)
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// await waits until a job is decided or fails, passing this node's tokens
// to onToken and calling onTick every heartbeat. It returns a nil record
// and error when the client left (client), and a 504 when ctx ends first.
func (s *server) await(client, ctx context.Context, id keys.Hash, updates <-chan node.Update,
	onToken func(node.Update), onTick func()) (*node.JobRecord, *apiError) {
	check := func() (*node.JobRecord, *apiError, bool) {
		rec, err := s.n.Job(id)
		if err != nil {
			return nil, errServer(err), true
		}
		for _, ev := range rec.History {
			switch ev.Stage {
			case node.StageDecided:
				return rec, nil, true
			case node.StageFailed:
				return rec, &apiError{http.StatusBadGateway, "job_failed", "",
					fmt.Sprintf("job %s was not decided: %s", id, rec.Reason)}, true
			}
		}
		if rec.Stage.Final() {
			return rec, &apiError{http.StatusBadGateway, "job_failed", "",
				fmt.Sprintf("job %s ended %s without a decision", id, rec.Stage)}, true
		}
		return rec, nil, false
	}
	if rec, e, done := check(); done {
		return rec, e
	}
	poll := time.NewTicker(time.Second) // updates a slow reader lost are in the record
	defer poll.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			if client.Err() != nil {
				return nil, nil
			}
			return nil, &apiError{http.StatusGatewayTimeout, "timeout_error", "",
				fmt.Sprintf("job %s was not decided within %s; it goes on: GET /api/jobs/%s", id, s.cfg.DecideTimeout, id)}
		case u := <-updates:
			if u.Event == nil {
				if onToken != nil {
					onToken(u)
				}
				continue
			}
			if u.Event.Stage != node.StageDecided && u.Event.Stage != node.StageFailed && !u.Final {
				continue
			}
		case <-poll.C:
		case <-beat.C:
			if onTick != nil {
				onTick()
			}
			continue
		}
		if rec, e, done := check(); done {
			return rec, e
		}
	}
}

// stream answers in OpenAI's chunk format: this node's tokens as it
// generates them, then what the decided text has beyond them.
func (s *server) stream(w http.ResponseWriter, r *http.Request, ctx context.Context, c *completion,
	updates <-chan node.Update, includeUsage bool) {
	sse := startSSE(w, nil)
	chunk := func(text *string, finish *string) error {
		resp := s.response(c)
		resp.Dnahost = nil
		ch := oaChoice{FinishReason: finish}
		if c.chat {
			resp.Object = "chat.completion.chunk"
			ch.Delta = &oaMsgOut{Content: text}
		} else {
			if text == nil {
				text = ptr("")
			}
			ch.Text = text
		}
		resp.Choices = []oaChoice{ch}
		return sse.data(resp)
	}
	if c.chat {
		resp := s.response(c)
		resp.Dnahost, resp.Object = nil, "chat.completion.chunk"
		resp.Choices = []oaChoice{{Delta: &oaMsgOut{Role: "assistant", Content: ptr("")}}}
		sse.data(resp)
	}
	var streamed strings.Builder
	next, gap, lead := 0, false, c.chat
	emit := func(t string) {
		if lead {
			if t = strings.TrimLeft(t, " \t\r\n"); t == "" {
				return
			}
			lead = false
		}
		chunk(&t, nil)
	}
	onToken := func(u node.Update) {
		switch {
		case gap || u.Index < next: // a computation done again sends the same tokens
			return
		case u.Index > next: // tokens lost: the decided text will fill in
			gap = true
			return
		}
		next++
		streamed.WriteString(u.Token)
		if u.Token != "" {
			emit(u.Token)
		}
	}
	fail := func(e *apiError) {
		sse.data(struct {
			Error *apiError `json:"error"`
		}{e})
		sse.done()
	}
	rec, e := s.await(r.Context(), ctx, c.rec.ID, updates, onToken, func() { sse.comment("waiting for job " + c.rec.ID.String()) })
	if e != nil {
		fail(e)
		return
	}
	if rec == nil {
		return
	}
	c.rec = rec
	rest, ok := remainder(rec.Text, streamed.String())
	if !ok {
		fail(&apiError{http.StatusBadGateway, "job_failed", "",
			fmt.Sprintf("the decided result of job %s is not what this node streamed; GET /api/jobs/%s has it", rec.ID, rec.ID)})
		return
	}
	if rest != "" {
		emit(rest)
	}
	chunk(nil, ptr(finishReason(c)))
	if includeUsage {
		resp := s.response(c)
		resp.Dnahost = nil
		if c.chat {
			resp.Object = "chat.completion.chunk"
		}
		resp.Choices = []oaChoice{}
		resp.Usage = s.usage(r.Context(), c)
		sse.data(resp)
	}
	sse.done()
}

// remainder is what the decided text has beyond what was streamed. A
// text decoded after the prompt may start with a space that the decided
// text (decoded on its own) lacks, or the other way round.
func remainder(decided, streamed string) (string, bool) {
	if strings.HasPrefix(decided, streamed) {
		return decided[len(streamed):], true
	}
	d, st := strings.TrimLeft(decided, " "), strings.TrimLeft(streamed, " ")
	if strings.HasPrefix(d, st) {
		return d[len(st):], true
	}
	return "", false
}
