package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/keys"
)

// sampleDecision: nodes 11 and 12 agree, 13 is refuted; coordinator 5.
func sampleDecision(t testing.TB) *Decision {
	t.Helper()
	rule := consensus.RuleRef{Name: "majority", Version: 1}
	d := &Decision{JobID: sampleJob(t).ID(), Rule: rule.String(), RuleID: rule.ID(), Accepted: true,
		Result: keys.SHA256([]byte("r")), Reason: "2 of 3 agree",
		Agree: [][]byte{testKey(t, 11).Public().Bytes(), testKey(t, 12).Public().Bytes()}}
	for i, v := range []consensus.Verification{consensus.Verified, consensus.NotVerified, consensus.Refuted} {
		c := NodeCheck{Node: testKey(t, byte(11+i)).Public().Bytes(), Revealed: i < 2, Verification: v, Position: -1}
		if v == consensus.Refuted {
			c.Failed, c.Position = "token", 17
		}
		d.Checks = append(d.Checks, c)
	}
	d.Sign(testKey(t, 5))
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	return d
}

// maxDecision has the most nodes and the longest strings.
func maxDecision(t testing.TB) *Decision {
	t.Helper()
	d := &Decision{JobID: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Rule: strings.Repeat("\xfe", MaxRuleLen),
		RuleID: keys.Hash(bytes.Repeat([]byte{0xfe}, 32)), Result: keys.Hash(bytes.Repeat([]byte{0xfd}, 32)),
		Reason: strings.Repeat("\x00", 1024)}
	for i := range MaxDecisionNodes {
		pub := testKey(t, byte(i+1)).Public().Bytes()
		d.Agree = append(d.Agree, pub)
		d.Checks = append(d.Checks, NodeCheck{Node: pub, Revealed: i%2 == 0, Verification: consensus.Verification(i),
			Failed: strings.Repeat(string(rune('a'+i%26)), 64), Position: int32(math.MinInt32 + i*0x1000001)})
	}
	d.Checks[0].Position, d.Checks[1].Position = math.MaxInt32, -1
	d.Sign(testKey(t, 5))
	return d
}

func decodeDecisionErr(b []byte) error { _, err := DecodeDecision(b); return err }

func TestDecisionRoundTrip(t *testing.T) {
	empty := &Decision{}
	empty.Sign(testKey(t, 5))
	for name, d := range map[string]*Decision{"sample": sampleDecision(t), "max": maxDecision(t), "empty": empty} {
		b := d.Encode()
		back, err := DecodeDecision(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, d)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
		if err := back.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestDecisionRejects(t *testing.T) {
	d := sampleDecision(t)
	b := d.Encode()
	checkTruncated(t, b, decodeDecisionErr)

	// Flags, found by what one changed field changes in the encoding.
	flip := func(edit func(*Decision)) []byte {
		c, _ := DecodeDecision(b)
		edit(c)
		return c.Encode()
	}
	checkFlag(t, b, diffOffset(t, b, flip(func(d *Decision) { d.Accepted = false })), "accepted", decodeDecisionErr)
	for i := range d.Checks {
		off := diffOffset(t, b, flip(func(d *Decision) { d.Checks[i].Revealed = !d.Checks[i].Revealed }))
		checkFlag(t, b, off, "revealed", decodeDecisionErr)
	}

	// Keys: an agreeing node, a node only checked, the coordinator.
	checkBadKey(t, b, d.Agree[1], "agreeing node", decodeDecisionErr)
	checkBadKey(t, b, d.Checks[2].Node, "checked node", decodeDecisionErr)
	checkBadKey(t, b, d.Coordinator, "coordinator", decodeDecisionErr)
	for i := range d.Agree {
		bad := bytes.Clone(b)
		off := 32 + 4 + len(d.Rule) + 32 + 1 + 32 + 1 + 33*i
		if !bytes.Equal(bad[off:off+33], d.Agree[i]) {
			t.Fatal("agreeing key offset")
		}
		bad[off] = 0x07
		mustMessageErr(t, decodeDecisionErr(bad), "agreeing key %d", i)
	}

	// Strings over their caps, with the bytes present.
	for name, edit := range map[string]func(*Decision){
		"rule":   func(d *Decision) { d.Rule = strings.Repeat("r", MaxRuleLen+1) },
		"reason": func(d *Decision) { d.Reason = strings.Repeat("r", 1025) },
		"failed": func(d *Decision) { d.Checks[2].Failed = strings.Repeat("f", 65) },
	} {
		over, _ := DecodeDecision(b)
		edit(over)
		over.Sign(testKey(t, 5))
		mustMessageErr(t, decodeDecisionErr(over.Encode()), "%s over the cap", name)
	}

	// Counts and lengths that do not match the bytes.
	agreeOff := 32 + 4 + len(d.Rule) + 32 + 1 + 32
	reasonOff := agreeOff + 1 + 33*len(d.Agree)
	checksOff := reasonOff + 4 + len(d.Reason)
	for _, n := range []byte{0, 1, 3, 200, 255} {
		bad := bytes.Clone(b)
		bad[agreeOff] = n
		mustMessageErr(t, decodeDecisionErr(bad), "%d agreeing", n)
		bad = bytes.Clone(b)
		bad[checksOff] = n
		if n != 3 {
			mustMessageErr(t, decodeDecisionErr(bad), "%d checks", n)
		}
	}
	for _, n := range []uint32{uint32(len(d.Rule)) + 1, MaxRuleLen + 1, math.MaxUint32} {
		mustMessageErr(t, decodeDecisionErr(setU32(b, 32, n)), "rule length %d", n)
	}
	for _, n := range []uint32{uint32(len(d.Reason)) + 1, 1024, 1025, math.MaxUint32} {
		mustMessageErr(t, decodeDecisionErr(setU32(b, reasonOff, n)), "reason length %d", n)
	}

	head := make([]byte, 32+4+32+1+32)
	checkSmallAlloc(t, map[string][]byte{
		"255 agreeing":    append(append(bytes.Clone(head), 255), make([]byte, 300)...),
		"255 checks":      append(append(bytes.Clone(head), 0), u32s(0, []byte{255}, make([]byte, 300))...),
		"rule of 4 GiB":   u32s(math.MaxUint32, make([]byte, 300)),
		"reason of 4 GiB": append(append(bytes.Clone(head), 0), u32s(math.MaxUint32, make([]byte, 300))...),
	}, decodeDecisionErr)
}

func TestDecisionSignature(t *testing.T) {
	d := sampleDecision(t)
	for name, edit := range map[string]func(*Decision){
		"job":          func(d *Decision) { d.JobID[1] ^= 1 },
		"rule":         func(d *Decision) { d.Rule = "unanimous/1" },
		"rule id":      func(d *Decision) { d.RuleID[2] ^= 1 },
		"accepted":     func(d *Decision) { d.Accepted = false },
		"result":       func(d *Decision) { d.Result[3] ^= 1 },
		"agree order":  func(d *Decision) { d.Agree[0], d.Agree[1] = d.Agree[1], d.Agree[0] },
		"agree more":   func(d *Decision) { d.Agree = append(d.Agree, d.Checks[2].Node) },
		"agree less":   func(d *Decision) { d.Agree = d.Agree[:1] },
		"reason":       func(d *Decision) { d.Reason = "" },
		"check node":   func(d *Decision) { d.Checks[0].Node = testKey(t, 20).Public().Bytes() },
		"revealed":     func(d *Decision) { d.Checks[2].Revealed = true },
		"verification": func(d *Decision) { d.Checks[2].Verification = consensus.Verified },
		"failed":       func(d *Decision) { d.Checks[2].Failed = "digest" },
		"position":     func(d *Decision) { d.Checks[2].Position++ },
		"checks less":  func(d *Decision) { d.Checks = d.Checks[1:] },
		"coordinator":  func(d *Decision) { d.Coordinator = testKey(t, 6).Public().Bytes() },
		"signature":    func(d *Decision) { d.Sig[63] ^= 1 },
		"bad key":      func(d *Decision) { d.Coordinator = badKeys(t)["x off the curve"] },
	} {
		bad, _ := DecodeDecision(d.Encode())
		edit(bad)
		mustMessageErr(t, bad.Check(), "tampered %s", name)
	}
	b := d.Encode()
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 1
		if m, err := DecodeDecision(bad); err == nil && m.Check() == nil {
			t.Fatalf("byte %d flipped, still valid", i)
		}
	}
}

func FuzzDecodeDecision(f *testing.F) {
	empty := &Decision{}
	empty.Sign(testKey(f, 5))
	fuzzSeeds(f, sampleDecision(f).Encode(), empty.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDecision(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(d.Encode(), b) {
			t.Fatal("an accepted decision does not re-encode to its bytes")
		}
		_ = d.Check()
	})
}
