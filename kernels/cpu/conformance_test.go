package cpu_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/kernels/cpu"
	"github.com/dnahost/dnahost/kernels/kernelstest"
)

// Every thread count and both code paths must equal the reference.
func TestConformance(t *testing.T) {
	for _, generic := range []bool{true, false} {
		for _, threads := range []int{1, 2, 3, 7} {
			t.Run(fmt.Sprintf("generic=%v/threads=%d", generic, threads), func(t *testing.T) {
				b, err := cpu.New(cpu.Options{Threads: threads, Generic: generic})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				kernelstest.Run(t, b)
			})
		}
	}
}

// The committed digest pins the numerics specification.
func TestSpecDigest(t *testing.T) {
	want, err := os.ReadFile("testdata/spec-digest.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, generic := range []bool{true, false} {
		b, _ := cpu.New(cpu.Options{Threads: 2, Generic: generic})
		got := kernelstest.SpecDigest(t, b)
		b.Close()
		if got != strings.TrimSpace(string(want)) {
			t.Fatalf("generic=%v: spec digest %s, testdata has %s: the numerics changed", generic, got, strings.TrimSpace(string(want)))
		}
	}
}
