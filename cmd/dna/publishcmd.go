package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// cmdPublish uploads a bundle to a node, which stores and announces it.
func cmdPublish(args []string, out, errOut io.Writer) error {
	fs := newFlags("publish", errOut)
	nf := addNodeFlags(fs)
	asJSON := fs.Bool("json", false, "print the node's answer as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna publish B.dna --node http://ADDR [--api-key K]")
	}
	api, err := nf.client()
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	cr := &countingReader{r: bufio.NewReaderSize(f, 1<<20)}
	bar := newProgressBar(errOut, st.Size())
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				bar.draw(cr.n.Load())
			}
		}
	}()
	var info struct {
		Root   string `json:"root"`
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		Leaves int    `json:"leaves"`
		Arch   string `json:"arch"`
		Held   bool   `json:"held"`
		Loaded bool   `json:"loaded"`
	}
	var raw json.RawMessage
	err = api.do(ctx, http.MethodPost, "/api/bundles", cr, st.Size(), "application/octet-stream", &raw)
	close(done)
	bar.finish(cr.n.Load(), err)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := fmt.Fprintf(out, "%s\n", raw)
		return err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return fmt.Errorf("the node's answer: %w", err)
	}
	fmt.Fprintf(out, "%s %s\n", info.Root, info.Name)
	fmt.Fprintf(errOut, "published %s (%s, %d chunks) to %s; the node announces it to its peers\n",
		info.Name, fmtBytes(float64(info.Size)), info.Leaves, api.base)
	return nil
}

// nodeFlags are the flags of commands that talk to a node's API.
type nodeFlags struct {
	node, key *string
}

func addNodeFlags(fs *flag.FlagSet) nodeFlags {
	return nodeFlags{
		node: fs.String("node", os.Getenv("DNA_NODE"), "the node's API, http://HOST:PORT ($DNA_NODE)"),
		key:  fs.String("api-key", os.Getenv("DNA_API_KEY"), "the node's API key ($DNA_API_KEY); a node without keys takes loopback clients"),
	}
}

// nodeAPI is a client of a node's HTTP API.
type nodeAPI struct {
	base, key string
	hc        *http.Client
}

func (f nodeFlags) client() (*nodeAPI, error) {
	s := strings.TrimSpace(*f.node)
	if s == "" {
		return nil, usagef("--node http://HOST:PORT is needed (or $DNA_NODE)")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usagef("--node %q: want http://HOST:PORT", *f.node)
	}
	return &nodeAPI{base: strings.TrimRight(u.String(), "/"), key: *f.key, hc: &http.Client{}}, nil
}

func (a *nodeAPI) request(ctx context.Context, method, path string, body io.Reader, size int64, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", ctype)
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("node %s: %w", a.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, apiError(resp.StatusCode, b)
	}
	return resp, nil
}

// do makes a request and decodes the JSON answer into out (if not nil).
func (a *nodeAPI) do(ctx context.Context, method, path string, body io.Reader, size int64, ctype string, out any) error {
	resp, err := a.request(ctx, method, path, body, size, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the node's answer to %s %s: %w", method, path, err)
	}
	return nil
}

// doJSON sends v as a JSON body.
func (a *nodeAPI) doJSON(ctx context.Context, method, path string, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.do(ctx, method, path, strings.NewReader(string(b)), int64(len(b)), "application/json", out)
}

// httpError is a node's error response.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// apiError turns an error response into an error.
func apiError(status int, body []byte) error {
	var e struct {
		Error struct {
			Message, Type string
		}
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return &httpError{status, fmt.Sprintf("node: %s (%d, %s)", e.Error.Message, status, e.Error.Type)}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &httpError{status, fmt.Sprintf("node: %d %s: %s", status, http.StatusText(status), msg)}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressBar draws an upload's progress on a terminal, or says once
// what was sent elsewhere.
type progressBar struct {
	w     io.Writer
	total int64
	start time.Time
	tty   bool
}

func newProgressBar(w io.Writer, total int64) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressBar{w: w, total: total, start: time.Now(), tty: tty}
}

func (p *progressBar) line(done int64) string {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-3)
	s := fmt.Sprintf("[%s] %3.0f%% %s / %s  %s/s", bar, frac*100, fmtBytes(float64(done)), fmtBytes(float64(p.total)), fmtBytes(rate))
	if done >= p.total {
		s += "  verifying on the node…"
	}
	return s
}

func (p *progressBar) draw(done int64) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", p.line(done))
	}
}

func (p *progressBar) finish(done int64, err error) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if err == nil {
		fmt.Fprintf(p.w, "uploaded %s in %s\n", fmtBytes(float64(done)), time.Since(p.start).Round(time.Millisecond))
	}
}

func fmtBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
