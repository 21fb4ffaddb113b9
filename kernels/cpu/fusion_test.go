package cpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// TestNoFusedMultiplyAdd compiles this package for targets whose compilers
// fuse a*b+c into one FMA instruction (arm64, and amd64 at GOAMD64=v3) and
// fails if any fused instruction appears: each would change results on those
// machines and break consensus. The fix is an explicit float32(a*b).
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the package for other targets")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skip("no Go toolchain to compile with")
	}
	fused := regexp.MustCompile(`\b(VFMADD\w*|VFMSUB\w*|VFNMADD\w*|VFNMSUB\w*|FMADD[SD]|FMSUB[SD]|FNMADD[SD]|FNMSUB[SD]|VFMLA|VFMLS)\b`)
	for _, env := range [][]string{{"GOARCH=arm64"}, {"GOARCH=amd64", "GOAMD64=v3"}} {
		cmd := exec.Command(goBin, "build", "-gcflags=-S", "-o", os.DevNull, ".")
		cmd.Env = append(os.Environ(), append(env, "CGO_ENABLED=0")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
		if loc := fused.FindIndex(out); loc != nil {
			start := max(0, loc[0]-300)
			t.Fatalf("%v: fused multiply-add in compiled kernels:\n%s", env, out[start:loc[1]])
		}
	}
}
