package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func sampleEvidence(t testing.TB) *Evidence {
	t.Helper()
	return &Evidence{Job: sampleJob(t), Opening: sampleOpening(t)}
}

func decodeEvidenceErr(b []byte) error { _, err := DecodeEvidence(b); return err }

func TestEvidenceRoundTrip(t *testing.T) {
	for name, e := range map[string]*Evidence{"sample": sampleEvidence(t), "max": {Job: maxJob(t), Opening: maxOpening(t)}} {
		b := e.Encode()
		back, err := DecodeEvidence(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, e)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
		if back.Job.ID() != e.Job.ID() || back.Opening.ResultHash() != e.Opening.ResultHash() {
			t.Fatalf("%s: identity", name)
		}
	}
}

func TestEvidenceRejects(t *testing.T) {
	e := sampleEvidence(t)
	b := e.Encode()
	checkTruncated(t, b, decodeEvidenceErr)
	checkBadKey(t, b, e.Job.Client, "client", decodeEvidenceErr)
	priv := *e.Job
	priv.Private = true
	checkFlag(t, b, 4+diffOffset(t, e.Job.Encode(), priv.Encode()), "job's private", decodeEvidenceErr)

	// Parts with a trailing byte inside their lengths.
	jb, ob := e.Job.Encode(), e.Opening.Encode()
	for name, parts := range map[string][2][]byte{"job": {append(bytes.Clone(jb), 0), ob}, "opening": {jb, append(bytes.Clone(ob), 0)},
		"no job": {nil, ob}, "no opening": {jb, nil}} {
		var w writer
		w.bytes(parts[0])
		w.bytes(parts[1])
		mustMessageErr(t, decodeEvidenceErr(w), "%s", name)
	}

	// Parts over the caps, with the bytes present.
	long := *e.Job
	long.Prompt = strings.Repeat("p", MaxPromptBytes+400)
	mustMessageErr(t, decodeEvidenceErr((&Evidence{Job: &long, Opening: e.Opening}).Encode()), "job over the cap")
	long.Prompt = strings.Repeat("p", MaxPromptBytes+1)
	mustMessageErr(t, decodeEvidenceErr((&Evidence{Job: &long, Opening: e.Opening}).Encode()), "prompt over the cap")
	var w writer
	w.bytes(jb)
	w.bytes(make([]byte, MaxRevealBody+1))
	mustMessageErr(t, decodeEvidenceErr(w), "opening over the cap")
	longOpening := *maxOpening(t)
	longOpening.Tokens = append(longOpening.Tokens, 1)
	mustMessageErr(t, decodeEvidenceErr((&Evidence{Job: e.Job, Opening: &longOpening}).Encode()), "tokens over the cap")

	for _, n := range []uint32{0, uint32(len(jb)) + 1, MaxPromptBytes + 512, math.MaxUint32} {
		mustMessageErr(t, decodeEvidenceErr(setU32(b, 0, n)), "job length %d", n)
	}
	for _, n := range []uint32{0, uint32(len(ob)) + 1, MaxRevealBody, math.MaxUint32} {
		mustMessageErr(t, decodeEvidenceErr(setU32(b, 4+len(jb), n)), "opening length %d", n)
	}
	checkSmallAlloc(t, map[string][]byte{
		"job at the cap":     u32s(MaxPromptBytes+512, make([]byte, 200)),
		"job of 4 GiB":       u32s(math.MaxUint32, make([]byte, 200)),
		"opening at the cap": u32s(0, u32s(MaxRevealBody, make([]byte, 200))),
		"opening of 4 GiB":   u32s(0, u32s(math.MaxUint32, make([]byte, 200))),
	}, decodeEvidenceErr)
}

func FuzzDecodeEvidence(f *testing.F) {
	fuzzSeeds(f, sampleEvidence(f).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvidence(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(e.Encode(), b) {
			t.Fatal("accepted evidence does not re-encode to its bytes")
		}
		_ = e.Job.Check()
		_ = e.Opening.ResultHash()
	})
}
