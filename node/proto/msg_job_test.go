package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// sampleJob is a valid job signed by test key 1.
func sampleJob(t testing.TB) *Job {
	t.Helper()
	j := &Job{Bundle: keys.SHA256([]byte("bundle")), Prompt: "Once upon a time", MaxTokens: 64,
		Temperature: 0.7, TopK: 40, Seed: 42, Replication: 3, Reward: 1000, MinStake: 50,
		Deadline: 1_795_000_600_000, Verify: VerifyRASTiC, Samples: 4, Created: 1_795_000_000_123}
	j.Sign(testKey(t, 1))
	if err := j.Check(); err != nil {
		t.Fatal(err)
	}
	return j
}

// maxJob has every field at its largest.
func maxJob(t testing.TB) *Job {
	t.Helper()
	j := &Job{Bundle: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Prompt: strings.Repeat("\xff\x00é", MaxPromptBytes/4),
		MaxTokens: MaxJobTokens, Temperature: 100, TopK: math.MaxUint32, Seed: math.MaxUint64,
		Replication: math.MaxUint8, Reward: math.MaxUint64, MinStake: math.MaxUint64, Deadline: math.MaxInt64,
		Verify: VerifyFull, Samples: math.MaxUint8, Private: true, Created: math.MaxInt64}
	if len(j.Prompt) != MaxPromptBytes {
		t.Fatalf("prompt of %d bytes", len(j.Prompt))
	}
	j.Sign(testKey(t, 2))
	return j
}

var devGenesis = sync.OnceValue(func() keys.Hash { return chain.DevNet.GenesisHash() })

// escrowFor is an escrow transaction for j signed by k, with edit applied
// to its terms and fields before signing.
func escrowFor(t testing.TB, j *Job, k *keys.PrivateKey, edit func(*chain.JobEscrow, *chain.Tx)) *chain.Tx {
	t.Helper()
	e := j.Escrow()
	tx := &chain.Tx{Version: chain.TxVersion, Type: chain.TxJobEscrow, Nonce: 1, Fee: 10, JobID: j.ID()}
	if edit != nil {
		edit(&e, tx)
	}
	if tx.Payload == nil {
		tx.Payload = e.Encode()
	}
	tx.Sign(k, devGenesis())
	return tx
}

func decodeJobErr(b []byte) error { _, err := DecodeJob(b); return err }

func TestJobRoundTrip(t *testing.T) {
	edge := &Job{Prompt: "", Temperature: float32(math.Copysign(0, -1)), Deadline: math.MinInt64,
		Created: -1, Samples: 0, Verify: 0xff}
	edge.Sign(testKey(t, 3))
	for name, j := range map[string]*Job{"sample": sampleJob(t), "max": maxJob(t), "edge": edge} {
		b := j.Encode()
		back, err := DecodeJob(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, j)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
		if back.ID() != j.ID() || back.ClientAddress() != j.ClientAddress() {
			t.Fatalf("%s: identity changed", name)
		}
		if name != "edge" {
			if err := back.Check(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}

	// Float bit patterns, NaNs included, survive exactly.
	for _, bits := range []uint32{0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0xffffffff, 1} {
		j := sampleJob(t)
		j.Temperature = math.Float32frombits(bits)
		back, err := DecodeJob(j.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if got := math.Float32bits(back.Temperature); got != bits || !bytes.Equal(back.Encode(), j.Encode()) {
			t.Fatalf("temperature %#x came back as %#x", bits, got)
		}
	}
}

func TestJobRejects(t *testing.T) {
	j := sampleJob(t)
	b := j.Encode()
	checkTruncated(t, b, decodeJobErr)

	for _, v := range []byte{0, 2, 0xff} {
		bad := bytes.Clone(b)
		bad[0] = v
		mustMessageErr(t, decodeJobErr(bad), "version %d", v)
	}

	// The prompt's length: over the cap (with the bytes present), and over
	// the bytes present.
	long := *j
	long.Prompt = strings.Repeat("x", MaxPromptBytes+1)
	mustMessageErr(t, decodeJobErr(long.Encode()), "prompt over the cap")
	for _, n := range []uint32{uint32(len(j.Prompt)) + 1, MaxPromptBytes, MaxPromptBytes + 1, math.MaxUint32} {
		mustMessageErr(t, decodeJobErr(setU32(b, 33, n)), "prompt length %d", n)
	}

	priv := *j
	priv.Private = true
	checkFlag(t, b, diffOffset(t, b, priv.Encode()), "private", decodeJobErr)
	checkBadKey(t, b, j.Client, "client", decodeJobErr)

	head := append([]byte{1}, make([]byte, 32)...)
	checkSmallAlloc(t, map[string][]byte{
		"prompt of 4 GiB":  append(head, u32s(math.MaxUint32, make([]byte, 100))...),
		"prompt of 64 KiB": append(head, u32s(MaxPromptBytes, make([]byte, 100))...),
	}, decodeJobErr)
}

func TestJobSignature(t *testing.T) {
	j := sampleJob(t)
	other := testKey(t, 9).Public().Bytes()
	for name, edit := range map[string]func(*Job){
		"bundle":      func(j *Job) { j.Bundle[7] ^= 1 },
		"prompt":      func(j *Job) { j.Prompt += "!" },
		"max tokens":  func(j *Job) { j.MaxTokens++ },
		"temperature": func(j *Job) { j.Temperature = math.Nextafter32(j.Temperature, 1) },
		"top k":       func(j *Job) { j.TopK++ },
		"seed":        func(j *Job) { j.Seed++ },
		"replication": func(j *Job) { j.Replication++ },
		"reward":      func(j *Job) { j.Reward++ },
		"min stake":   func(j *Job) { j.MinStake-- },
		"deadline":    func(j *Job) { j.Deadline++ },
		"verify":      func(j *Job) { j.Verify = VerifyFull },
		"samples":     func(j *Job) { j.Samples++ },
		"private":     func(j *Job) { j.Private = true },
		"created":     func(j *Job) { j.Created++ },
		"client":      func(j *Job) { j.Client = other },
		"signature":   func(j *Job) { j.Sig[40] ^= 1 },
		"no sig":      func(j *Job) { j.Sig = nil },
	} {
		bad, err := DecodeJob(j.Encode())
		if err != nil {
			t.Fatal(err)
		}
		edit(bad)
		err = bad.Check()
		mustMessageErr(t, err, "tampered %s", name)
		if !strings.Contains(err.Error(), "signature") {
			t.Fatalf("tampered %s: %v is not about the signature", name, err)
		}
		if name != "signature" && name != "no sig" && bad.ID() == j.ID() {
			t.Fatalf("tampered %s: the ID did not change", name)
		}
	}

	// Any one bit flipped anywhere: the job does not decode, or does not check.
	b := j.Encode()
	for i := range b {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(b)
			bad[i] ^= bit
			if m, err := DecodeJob(bad); err == nil && m.Check() == nil {
				t.Fatalf("bit %#x of byte %d flipped, still valid", bit, i)
			}
		}
	}

	// The signature is not part of the ID.
	resigned := *j
	resigned.Sig = bytes.Clone(j.Sig)
	resigned.Sig[63] ^= 1
	if resigned.ID() != j.ID() {
		t.Fatal("the ID covers the signature")
	}
}

func TestJobCheckFields(t *testing.T) {
	for name, edit := range map[string]func(*Job){
		"empty prompt":     func(j *Job) { j.Prompt = "" },
		"long prompt":      func(j *Job) { j.Prompt = strings.Repeat("x", MaxPromptBytes+1) },
		"no tokens":        func(j *Job) { j.MaxTokens = 0 },
		"too many tokens":  func(j *Job) { j.MaxTokens = MaxJobTokens + 1 },
		"NaN temperature":  func(j *Job) { j.Temperature = float32(math.NaN()) },
		"below zero":       func(j *Job) { j.Temperature = -0.001 },
		"over 100":         func(j *Job) { j.Temperature = 100.01 },
		"infinite":         func(j *Job) { j.Temperature = float32(math.Inf(1)) },
		"no replication":   func(j *Job) { j.Replication = 0 },
		"no reward":        func(j *Job) { j.Reward = 0 },
		"unknown mode":     func(j *Job) { j.Verify = VerifyFull + 1 },
		"bad client":       func(j *Job) { j.Client = badKeys(t)["x over p"] },
		"short client key": func(j *Job) { j.Client = j.Client[:32] },
	} {
		j := sampleJob(t)
		edit(j)
		if name != "bad client" && name != "short client key" {
			j.Sign(testKey(t, 1))
		}
		mustMessageErr(t, j.Check(), "%s", name)
	}
	for name, edit := range map[string]func(*Job){
		"max tokens":      func(j *Job) { j.MaxTokens = MaxJobTokens },
		"zero degrees":    func(j *Job) { j.Temperature = 0 },
		"100 degrees":     func(j *Job) { j.Temperature = 100 },
		"max prompt":      func(j *Job) { j.Prompt = strings.Repeat("x", MaxPromptBytes) },
		"full verify":     func(j *Job) { j.Verify = VerifyFull },
		"255 replication": func(j *Job) { j.Replication = 255 },
	} {
		j := sampleJob(t)
		edit(j)
		j.Sign(testKey(t, 1))
		if err := j.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestJobCheckEscrow(t *testing.T) {
	j := sampleJob(t)
	client := testKey(t, 1)
	good := escrowFor(t, j, client, nil)
	if err := chain.CheckTxSanity(good, &chain.DevNet, devGenesis()); err != nil {
		t.Fatalf("the escrow is not a valid transaction: %v", err)
	}
	if err := j.CheckEscrow(good); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		key  *keys.PrivateKey
		edit func(*chain.JobEscrow, *chain.Tx)
	}{
		"reward":         {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Reward++ }},
		"replication":    {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Replication++ }},
		"min stake":      {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.MinStake++ }},
		"deadline":       {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Deadline-- }},
		"bundle":         {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.BundleRoot[0] ^= 1 }},
		"rule":           {client, func(e *chain.JobEscrow, _ *chain.Tx) { e.Rule = "majority/1" }},
		"another job":    {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.JobID[0] ^= 1 }},
		"a transfer":     {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.Type = chain.TxTransfer }},
		"a stake":        {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.Type = chain.TxStake }},
		"bad payload":    {client, func(_ *chain.JobEscrow, tx *chain.Tx) { tx.Payload = []byte{1, 2, 3} }},
		"another sender": {testKey(t, 2), nil},
	} {
		err := j.CheckEscrow(escrowFor(t, j, c.key, c.edit))
		if !errors.Is(err, ErrEscrow) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeJob(f *testing.F) {
	j := sampleJob(f)
	priv := *j
	priv.Private, priv.Prompt = true, "\x00"
	priv.Sign(testKey(f, 2))
	fuzzSeeds(f, j.Encode(), priv.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := DecodeJob(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(j.Encode(), b) {
			t.Fatal("an accepted job does not re-encode to its bytes")
		}
		_ = j.Check()
		_ = j.ID()
	})
}
