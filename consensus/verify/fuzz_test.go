package verify

import (
	"bytes"
	"slices"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

func sampleJob() Job {
	return Job{Bundle: keys.SHA256([]byte("b")), PromptTokens: []int32{1, 403, 407}, MaxTokens: 8, Temperature: 0.8, TopK: 40, Seed: 42}
}

func TestJobEncoding(t *testing.T) {
	j := sampleJob()
	back, err := DecodeJob(j.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != j.ID() || !slices.Equal(back.PromptTokens, j.PromptTokens) || back.Seed != j.Seed {
		t.Fatalf("round trip: %+v", back)
	}
	// Every parameter is part of the ID.
	for _, edit := range []func(*Job){
		func(j *Job) { j.Bundle[0] ^= 1 }, func(j *Job) { j.PromptTokens = []int32{1, 403} },
		func(j *Job) { j.MaxTokens++ }, func(j *Job) { j.Temperature = 0.80001 }, func(j *Job) { j.TopK = 0 },
		func(j *Job) { j.Seed++ },
	} {
		k := sampleJob()
		k.PromptTokens = slices.Clone(k.PromptTokens)
		edit(&k)
		if k.ID() == j.ID() {
			t.Fatalf("a changed job %+v has the same ID", k)
		}
	}
}

func FuzzDecodeJob(f *testing.F) {
	j := sampleJob()
	f.Add(j.Encode())
	f.Add([]byte("dna-job/1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := DecodeJob(b)
		if err != nil {
			return
		}
		if !bytes.Equal(j.Encode(), b) {
			t.Fatal("an accepted job does not re-encode to its bytes")
		}
	})
}

func FuzzParseClaim(f *testing.F) {
	f.Add([]byte(`{"bundle":"` + keys.SHA256(nil).String() + `","prompt_tokens":[1,2],"max_tokens":4,"temperature":0.5,"top_k":0,"seed":1,"tokens":[3,4],"stop":"limit","digest":"` + keys.SHA256([]byte("d")).String() + `"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClaim(b)
		if err != nil {
			return
		}
		if _, err := c.Job(); err != nil {
			t.Fatalf("an accepted claim has no valid job: %v", err)
		}
	})
}

func FuzzDecodeOutsourceRequest(f *testing.F) {
	q := &OutsourceRequest{Job: sampleJob(), Tokens: []int32{5, 6, 7}, Index: 1}
	f.Add(q.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeOutsourceRequest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(q.Encode(), b) {
			t.Fatal("an accepted request does not re-encode to its bytes")
		}
	})
}

func FuzzDecodeOutsourceAnswer(f *testing.F) {
	a := &OutsourceAnswer{JobID: keys.SHA256([]byte("j")), ClaimHash: keys.SHA256([]byte("c")), Index: 3, Binding: keys.SHA256([]byte("x"))}
	f.Add(a.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeOutsourceAnswer(b)
		if err != nil {
			return
		}
		if !bytes.Equal(a.Encode(), b) {
			t.Fatal("an accepted answer does not re-encode to its bytes")
		}
	})
}
