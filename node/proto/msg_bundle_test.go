package proto

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/keys"
)

// sampleBundleAnnounce is a bundle of 12 chunks signed by test key 7.
func sampleBundleAnnounce(t testing.TB) *BundleAnnounce {
	t.Helper()
	root := keys.SHA256([]byte("root"))
	return &BundleAnnounce{Root: root, Signature: testKey(t, 7).SignDomain("bundle", root[:]), Name: "tinyllama-q8",
		Size: 12 << 20, Chunks: 12, At: 1_795_000_000_000}
}

func decodeBundleErr(b []byte) error { _, err := DecodeBundleAnnounce(b); return err }

func TestBundleAnnounceRoundTrip(t *testing.T) {
	edge := &BundleAnnounce{Root: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Signature: bytes.Repeat([]byte{0xff}, 64),
		Name: strings.Repeat("\xff", 128), Size: math.MaxUint64, Chunks: math.MaxUint32, At: math.MinInt64}
	small := &BundleAnnounce{Signature: make([]byte, 64), Chunks: 1, At: -1}
	for name, a := range map[string]*BundleAnnounce{"sample": sampleBundleAnnounce(t), "max": edge, "small": small} {
		b := a.Encode()
		back, err := DecodeBundleAnnounce(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSame(t, back, a)
		if !bytes.Equal(back.Encode(), b) {
			t.Fatalf("%s: does not re-encode to its bytes", name)
		}
	}
}

func TestBundleAnnounceRejects(t *testing.T) {
	a := sampleBundleAnnounce(t)
	b := a.Encode()
	checkTruncated(t, b, decodeBundleErr)

	none := *a
	none.Chunks = 0
	mustMessageErr(t, decodeBundleErr(none.Encode()), "no chunks")
	long := *a
	long.Name = strings.Repeat("n", 129)
	mustMessageErr(t, decodeBundleErr(long.Encode()), "name over the cap")
	for _, n := range []uint32{uint32(len(a.Name)) + 1, 128, 129, math.MaxUint32} {
		mustMessageErr(t, decodeBundleErr(setU32(b, 32+64, n)), "name length %d", n)
	}
	checkSmallAlloc(t, map[string][]byte{
		"name of 4 GiB":   append(make([]byte, 96), u32s(math.MaxUint32, make([]byte, 100))...),
		"name at the cap": append(make([]byte, 96), u32s(128, make([]byte, 100))...),
	}, decodeBundleErr)
}

func FuzzDecodeBundleAnnounce(f *testing.F) {
	fuzzSeeds(f, sampleBundleAnnounce(f).Encode(), (&BundleAnnounce{Signature: make([]byte, 64), Chunks: 1}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeBundleAnnounce(b)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		if !bytes.Equal(a.Encode(), b) {
			t.Fatal("an accepted bundle announcement does not re-encode to its bytes")
		}
	})
}
