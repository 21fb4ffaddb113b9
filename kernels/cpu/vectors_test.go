package cpu

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/kernels"
)

// TestSamplingVectors checks the published test vectors of the sampler
// (testdata/sampling-vectors.txt, quoted in docs/numerics.md).
func TestSamplingVectors(t *testing.T) {
	f, err := os.Open("testdata/sampling-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hex32 := func(s string) uint32 {
		v, err := strconv.ParseUint(s, 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(v)
	}
	dec := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var row []float32
	checked := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		lhs, rhs, _ := strings.Cut(line, " -> ")
		in, out := strings.Fields(lhs), strings.Fields(rhs)
		switch in[0] {
		case "philox":
			ctr := [4]uint32{hex32(in[1]), hex32(in[2]), hex32(in[3]), hex32(in[4])}
			got := Philox4x32_10(ctr, [2]uint32{hex32(in[5]), hex32(in[6])})
			want := [4]uint32{hex32(out[0]), hex32(out[1]), hex32(out[2]), hex32(out[3])}
			if got != want {
				t.Errorf("%s: got %08x", line, got)
			}
		case "gumbel":
			seed, step, i := dec(in[1]), dec(in[2]), dec(in[3])
			w := GumbelBits(seed, step, uint32(i>>2))[i&3]
			u := math.Float32bits(UniformFromBits(w))
			g := math.Float32bits(Gumbel(seed, step, int(i)))
			if w != hex32(out[0]) || u != hex32(out[1]) || g != hex32(out[2]) {
				t.Errorf("%s: got %08x %08x %08x", line, w, u, g)
			}
		case "logits":
			row = row[:0]
			for _, s := range in[1:] {
				v, err := strconv.ParseFloat(s, 32)
				if err != nil {
					t.Fatal(err)
				}
				row = append(row, float32(v))
			}
		case "sample":
			temp, _ := strconv.ParseFloat(in[1], 32)
			p := kernels.SampleParams{Temperature: float32(temp), TopK: int(dec(in[2])), Seed: dec(in[3]), Step: dec(in[4])}
			if got := SampleRow(row, p); fmt.Sprint(got) != out[0] {
				t.Errorf("logits %v, %s: got %d", row, line, got)
			}
		default:
			t.Fatalf("unknown line %q", line)
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d vectors checked", checked)
	}
}
