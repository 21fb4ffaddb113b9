package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// sampleAnnounce announces sampleJob with its escrow, coordinated by test
// key 5.
func sampleAnnounce(t testing.TB) *Announce {
	t.Helper()
	j := sampleJob(t)
	a := &Announce{Job: j, Escrow: escrowFor(t, j, testKey(t, 1), nil).Encode()}
	a.Sign(testKey(t, 5))
	return a
}

func decodeAnnounceErr(b []byte) error { _, err := DecodeAnnounce(b); return err }

func TestAnnounceRoundTrip(t *testing.T) {
	big := maxJob(t)
	maxEsc := &Announce{Job: big, Escrow: bytes.Repeat([]byte{0xa5}, chain.MainNet.MaxTxBytes)}
	maxEsc.Sign(testKey(t, 6))
	valid := &Announce{Job: big, Escrow: escrowFor(t, big, testKey(t, 2), nil).Encode()}
	valid.Sign(testKey(t, 6))
	noEsc := &Announce{Job: sampleJob(t)}
	noEsc.Sign(testKey(t, 6))
	for name, a := range map[string]*Announce{"sample": sampleAnnounce(t), "max": maxEsc, "max job": valid, "no escrow": noEsc} {
		b := a.Encode()
		back, err := DecodeAnnounce(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, a)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
	}
	if len(maxJob(t).Encode()) > MaxPromptBytes+512 {
		t.Fatal("the largest job does not fit an announcement")
	}
}

func TestAnnounceRejects(t *testing.T) {
	a := sampleAnnounce(t)
	b := a.Encode()
	checkTruncated(t, b, decodeAnnounceErr)
	checkBadKey(t, b, a.Coordinator, "coordinator", decodeAnnounceErr)
	checkBadKey(t, b, a.Job.Client, "client", decodeAnnounceErr)
	priv := *a.Job
	priv.Private = true
	checkFlag(t, b, 4+diffOffset(t, a.Job.Encode(), priv.Encode()), "job's private", decodeAnnounceErr)

	// Length prefixes over the caps, with the bytes present.
	over := &Announce{Job: sampleJob(t), Escrow: make([]byte, chain.MainNet.MaxTxBytes+1)}
	over.Sign(testKey(t, 5))
	mustMessageErr(t, decodeAnnounceErr(over.Encode()), "escrow over the cap")
	longJob := *a.Job
	longJob.Prompt = strings.Repeat("x", MaxPromptBytes+400)
	over = &Announce{Job: &longJob, Escrow: a.Escrow}
	over.Sign(testKey(t, 5))
	if n := len(longJob.Encode()); n <= MaxPromptBytes+512 {
		t.Fatalf("job of %d bytes is not over the cap", n)
	}
	mustMessageErr(t, decodeAnnounceErr(over.Encode()), "job over the cap")
	// A job within the announcement's cap but over its own.
	longJob.Prompt = strings.Repeat("x", MaxPromptBytes+1)
	over.Sign(testKey(t, 5))
	mustMessageErr(t, decodeAnnounceErr(over.Encode()), "prompt over the cap")

	// Length prefixes that do not match the bytes.
	jn := len(a.Job.Encode())
	for _, n := range []uint32{0, uint32(jn) - 1, uint32(jn) + 1, MaxPromptBytes + 512, math.MaxUint32} {
		mustMessageErr(t, decodeAnnounceErr(setU32(b, 0, n)), "job length %d", n)
	}
	for _, n := range []uint32{0, uint32(len(a.Escrow)) + 1, uint32(chain.MainNet.MaxTxBytes), math.MaxUint32} {
		mustMessageErr(t, decodeAnnounceErr(setU32(b, 4+jn, n)), "escrow length %d", n)
	}
	// The job with a trailing byte inside its length.
	var w writer
	w.bytes(append(a.Job.Encode(), 0))
	w.bytes(a.Escrow)
	w.raw(a.Coordinator)
	w.raw(a.Sig)
	mustMessageErr(t, decodeAnnounceErr(w), "job with a trailing byte")

	checkSmallAlloc(t, map[string][]byte{
		"job at the cap":    u32s(MaxPromptBytes+512, make([]byte, 200)),
		"job of 4 GiB":      u32s(math.MaxUint32, make([]byte, 200)),
		"escrow at the cap": u32s(0, u32s(uint32(chain.MainNet.MaxTxBytes), make([]byte, 200))),
		"escrow of 4 GiB":   u32s(0, u32s(math.MaxUint32, make([]byte, 200))),
	}, decodeAnnounceErr)
}

func TestAnnounceCheck(t *testing.T) {
	a := sampleAnnounce(t)
	back, err := DecodeAnnounce(a.Encode())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := back.Check()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tx.Encode(), a.Escrow) || tx.JobID != a.Job.ID() {
		t.Fatal("Check returned another transaction")
	}

	// Escrows that do not fund the job, each announced with a valid
	// coordinator signature.
	client, coord := testKey(t, 1), testKey(t, 5)
	for name, c := range map[string]struct {
		key  *keys.PrivateKey
		edit func(*chain.JobEscrow, *chain.Tx)
	}{
		"reward":          {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Reward-- }},
		"replication":     {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Replication = 1 }},
		"min stake":       {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.MinStake = 0 }},
		"deadline":        {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Deadline += 1000 }},
		"bundle":          {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.BundleRoot = keys.Hash{} }},
		"rule":            {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Rule = "unanimous/1" }},
		"another job":     {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.JobID = keys.SHA256([]byte("other")) }},
		"a transfer":      {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.Type = chain.TxTransfer }},
		"bad payload":     {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.Payload = []byte("junk") }},
		"another sender":  {testKey(t, 2), nil},
		"the coordinator": {coord, nil},
	} {
		bad := &Announce{Job: a.Job, Escrow: escrowFor(t, a.Job, c.key, c.edit).Encode()}
		bad.Sign(coord)
		back, err := DecodeAnnounce(bad.Encode())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := back.Check(); !errors.Is(err, ErrEscrow) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, esc := range map[string][]byte{"no escrow": nil, "junk": []byte("junk"), "cut": a.Escrow[:len(a.Escrow)-1]} {
		bad := &Announce{Job: a.Job, Escrow: esc}
		bad.Sign(coord)
		_, err := bad.Check()
		mustMessageErr(t, err, "%s", name)
	}

	// A job that does not check.
	badJob := *a.Job
	badJob.Reward++
	bad := &Announce{Job: &badJob, Escrow: escrowFor(t, &badJob, client, nil).Encode()}
	bad.Sign(coord)
	_, err = bad.Check()
	mustMessageErr(t, err, "a tampered job")

	// The coordinator's signature covers the job and the escrow.
	otherJob := *a.Job
	otherJob.Seed++
	otherJob.Sign(client)
	otherEscrow := escrowFor(t, a.Job, client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.Nonce = 2 }).Encode()
	for name, edit := range map[string]func(*Announce){
		"job":         func(a *Announce) { a.Job, a.Escrow = &otherJob, escrowFor(t, &otherJob, client, nil).Encode() },
		"escrow":      func(a *Announce) { a.Escrow = otherEscrow },
		"coordinator": func(a *Announce) { a.Coordinator = testKey(t, 6).Public().Bytes() },
		"signature":   func(a *Announce) { a.Sig[3] ^= 1 },
		"bad key":     func(a *Announce) { a.Coordinator = badKeys(t)["zeros"] },
	} {
		bad, _ := DecodeAnnounce(a.Encode())
		edit(bad)
		_, err := bad.Check()
		mustMessageErr(t, err, "tampered %s", name)
	}

	// Any one bit flipped anywhere: no decode, or no check.
	b := a.Encode()
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 1
		if m, err := DecodeAnnounce(bad); err == nil {
			if _, err := m.Check(); err == nil {
				t.Fatalf("byte %d flipped, still valid", i)
			}
		}
	}
}

func FuzzDecodeAnnounce(f *testing.F) {
	a := sampleAnnounce(f)
	noEsc := &Announce{Job: a.Job}
	noEsc.Sign(testKey(f, 6))
	fuzzSeeds(f, a.Encode(), noEsc.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnnounce(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(a.Encode(), b) {
			t.Fatal("an accepted announcement does not re-encode to its bytes")
		}
		_, _ = a.Check()
	})
}
