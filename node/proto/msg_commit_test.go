package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

// sampleCommit is test node 11's commit to result "r" of sampleJob.
func sampleCommit(t testing.TB) *Commit {
	t.Helper()
	k := testKey(t, 11)
	c := &Commit{JobID: sampleJob(t).ID(), Node: k.Public().Bytes(), Stake: 50}
	c.Seal = Seal(keys.SHA256([]byte("r")), c.Node)
	c.Sign(k)
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	return c
}

func decodeCommitErr(b []byte) error { _, err := DecodeCommit(b); return err }

func TestCommitRoundTrip(t *testing.T) {
	edge := &Commit{JobID: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Stake: math.MaxUint64}
	edge.Sign(testKey(t, 12))
	zero := &Commit{}
	zero.Sign(testKey(t, 13))
	for name, c := range map[string]*Commit{"sample": sampleCommit(t), "max": edge, "zero": zero} {
		b := c.Encode()
		if len(b) != 32+33+32+8+64 {
			t.Fatalf("%s: %d bytes", name, len(b))
		}
		back, err := DecodeCommit(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, c)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
		if err := back.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.Address() != keys.AddressOf(mustPub(t, c.Node)) {
			t.Fatalf("%s: address", name)
		}
	}
}

func mustPub(t testing.TB, b []byte) *keys.PublicKey {
	t.Helper()
	p, err := keys.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommitRejects(t *testing.T) {
	c := sampleCommit(t)
	b := c.Encode()
	checkTruncated(t, b, decodeCommitErr)
	checkBadKey(t, b, c.Node, "node", decodeCommitErr)
}

func TestCommitSignature(t *testing.T) {
	c := sampleCommit(t)
	for name, edit := range map[string]func(*Commit){
		"job":       func(c *Commit) { c.JobID[31] ^= 1 },
		"node":      func(c *Commit) { c.Node = testKey(t, 12).Public().Bytes() },
		"seal":      func(c *Commit) { c.Seal[0] ^= 0x80 },
		"stake":     func(c *Commit) { c.Stake++ },
		"signature": func(c *Commit) { c.Sig[10] ^= 1 },
		"short sig": func(c *Commit) { c.Sig = c.Sig[:63] },
		"bad key":   func(c *Commit) { c.Node = badKeys(t)["prefix 5"] },
	} {
		bad, _ := DecodeCommit(c.Encode())
		edit(bad)
		err := bad.Check()
		mustMessageErr(t, err, "tampered %s", name)
		if name != "bad key" && !strings.Contains(err.Error(), "signature") {
			t.Fatalf("tampered %s: %v", name, err)
		}
	}
	b := c.Encode()
	for i := range b {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(b)
			bad[i] ^= bit
			if m, err := DecodeCommit(bad); err == nil && m.Check() == nil {
				t.Fatalf("bit %#x of byte %d flipped, still valid", bit, i)
			}
		}
	}

	// The seal binds the result to the node: another node re-signing a
	// copied seal commits to something it cannot open.
	result := keys.SHA256([]byte("r"))
	other := testKey(t, 12)
	copied := &Commit{JobID: c.JobID, Seal: c.Seal, Stake: c.Stake}
	copied.Sign(other)
	if copied.Check() != nil || copied.Seal == Seal(result, copied.Node) {
		t.Fatal("a copied seal opens for another node")
	}
	if Seal(result, c.Node) != c.Seal || Seal(keys.SHA256([]byte("s")), c.Node) == c.Seal {
		t.Fatal("the seal does not bind the result")
	}
}

func FuzzDecodeCommit(f *testing.F) {
	zero := &Commit{}
	zero.Sign(testKey(f, 13))
	fuzzSeeds(f, sampleCommit(f).Encode(), zero.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommit(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatal("an accepted commit does not re-encode to its bytes")
		}
		_ = c.Check()
	})
}
