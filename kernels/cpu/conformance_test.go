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

// Where AVX-512 kernels are chosen, the AVX2 ones must conform as well.
func TestConformanceAVX2(t *testing.T) {
	restore, ok := cpu.ForceAVX2()
	defer restore()
	if !ok {
		t.Skip("the SIMD path already uses its AVX2 kernels, or has none")
	}
	for _, threads := range []int{1, 3} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			b, err := cpu.New(cpu.Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			kernelstest.Run(t, b)
		})
	}
}

// The committed digest pins the numerics specification.
func TestSpecDigest(t *testing.T) {
	want, err := os.ReadFile("testdata/spec-digest.txt")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, generic bool) {
		b, _ := cpu.New(cpu.Options{Threads: 2, Generic: generic})
		got := kernelstest.SpecDigest(t, b)
		b.Close()
		if got != strings.TrimSpace(string(want)) {
			t.Fatalf("%s: spec digest %s, testdata has %s: the numerics changed", what, got, strings.TrimSpace(string(want)))
		}
	}
	check("generic", true)
	check("simd", false)
	if restore, ok := cpu.ForceAVX2(); ok {
		defer restore()
		check("simd (avx2 kernels)", false)
	}
}
