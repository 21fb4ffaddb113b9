package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/chain"
)

// cmdJob submits jobs to a node and follows them.
func cmdJob(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usagef("dna job submit|status ...")
	}
	switch args[0] {
	case "submit":
		return jobSubmit(args[1:], out, errOut)
	case "status":
		return jobStatus(args[1:], out, errOut)
	}
	return usagef("unknown job command %q (submit, status)", args[0])
}

// jobView is the part of the API's job record the commands show.
type jobView struct {
	ID     string `json:"id"`
	Stage  string `json:"stage"`
	Model  string `json:"model"`
	Bundle string `json:"bundle"`
	Prompt string `json:"prompt"`
	Params *struct {
		MaxTokens   uint32  `json:"max_tokens"`
		Temperature float32 `json:"temperature"`
		TopK        uint32  `json:"top_k"`
		Seed        uint64  `json:"seed"`
		Replication uint8   `json:"replication"`
		Reward      uint64  `json:"reward"`
		Verify      string  `json:"verify"`
		Client      string  `json:"client"`
		Deadline    int64   `json:"deadline"`
	} `json:"params"`
	Text        string `json:"text"`
	Result      string `json:"result"`
	Reason      string `json:"reason"`
	BlockHeight uint64 `json:"block_height"`
	BlockHash   string `json:"block_hash"`
	History     []struct {
		Time  time.Time `json:"time"`
		Stage string    `json:"stage"`
		What  string    `json:"what"`
	} `json:"history"`
	Nodes []struct {
		Address      string `json:"address"`
		Stake        uint64 `json:"stake"`
		Committed    bool   `json:"committed"`
		Revealed     bool   `json:"revealed"`
		Verification string `json:"verification"`
		Failed       string `json:"failed"`
		Agree        bool   `json:"agree"`
		Paid         int64  `json:"paid"`
	} `json:"nodes"`
}

func jobSubmit(args []string, out, errOut io.Writer) error {
	fs := newFlags("job submit", errOut)
	nf := addNodeFlags(fs)
	model := fs.String("model", "", "the model: a bundle's name or hex root")
	prompt := fs.String("p", "", "prompt text")
	n := fs.Int("n", 0, "tokens to generate at most (0: the node's default)")
	temp := fs.Float64("temp", 0, "temperature (0: greedy)")
	topk := fs.Int("topk", 0, "sample only from the k most likely tokens (0: all)")
	seed := fs.Uint64("seed", 0, "seed of the job's fixed Gumbel noise")
	replication := fs.Int("replication", 0, "how many nodes run the job (0: the node's default)")
	reward := fs.Float64("reward", 0, "reward in DNA, shared by the agreeing nodes (0: the node's default)")
	verify := fs.String("verify", "", "verification: rastic or full (default rastic)")
	watch := fs.Bool("watch", false, "print each stage as it happens until the job is settled")
	asJSON := fs.Bool("json", false, "print the submitted job's record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *model == "" || *prompt == "" {
		return usagef("dna job submit --node URL --model M -p PROMPT [-n N] [--temp T] [--seed S] [--replication R] [--watch]")
	}
	if *reward < 0 {
		return usagef("--reward %v is negative", *reward)
	}
	api, err := nf.client()
	if err != nil {
		return err
	}
	body := map[string]any{"model": *model, "prompt": *prompt, "max_tokens": *n, "temperature": *temp, "top_k": *topk,
		"seed": *seed, "replication": *replication, "reward": uint64(*reward * chain.Coin), "verify": *verify}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var raw json.RawMessage
	if err := api.doJSON(ctx, http.MethodPost, "/api/jobs", body, &raw); err != nil {
		return err
	}
	var rec jobView
	if err := json.Unmarshal(raw, &rec); err != nil {
		return fmt.Errorf("the node's answer: %w", err)
	}
	if *asJSON {
		fmt.Fprintf(out, "%s\n", raw)
	} else {
		fmt.Fprintln(out, rec.ID)
	}
	if !*watch {
		if !*asJSON {
			fmt.Fprintf(errOut, "submitted; follow it with: dna job status --node %s --watch %s\n", api.base, rec.ID)
		}
		return nil
	}
	return followJob(ctx, api, rec.ID, out)
}

func jobStatus(args []string, out, errOut io.Writer) error {
	fs := newFlags("job status", errOut)
	nf := addNodeFlags(fs)
	watch := fs.Bool("watch", false, "print each stage as it happens until the job is settled")
	asJSON := fs.Bool("json", false, "print the job's record as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna job status --node URL ID [--watch] [--json]")
	}
	id := pos[0]
	api, err := nf.client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var raw json.RawMessage
	if err := api.do(ctx, http.MethodGet, "/api/jobs/"+url.PathEscape(id), nil, 0, "", &raw); err != nil {
		return err
	}
	if *asJSON {
		fmt.Fprintf(out, "%s\n", raw)
		return nil
	}
	var rec jobView
	if err := json.Unmarshal(raw, &rec); err != nil {
		return fmt.Errorf("the node's answer: %w", err)
	}
	printJobRecord(out, &rec, !*watch)
	if *watch {
		return followJob(ctx, api, rec.ID, out)
	}
	return nil
}

// printJobRecord prints a job's record (its history too when withHistory).
func printJobRecord(out io.Writer, r *jobView, withHistory bool) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	fmt.Fprintf(w, "job      %s\n", r.ID)
	fmt.Fprintf(w, "stage    %s\n", r.Stage)
	model := r.Bundle
	if r.Model != "" {
		model = fmt.Sprintf("%s (%s)", r.Model, short(r.Bundle))
	}
	fmt.Fprintf(w, "model    %s\n", model)
	fmt.Fprintf(w, "prompt   %q\n", r.Prompt)
	if p := r.Params; p != nil {
		fmt.Fprintf(w, "terms    %d tokens, temperature %g, top-k %d, seed %d; replication %d, reward %s DNA, verification %s\n",
			p.MaxTokens, p.Temperature, p.TopK, p.Seed, p.Replication, coins(int64(p.Reward)), p.Verify)
		fmt.Fprintf(w, "client   %s; deadline %s\n", p.Client, time.UnixMilli(p.Deadline).Format(time.DateTime))
	}
	for _, nv := range r.Nodes {
		state := []string{fmt.Sprintf("stake %s", coins(int64(nv.Stake)))}
		for _, f := range []struct {
			ok   bool
			name string
		}{{nv.Committed, "committed"}, {nv.Revealed, "revealed"}, {nv.Agree, "agrees"}} {
			if f.ok {
				state = append(state, f.name)
			}
		}
		if nv.Verification != "" {
			state = append(state, nv.Verification)
		}
		if nv.Failed != "" {
			state = append(state, "failed: "+nv.Failed)
		}
		if nv.Paid != 0 {
			state = append(state, "paid "+coins(nv.Paid))
		}
		fmt.Fprintf(w, "node     %s  %s\n", nv.Address, strings.Join(state, ", "))
	}
	if r.Result != "" {
		fmt.Fprintf(w, "result   %s\n", r.Result)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "reason   %s\n", r.Reason)
	}
	if r.Text != "" {
		fmt.Fprintf(w, "text     %q\n", r.Text)
	}
	if r.BlockHeight != 0 {
		fmt.Fprintf(w, "block    %d %s\n", r.BlockHeight, r.BlockHash)
	}
	if withHistory {
		fmt.Fprintln(w, "history")
		for _, e := range r.History {
			fmt.Fprintf(w, "  %s  %-9s  %s\n", e.Time.Local().Format("15:04:05.000"), e.Stage, e.What)
		}
	}
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// coins prints base units as DNA.
func coins(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatFloat(float64(v)/chain.Coin, 'f', -1, 64)
	return sign + s
}

// followJob prints a job's events from its stream until the job is
// settled, disputed or expired, reconnecting where it left off when the
// stream breaks.
func followJob(ctx context.Context, api *nodeAPI, id string, out io.Writer) error {
	last := -1
	tokens := 0
	var final *jobView
	handle := func(name, evID, data string) error {
		switch name {
		case "stage":
			var s struct {
				Stage string `json:"stage"`
				Event struct {
					Time  time.Time `json:"time"`
					Stage string    `json:"stage"`
					What  string    `json:"what"`
				} `json:"event"`
			}
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				return err
			}
			if k, err := strconv.Atoi(evID); err == nil {
				last = k
			}
			fmt.Fprintf(out, "%s  %-9s  %s\n", s.Event.Time.Local().Format("15:04:05.000"), s.Event.Stage, s.Event.What)
		case "token":
			tokens++
		case "decided":
			var d struct {
				Result string `json:"result"`
				Text   string `json:"text"`
				Tokens int    `json:"tokens"`
				Agree  int    `json:"agree"`
			}
			if err := json.Unmarshal([]byte(data), &d); err != nil {
				return err
			}
			fmt.Fprintf(out, "              result %s: %d tokens, %d agreeing nodes\n", short(d.Result), d.Tokens, d.Agree)
			fmt.Fprintf(out, "              text   %q\n", d.Text)
		case "final":
			final = &jobView{}
			if err := json.Unmarshal([]byte(data), final); err != nil {
				return err
			}
		}
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := api.events(ctx, id, last, handle)
		if final != nil {
			switch final.Stage {
			case "settled":
				return nil
			default:
				msg := fmt.Sprintf("job %s %s", short(final.ID), final.Stage)
				if final.Reason != "" {
					msg += ": " + final.Reason
				}
				return errors.New(msg)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if he := (*httpError)(nil); errors.As(err, &he) && he.status < 500 {
			return err
		}
		if attempt >= 5 {
			if err == nil {
				err = errors.New("the event stream ended before the job did")
			}
			return err
		}
		time.Sleep(time.Second)
	}
}

// events reads a job's event stream (after entry last), calling fn for
// each event, until the stream ends.
func (a *nodeAPI) events(ctx context.Context, id string, last int, fn func(name, id, data string) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/jobs/"+url.PathEscape(id)+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if last >= 0 {
		req.Header.Set("Last-Event-ID", strconv.Itoa(last))
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return apiError(resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var name, evID string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 {
				if err := fn(name, evID, strings.Join(data, "\n")); err != nil {
					return err
				}
			}
			name, evID, data = "", "", nil
		case strings.HasPrefix(line, ":"):
		default:
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "event":
				name = v
			case "id":
				evID = v
			case "data":
				data = append(data, v)
			}
		}
	}
	return sc.Err()
}
