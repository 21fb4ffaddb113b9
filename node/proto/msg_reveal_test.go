package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

// sampleOpening is a short output with a commitment signature by test
// node 11.
func sampleOpening(t testing.TB) *Opening {
	t.Helper()
	return &Opening{Tokens: []int32{1, 403, 407, -1, math.MaxInt32}, Digest: keys.SHA256([]byte("digest")),
		Reward: "mxDnaRewardAddress", CommitmentSig: testKey(t, 11).SignDomain("commitment", []byte("c"))}
}

// maxOpening has every field at its largest.
func maxOpening(t testing.TB) *Opening {
	t.Helper()
	o := &Opening{Tokens: make([]int32, MaxJobTokens+1), Digest: keys.Hash(bytes.Repeat([]byte{0xee}, 32)),
		Reward: strings.Repeat("\xff", MaxRewardLen), CommitmentSig: bytes.Repeat([]byte{0xff}, keys.SignatureSize)}
	for i := range o.Tokens {
		o.Tokens[i] = int32(uint32(i) * 0x9e3779b9)
	}
	o.Tokens[0], o.Tokens[1] = math.MinInt32, math.MaxInt32
	return o
}

// sampleReveal is test node 11's reveal of sampleOpening, public or
// sealed to the client (test key 1).
func sampleReveal(t testing.TB, private bool) *Reveal {
	t.Helper()
	m, err := NewReveal(testKey(t, 11), sampleJob(t).ID(), sampleOpening(t), private, testKey(t, 1).Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeOpeningErr(b []byte) error { _, err := DecodeOpening(b); return err }
func decodeRevealErr(b []byte) error  { _, err := DecodeReveal(b); return err }

func TestOpeningRoundTrip(t *testing.T) {
	empty := &Opening{Tokens: []int32{}, CommitmentSig: make([]byte, keys.SignatureSize)}
	for name, o := range map[string]*Opening{"sample": sampleOpening(t), "max": maxOpening(t), "empty": empty} {
		b := o.Encode()
		back, err := DecodeOpening(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, o)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
		if back.ResultHash() != o.ResultHash() {
			t.Fatalf("%s: result hash", name)
		}
	}
	if sampleOpening(t).ResultHash() == maxOpening(t).ResultHash() {
		t.Fatal("result hashes collide")
	}
}

func TestOpeningRejects(t *testing.T) {
	o := sampleOpening(t)
	b := o.Encode()
	checkTruncated(t, b, decodeOpeningErr)

	long := *maxOpening(t)
	long.Tokens = append(long.Tokens, 7)
	mustMessageErr(t, decodeOpeningErr(long.Encode()), "tokens over the cap")
	long = *o
	long.Reward = strings.Repeat("r", MaxRewardLen+1)
	mustMessageErr(t, decodeOpeningErr(long.Encode()), "reward over the cap")
	for _, n := range []uint32{uint32(len(o.Tokens)) + 1, uint32(len(b)) / 4, MaxJobTokens + 1, MaxJobTokens + 2, math.MaxUint32 / 4, math.MaxUint32} {
		mustMessageErr(t, decodeOpeningErr(setU32(b, 0, n)), "token count %d", n)
	}
	rOff := 4 + 4*len(o.Tokens) + 32
	for _, n := range []uint32{uint32(len(o.Reward)) + 1, MaxRewardLen + 1, math.MaxUint32} {
		mustMessageErr(t, decodeOpeningErr(setU32(b, rOff, n)), "reward length %d", n)
	}

	checkSmallAlloc(t, map[string][]byte{
		"tokens at the cap":  u32s(MaxJobTokens+1, make([]byte, 200)),
		"tokens of 16 GiB":   u32s(math.MaxUint32, make([]byte, 200)),
		"reward of 4 GiB":    u32s(0, make([]byte, 32), u32s(math.MaxUint32, make([]byte, 200))),
		"reward at the cap":  u32s(0, make([]byte, 32), u32s(MaxRewardLen, make([]byte, 100))),
		"tokens of 1 GiB -1": u32s(1<<28-1, make([]byte, 400)),
	}, decodeOpeningErr)
}

func TestRevealRoundTrip(t *testing.T) {
	client := testKey(t, 1)
	maxPriv, err := NewReveal(testKey(t, 12), keys.Hash{}, maxOpening(t), true, client.Public())
	if err != nil {
		t.Fatal(err)
	}
	if len(maxPriv.Body) != MaxRevealBody {
		t.Fatalf("the largest sealed opening has %d bytes, the cap is %d", len(maxPriv.Body), MaxRevealBody)
	}
	maxPub, err := NewReveal(testKey(t, 12), keys.Hash{}, maxOpening(t), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	empty := &Reveal{JobID: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Encrypted: true}
	empty.Sign(testKey(t, 13))
	for name, m := range map[string]*Reveal{"public": sampleReveal(t, false), "private": sampleReveal(t, true),
		"max private": maxPriv, "max public": maxPub, "empty": empty} {
		b := m.Encode()
		back, err := DecodeReveal(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, m)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
		if err := back.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	o, err := maxPriv.Open(client)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, o, maxOpening(t))
}

func TestRevealRejects(t *testing.T) {
	for _, private := range []bool{false, true} {
		m := sampleReveal(t, private)
		b := m.Encode()
		checkTruncated(t, b, decodeRevealErr)
		checkBadKey(t, b, m.Node, "node", decodeRevealErr)
		flipped := *m
		flipped.Encrypted = !m.Encrypted
		checkFlag(t, b, diffOffset(t, b, flipped.Encode()), "encrypted", decodeRevealErr)
		for _, n := range []uint32{uint32(len(m.Body)) + 1, MaxRevealBody, MaxRevealBody + 1, math.MaxUint32} {
			mustMessageErr(t, decodeRevealErr(setU32(b, 32+33+1, n)), "body length %d", n)
		}
	}
	over := &Reveal{Body: make([]byte, MaxRevealBody+1)}
	over.Sign(testKey(t, 11))
	mustMessageErr(t, decodeRevealErr(over.Encode()), "body over the cap")

	head := append(make([]byte, 32), testKey(t, 11).Public().Bytes()...)
	checkSmallAlloc(t, map[string][]byte{
		"body at the cap": append(append(bytes.Clone(head), 1), u32s(MaxRevealBody, make([]byte, 200))...),
		"body of 4 GiB":   append(append(bytes.Clone(head), 0), u32s(math.MaxUint32, make([]byte, 200))...),
	}, decodeRevealErr)
}

func TestRevealSignature(t *testing.T) {
	for _, private := range []bool{false, true} {
		m := sampleReveal(t, private)
		for name, edit := range map[string]func(*Reveal){
			"job":       func(m *Reveal) { m.JobID[0] ^= 1 },
			"node":      func(m *Reveal) { m.Node = testKey(t, 12).Public().Bytes() },
			"encrypted": func(m *Reveal) { m.Encrypted = !m.Encrypted },
			"body":      func(m *Reveal) { m.Body[len(m.Body)-1] ^= 1 },
			"cut body":  func(m *Reveal) { m.Body = m.Body[:len(m.Body)-1] },
			"signature": func(m *Reveal) { m.Sig[0] ^= 1 },
		} {
			bad, _ := DecodeReveal(m.Encode())
			edit(bad)
			err := bad.Check()
			mustMessageErr(t, err, "private %v: tampered %s", private, name)
			if !strings.Contains(err.Error(), "signature") {
				t.Fatalf("tampered %s: %v", name, err)
			}
		}
		b := m.Encode()
		for i := range b {
			bad := bytes.Clone(b)
			bad[i] ^= 1
			if r, err := DecodeReveal(bad); err == nil && r.Check() == nil {
				t.Fatalf("private %v: byte %d flipped, still valid", private, i)
			}
		}
	}
}

func TestRevealOpen(t *testing.T) {
	client, other := testKey(t, 1), testKey(t, 2)
	want := sampleOpening(t)

	pub := sampleReveal(t, false)
	if pub.Encrypted || !bytes.Equal(pub.Body, want.Encode()) {
		t.Fatal("a public reveal is not the opening in the clear")
	}
	for _, k := range []*keys.PrivateKey{nil, client, other} {
		o, err := pub.Open(k)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, o, want)
	}

	priv := sampleReveal(t, true)
	if !priv.Encrypted || len(priv.Body) != len(want.Encode())+keys.SealOverhead ||
		bytes.Contains(priv.Body, want.CommitmentSig) || bytes.Contains(priv.Body, []byte(want.Reward)) {
		t.Fatal("a private reveal shows its opening")
	}
	back, err := DecodeReveal(priv.Encode())
	if err != nil {
		t.Fatal(err)
	}
	o, err := back.Open(client)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, o, want)
	if _, err := back.Open(other); !errors.Is(err, keys.ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := back.Open(nil); !errors.Is(err, ErrMessage) {
		t.Fatalf("opened without a key: %v", err)
	}
	// The box is bound to the job: moved to another job (and re-signed),
	// or tampered with, it does not open.
	moved := *back
	moved.JobID[0] ^= 1
	moved.Sign(testKey(t, 11))
	if _, err := moved.Open(client); !errors.Is(err, keys.ErrOpen) {
		t.Fatalf("opened under another job: %v", err)
	}
	for _, cut := range []int{0, 1, keys.SealOverhead - 1, len(back.Body) - 1} {
		short := *back
		short.Body = back.Body[:cut]
		if _, err := short.Open(client); err == nil {
			t.Fatalf("a box of %d bytes opened", cut)
		}
	}
	for i := range back.Body {
		bad := *back
		bad.Body = bytes.Clone(back.Body)
		bad.Body[i] ^= 1
		if _, err := bad.Open(client); err == nil {
			t.Fatalf("a box with byte %d flipped opened", i)
		}
	}

	// A body that opens but is not an opening; a public body that is not one.
	job := sampleJob(t).ID()
	box, err := keys.SealTo(client.Public(), revealDomain, []byte("not an opening"), job[:])
	if err != nil {
		t.Fatal(err)
	}
	junk := &Reveal{JobID: job, Encrypted: true, Body: box}
	junk.Sign(testKey(t, 11))
	if _, err := junk.Open(client); !errors.Is(err, ErrMessage) {
		t.Fatalf("junk opening: %v", err)
	}
	junk = &Reveal{JobID: job, Body: []byte("not an opening")}
	if _, err := junk.Open(nil); !errors.Is(err, ErrMessage) {
		t.Fatalf("junk opening: %v", err)
	}
	// Sealed under another domain.
	box, _ = keys.SealTo(client.Public(), "dna-other", want.Encode(), job[:])
	junk = &Reveal{JobID: job, Encrypted: true, Body: box}
	if _, err := junk.Open(client); !errors.Is(err, keys.ErrOpen) {
		t.Fatalf("opened a box of another domain: %v", err)
	}
}

func FuzzDecodeOpening(f *testing.F) {
	fuzzSeeds(f, sampleOpening(f).Encode(), (&Opening{CommitmentSig: make([]byte, 64)}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeOpening(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(o.Encode(), b) {
			t.Fatal("an accepted opening does not re-encode to its bytes")
		}
		_ = o.ResultHash()
	})
}

func FuzzDecodeReveal(f *testing.F) {
	client := testKey(f, 1)
	fuzzSeeds(f, sampleReveal(f, false).Encode(), sampleReveal(f, true).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeReveal(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatal("an accepted reveal does not re-encode to its bytes")
		}
		_ = m.Check()
		_, _ = m.Open(client)
	})
}
