package testmodels

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

var built = map[string][]byte{}

// GoToolchain returns the go command, skipping the test when there is none.
func GoToolchain(tb testing.TB) string {
	tb.Helper()
	goBin := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if p, err := exec.LookPath("go"); err == nil {
			return p
		}
		tb.Skip("no Go toolchain to build WebAssembly guests with")
	}
	return goBin
}

// BuildGuest compiles the Go program in dir to a wasip1 reactor module
// (once per process and tag set) and returns its bytes.
func BuildGuest(tb testing.TB, dir string, tags ...string) []byte {
	tb.Helper()
	key := dir + "|" + strings.Join(tags, ",")
	mu.Lock()
	defer mu.Unlock()
	if b, ok := built[key]; ok {
		return b
	}
	out := filepath.Join(tb.TempDir(), "guest.wasm")
	args := []string{"build", "-trimpath", "-buildmode=c-shared", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command(GoToolchain(tb), append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building guest %s: %v\n%s", dir, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	built[key] = b
	return b
}

// RepoRoot finds the repository root (the directory with go.mod and guest-sdk).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "guest-sdk", "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			tb.Fatal(fmt.Errorf("repository root not found above %s", dir))
		}
	}
}
