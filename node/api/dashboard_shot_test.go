package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
	"github.com/dnahost/dnahost/runtime"
)

// TestDashboardScreenshot runs a small live devnet in process — three
// computing, mining nodes, one of them lazy (it makes tokens up instead of
// running the model, which verification catches) — runs jobs through it,
// serves node 0's API, and has headless Chromium render the dashboard:
// first to check the page's script rendered live data (the chain height
// and job IDs in the DOM), then to save a screenshot at
// $DNA_DASHBOARD_SHOT. It is skipped unless that variable is set; make
// dashboard-shot (scripts/dashboard-shot.sh) runs it. Chromium is found as
// $DNA_CHROMIUM, chromium, chromium-browser or google-chrome.
func TestDashboardScreenshot(t *testing.T) {
	out := os.Getenv("DNA_DASHBOARD_SHOT")
	if out == "" {
		t.Skip("set DNA_DASHBOARD_SHOT=path.png to render the dashboard with headless Chromium")
	}
	browser := findChromium(t)

	b := shotBundle(t)
	nodes := shotCluster(t, b, "", "", "lazy")
	if _, err := nodes[0].PublishBundle(b); err != nil {
		t.Fatal(err)
	}
	shotWait(t, 60*time.Second, "funds and the bundle everywhere", func() bool {
		for _, n := range nodes {
			a, err := n.Chain().Account(n.Account())
			if err != nil || a.Balance < 5*chain.Coin ||
				!slices.ContainsFunc(n.KnownBundles(), func(v node.BundleView) bool { return v.Root == b.ID() }) {
				return false
			}
		}
		return true
	})

	// A client submits a job every 2.5 s (each run by all three nodes)
	// until the screenshot is taken, so the page shows settled jobs and
	// jobs in flight.
	prompts := []string{"Once upon a time", "The little dog", "One day, a girl named Lily", "The sun was shining",
		"Tom and his friend", "There was a big tree", "The cat sat on the mat", "A boy found a box"}
	var (
		mu  sync.Mutex
		ids []keys.Hash
	)
	jobIDs := func() []keys.Hash {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ids)
	}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("DNA_SHOT_LOG") == "" {
			return
		}
		for _, id := range jobIDs() {
			r, _ := nodes[0].Job(id)
			if r == nil {
				continue
			}
			for _, e := range r.History {
				t.Logf("%s %s %-10s %s", id.String()[:8], e.Time.Format("15:04:05.000"), e.Stage, e.What)
			}
		}
	})
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			rec, err := nodes[0].Submit(context.Background(), node.SubmitRequest{Bundle: b.ID(), Prompt: prompts[i%len(prompts)],
				MaxTokens: 48 + 16*(i%4), Replication: 3, Seed: uint64(i + 1), Temperature: 0.8, TopK: 40})
			if err != nil {
				t.Errorf("submit: %v", err)
				return
			}
			mu.Lock()
			ids = append(ids, rec.ID)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2500 * time.Millisecond):
			}
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()
	shotWait(t, 150*time.Second, "eight jobs to settle", func() bool {
		k := 0
		for _, id := range jobIDs() {
			if r, err := nodes[0].Job(id); err == nil && r.Stage.Final() {
				k++
			}
		}
		return k >= 8 || t.Failed()
	})
	if t.Failed() {
		t.FailNow()
	}

	srv := httptest.NewServer(New(nodes[0], Config{}))
	defer srv.Close()

	// Show a settled job where verification refuted the lazy node, if
	// there is one.
	show := ""
	for _, r := range nodes[0].Jobs(0) {
		if r.Stage == node.StageSettled && slices.ContainsFunc(r.Nodes, func(v node.NodeView) bool { return v.Verification == "refuted" }) {
			show = r.ID.String()
			break
		}
	}
	page := srv.URL + "/?sse=0"
	if show != "" {
		page += "#job=" + show
	}

	// The dashboard's event stream carries the jobs' events.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/dashboard/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ev dashEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(d), &ev); err != nil {
				t.Fatalf("event %q: %v", d, err)
			}
			break
		}
	}
	resp.Body.Close()
	cancel()
	if ev.Job == "" || ev.What == "" || ev.Time == 0 {
		t.Fatalf("no job event on the stream: %+v %v", ev, sc.Err())
	}

	// The page's script rendered live data.
	h0 := nodes[0].Chain().Tip().Height
	shown := jobIDs()
	dom := runChromium(t, browser, "--dump-dom", page)
	h1 := nodes[0].Chain().Tip().Height
	m := regexp.MustCompile(`data-height="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no chain height in the rendered page:\n%s", shotHead(dom))
	}
	if h, _ := strconv.ParseUint(m[1], 10, 64); h < h0 || h > h1 {
		t.Fatalf("page shows height %d, the chain was at %d..%d", h, h0, h1)
	}
	if shownAs := regexp.MustCompile(`id="height">([0-9,]+)<`).FindStringSubmatch(dom); shownAs == nil ||
		strings.ReplaceAll(shownAs[1], ",", "") != m[1] {
		t.Fatalf("height %s not shown as text (%q)", m[1], shownAs)
	}
	listed := 0
	for _, id := range shown {
		if strings.Contains(dom, `data-id="`+id.String()+`"`) {
			listed++
		}
	}
	if listed < len(shown) {
		t.Fatalf("%d of %d job IDs in the rendered page", listed, len(shown))
	}
	if !strings.Contains(dom, `class="live on"`) {
		t.Fatal("the page did not mark its data live")
	}
	t.Logf("DOM: height %s, %d job IDs, %d bytes", m[1], listed, len(dom))

	// The screenshot.
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "shot.png")
	runChromium(t, browser, "--screenshot="+tmp, "--hide-scrollbars", page)
	raw, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if sz := img.Bounds().Size(); sz.X < 1000 || sz.Y < 1000 {
		t.Fatalf("screenshot is %v", sz)
	}
	if c := colours(img, 64); c < 20 {
		t.Fatalf("screenshot has %d colours: blank?", c)
	}
	// Re-encode with a palette of the screenshot's 256 commonest colours
	// at the best compression, to keep the committed file small.
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, quantize(img)); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 20<<10 {
		t.Fatalf("screenshot is only %d bytes", buf.Len())
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %v, %d KiB", out, img.Bounds().Size(), buf.Len()>>10)
}

func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DNA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found (install it: apt-get install -y chromium, or set DNA_CHROMIUM)")
	return ""
}

// runChromium renders a page headless after five seconds of virtual time
// (the page has polled the API by then) and returns what it printed.
func runChromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--mute-audio", "--user-data-dir=" + t.TempDir(),
		"--window-size=1400,1800", "--force-device-scale-factor=1", "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", browser, args, err, shotHead(stderr.String()))
	}
	return stdout.String()
}

func shotHead(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "…"
	}
	return s
}

// colours counts the distinct colours of a sample of an image's pixels, up
// to limit.
func colours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y += 7 {
		for x := bd.Min.X; x < bd.Max.X; x += 7 {
			r, g, b, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, b, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// shotBundle is the shared stories260K model when it is there (its text
// reads like stories), else a synthetic one.
func shotBundle(t *testing.T) *bundle.Bundle {
	if testmodels.SharedModelsDir() != "" {
		if _, err := os.Stat(filepath.Join(testmodels.SharedModelsDir(), "stories260K", "stories260K.bin")); err == nil {
			return testmodels.Stories260K(t, kernels.F32)
		}
	}
	return testmodels.Synthetic(t, "tiny", testmodels.Tiny, kernels.F32)
}

// shotCluster starts computing, mining nodes with the given behaviours,
// each dialling the ones before it, sharing one compiled-module cache.
func shotCluster(t *testing.T, b *bundle.Bundle, behaviors ...string) []*node.Node {
	t.Helper()
	cache := t.TempDir()
	rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	md, err := rt.Load(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	md.Close(context.Background())
	rt.Close(context.Background())
	var nodes []*node.Node
	var seeds []string
	for i, beh := range behaviors {
		dir := t.TempDir()
		if _, _, err := node.Init(dir); err != nil {
			t.Fatal(err)
		}
		var log *slog.Logger
		if os.Getenv("DNA_NODE_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
		}
		n, err := node.New(node.Config{DataDir: dir, Listen: "127.0.0.1:0", Seeds: seeds, Compute: true, Mine: true,
			MineInterval: 400 * time.Millisecond, MinerThreads: 1, Threads: 1, Behavior: beh, CacheDir: cache, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(context.Background()); err != nil {
			n.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
		seeds = append(seeds, n.Net().Addr().String())
	}
	return nodes
}

func shotWait(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// quantize maps an image onto a palette of its 256 commonest colours, each
// pixel to the nearest of them (no dithering: a screenshot of a page is
// mostly flat colour, and its anti-aliased edges map well enough).
func quantize(img image.Image) *image.Paletted {
	bd := img.Bounds()
	freq := map[color.RGBA]int{}
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			freq[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	cs := make([]color.RGBA, 0, len(freq))
	for c := range freq {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b color.RGBA) int {
		if freq[a] != freq[b] {
			return freq[b] - freq[a]
		}
		return int(a.R)<<16 | int(a.G)<<8 | int(a.B) - (int(b.R)<<16 | int(b.G)<<8 | int(b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range cs[:min(256, len(cs))] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(bd, pal)
	idx := map[color.RGBA]uint8{}
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := idx[c]
			if !ok {
				i = uint8(pal.Index(c))
				idx[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	return out
}
