package proto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

// sampleCertSig is test node 11's signature of a job's certificate.
func sampleCertSig(t testing.TB) *CertSig {
	t.Helper()
	k := testKey(t, 11)
	return &CertSig{JobID: sampleJob(t).ID(), Node: k.Public().Bytes(), Sig: k.SignDomain("certificate", []byte("c"))}
}

func decodeCertSigErr(b []byte) error { _, err := DecodeCertSig(b); return err }

func TestCertSigRoundTrip(t *testing.T) {
	edge := &CertSig{JobID: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Node: testKey(t, 255).Public().Bytes(),
		Sig: bytes.Repeat([]byte{0xff}, keys.SignatureSize)}
	zero := &CertSig{Node: testKey(t, 1).Public().Bytes(), Sig: make([]byte, keys.SignatureSize)}
	for name, c := range map[string]*CertSig{"sample": sampleCertSig(t), "max": edge, "zero": zero} {
		b := c.Encode()
		if len(b) != 32+33+64 {
			t.Fatalf("%s: %d bytes", name, len(b))
		}
		back, err := DecodeCertSig(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, c)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
	}
}

func TestCertSigRejects(t *testing.T) {
	c := sampleCertSig(t)
	b := c.Encode()
	checkTruncated(t, b, decodeCertSigErr)
	checkBadKey(t, b, c.Node, "node", decodeCertSigErr)
	// The signature verifies with the node's key after a round trip.
	back, _ := DecodeCertSig(b)
	if err := mustPub(t, back.Node).VerifyDomain("certificate", []byte("c"), back.Sig); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeCertSig(f *testing.F) {
	fuzzSeeds(f, sampleCertSig(f).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCertSig(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatal("an accepted certificate signature does not re-encode to its bytes")
		}
	})
}
