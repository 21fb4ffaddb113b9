package consensus

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

func decided(t testing.TB) (Case, Decision) {
	c := Case{Job: "cert", Replication: 3, Commitments: []CaseCommitment{{Node: "a", Result: "A"}, {Node: "b", Result: "A"}, {Node: "c", Result: "B"}}}
	d := Evaluate(Preset{Name: PresetMajority}, c.JobInfo(), c.Signed())
	if d.Status != Accepted {
		t.Fatal(d)
	}
	return c, d
}

func TestCertificate(t *testing.T) {
	c, d := decided(t)
	cert, err := NewCertificate(c.JobInfo(), d)
	if err != nil {
		t.Fatal(err)
	}
	cert.Sign(CaseKey("a"))
	cert.Sign(CaseKey("b"))
	ids, err := cert.Verify(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != d.Agree[0] || ids[1] != d.Agree[1] {
		t.Fatalf("signers %v, agreeing %v", ids, d.Agree)
	}
	// The wire form round-trips and still verifies.
	back, err := DecodeCertificate(cert.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.Verify(2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Encode(), cert.Encode()) {
		t.Fatal("encoding is not stable")
	}
	// Too few signers, a repeated signer, a tampered field or signature.
	if _, err := cert.Verify(3); !errors.Is(err, ErrCertificate) {
		t.Fatal("3 required, 2 given, accepted")
	}
	twice := *cert
	twice.Signers = append(append([]Signature{}, cert.Signers...), cert.Signers[0])
	if _, err := twice.Verify(2); !errors.Is(err, ErrCertificate) {
		t.Fatal("a node signing twice was accepted")
	}
	for name, edit := range map[string]func(*Certificate){
		"result":      func(c *Certificate) { c.Result[0] ^= 1 },
		"job":         func(c *Certificate) { c.JobID[31] ^= 1 },
		"rule":        func(c *Certificate) { c.Rule = RuleRef{Name: "unanimous", Version: 1}.ID() },
		"replication": func(c *Certificate) { c.Replication++ },
		"signature":   func(c *Certificate) { c.Signers[1].Signature[5] ^= 1 },
		"key":         func(c *Certificate) { c.Signers[1].Node = CaseKey("c").Public().Bytes() },
	} {
		bad, _ := DecodeCertificate(cert.Encode())
		edit(bad)
		if _, err := bad.Verify(1); err == nil {
			t.Errorf("tampered %s accepted", name)
		}
	}
	if _, err := NewCertificate(c.JobInfo(), Decision{Status: Undecided}); err == nil {
		t.Fatal("a certificate for an undecided job")
	}
}

func TestCommitmentCheck(t *testing.T) {
	k := CaseKey("n")
	cm := Commitment{JobID: keys.SHA256([]byte("j")), Stake: 5, ResultHash: ResultHash([]int32{1, 2, 3}, keys.SHA256([]byte("d"))), Reward: "addr"}
	cm.Sign(k)
	if err := cm.Check(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Commitment){
		"stake":  func(c *Commitment) { c.Stake++ },
		"result": func(c *Commitment) { c.ResultHash[0] ^= 1 },
		"reward": func(c *Commitment) { c.Reward = "other" },
		"job":    func(c *Commitment) { c.JobID[0] ^= 1 },
		"node":   func(c *Commitment) { c.Node = CaseKey("m").Public().Bytes() },
		"long":   func(c *Commitment) { c.Reward = string(make([]byte, MaxRewardLen+1)) },
	} {
		bad := cm
		edit(&bad)
		if bad.Check() == nil {
			t.Errorf("changed %s still verifies", name)
		}
	}
	if ResultHash([]int32{1, 2}, keys.Hash{}) == ResultHash([]int32{1, 2, 0}, keys.Hash{}) {
		t.Fatal("result hash ignores the token count")
	}
}

func FuzzDecodeCertificate(f *testing.F) {
	c, d := decided(f)
	cert, _ := NewCertificate(c.JobInfo(), d)
	cert.Sign(CaseKey("a"))
	f.Add(cert.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCertificate(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatal("an accepted certificate does not re-encode to its bytes")
		}
		c.Verify(0)
	})
}

func FuzzDecodeInput(f *testing.F) {
	c, _ := decided(f)
	in := &Input{JobID: c.JobInfo().ID, Replication: 3, Entries: []Entry{{Stake: 7, Revealed: true, Verification: Verified}}}
	f.Add(EncodeInput(in, map[string]string{"k": "2"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, params, err := DecodeInput(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeInput(in, params), b) {
			t.Fatal("an accepted input does not re-encode to its bytes")
		}
	})
}

func FuzzDecodeDecision(f *testing.F) {
	_, d := decided(f)
	f.Add(EncodeDecision(d))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDecision(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeDecision(d), b) {
			t.Fatal("an accepted decision does not re-encode to its bytes")
		}
		CheckDecision(&Input{}, d)
	})
}

func FuzzParseCases(f *testing.F) {
	f.Add([]byte(`{"cases":[{"name":"x","rule":"majority","replication":3,"commitments":[{"node":"a","stake":1,"result":"A"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseCases(b)
		if err != nil {
			return
		}
		for _, c := range cs.Cases {
			if len(c.Commitments) > 16 {
				continue // keep each run cheap
			}
			if r, err := ParseRule(c.Rule); err == nil {
				c.Names(Evaluate(r, c.JobInfo(), c.Signed()))
			}
		}
	})
}
