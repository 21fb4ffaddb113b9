package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// rfcRoot is RFC 6962's recursive definition, used as the test oracle.
func rfcRoot(leaves []Hash) Hash {
	n := len(leaves)
	if n == 0 {
		return sha256.Sum256(nil)
	}
	if n == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	return NodeHash(rfcRoot(leaves[:k]), rfcRoot(leaves[k:]))
}

func leavesN(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = LeafHash([]byte(fmt.Sprintf("leaf %d", i)))
	}
	return out
}

func TestRootMatchesRFC6962Recursion(t *testing.T) {
	for n := 0; n <= 70; n++ {
		ls := leavesN(n)
		if got, want := Root(ls), rfcRoot(ls); got != want {
			t.Fatalf("n=%d: root %x, want %x", n, got, want)
		}
	}
}

// Known answers from the Certificate Transparency reference test data
// (google/certificate-transparency, merkle_tree_test.cc).
func TestKnownAnswers(t *testing.T) {
	if got := EmptyRoot.String(); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root %s", got)
	}
	if got := LeafHash(nil).String(); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Fatalf("empty leaf %s", got)
	}
	data := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	var ls []Hash
	for _, d := range data {
		b, _ := hex.DecodeString(d)
		ls = append(ls, LeafHash(b))
	}
	want := map[int]string{
		1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	for n, w := range want {
		if got := Root(ls[:n]).String(); got != w {
			t.Errorf("root of %d leaves: %s, want %s", n, got, w)
		}
	}
}

func TestProofs(t *testing.T) {
	for n := 1; n <= 40; n++ {
		ls := leavesN(n)
		root := Root(ls)
		for i := 0; i < n; i++ {
			p, err := Proof(ls, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyProof(root, ls[i], uint64(i), uint64(n), p); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
			// The proof must not verify another leaf or position.
			other := LeafHash([]byte("forged"))
			if VerifyProof(root, other, uint64(i), uint64(n), p) == nil {
				t.Fatalf("n=%d i=%d: forged leaf accepted", n, i)
			}
			if n > 1 && VerifyProof(root, ls[i], uint64((i+1)%n), uint64(n), p) == nil && ls[i] != ls[(i+1)%n] {
				t.Fatalf("n=%d i=%d: wrong index accepted", n, i)
			}
		}
	}
	if _, err := Proof(leavesN(3), 3); err == nil {
		t.Fatal("out-of-range proof index accepted")
	}
}

func FuzzVerifyProof(f *testing.F) {
	ls := leavesN(5)
	p, _ := Proof(ls, 2)
	var seed []byte
	for _, h := range p {
		seed = append(seed, h[:]...)
	}
	f.Add(seed, uint64(2), uint64(5), []byte("leaf 2"))
	f.Fuzz(func(t *testing.T, proofBytes []byte, i, n uint64, leafData []byte) {
		var proof []Hash
		for len(proofBytes) >= 32 && len(proof) <= MaxProofLen {
			var h Hash
			copy(h[:], proofBytes)
			proof = append(proof, h)
			proofBytes = proofBytes[32:]
		}
		root := Root(ls)
		err := VerifyProof(root, LeafHash(leafData), i, n, proof)
		if err == nil {
			// Anything accepted must be a genuine leaf at its genuine index.
			if n != 5 || i >= 5 || ls[i] != LeafHash(leafData) {
				t.Fatalf("accepted a forged proof: i=%d n=%d", i, n)
			}
		}
	})
}
