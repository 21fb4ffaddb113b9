package api

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/node"
)

// TestOpenAIClient runs scripts/openai-client/test.mjs, which drives the
// OpenAI-compatible endpoints with the official openai npm client, against
// the test cluster. It runs with DNA_OPENAI_CLIENT=1 (make openai-test
// installs the client and sets it) and skips when Node.js or the installed
// client is missing.
func TestOpenAIClient(t *testing.T) {
	if os.Getenv("DNA_OPENAI_CLIENT") != "1" {
		t.Skip("set DNA_OPENAI_CLIENT=1 (make openai-test) to check the API with the openai npm client")
	}
	nodeJS, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node (Node.js) in PATH")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "scripts", "openai-client"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		t.Skip("the openai client is not installed: npm ci --prefix scripts/openai-client")
	}
	f := cluster(t)
	model := f.model
	// The real stories260K, when the shared models are present, writes
	// readable text; the synthetic model does not.
	if testmodels.SharedModelsDir() != "" {
		if _, err := os.Stat(filepath.Join(testmodels.SharedModelsDir(), "stories260K", "stories260K.bin")); err == nil {
			b := testmodels.Stories260K(t, kernels.F32)
			if _, err := f.nodes[0].PublishBundle(b); err != nil {
				t.Fatal(err)
			}
			known := func() bool {
				for _, n := range f.nodes {
					if !slices.ContainsFunc(n.KnownBundles(), func(v node.BundleView) bool { return v.Root == b.ID() }) {
						return false
					}
				}
				return true
			}
			deadline := time.Now().Add(30 * time.Second)
			for !known() {
				if time.Now().After(deadline) {
					t.Fatal("stories260K not announced to every node in 30 s")
				}
				time.Sleep(200 * time.Millisecond)
			}
			model = b.Manifest().Name
		}
	}
	const key = "openai-client-key"
	srv := httptest.NewServer(New(f.nodes[0], Config{APIKeys: []string{key}, DecideTimeout: 2 * time.Minute}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeJS, "test.mjs")
	cmd.Dir = dir
	// Replication 2: both computing nodes of the cluster stake on every job.
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL+"/v1", "API_KEY="+key, "MODEL="+model, "REPLICATION=2")
	out, err := cmd.CombinedOutput()
	t.Logf("node test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the openai client check failed: %v", err)
	}
}
