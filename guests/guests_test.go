package guests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCommittedGuestIsFresh rebuilds guest-sdk/cmd/llama the way `make
// guest` does and requires the committed llama.wasm to be byte-identical,
// so the module in every imported bundle is what the sources say. Go builds
// are reproducible only with the same toolchain, so the comparison runs
// when this Go is the one recorded in llama.wasm.go-version.
func TestCommittedGuestIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a WebAssembly module")
	}
	want, err := os.ReadFile("llama.wasm.go-version")
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(want)); v != runtime.Version() {
		t.Skipf("llama.wasm was built with %s, this is %s: run `make guest` to rebuild it here", v, runtime.Version())
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out := filepath.Join(t.TempDir(), "llama.wasm")
	args := append(append([]string{}, BuildFlags...), "-o", out, "./cmd/llama")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = filepath.Join("..", "guest-sdk")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, Llama()) {
		t.Fatal("guests/llama.wasm is stale: run `make guest` and commit the result")
	}
}

// Authors `go get` only the guest SDK: it must stay standard-library only.
func TestGuestSDKHasNoDependencies(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "guest-sdk", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "require" || f[0] == "replace") {
			t.Fatalf("guest-sdk/go.mod has a dependency: %q", line)
		}
	}
}
