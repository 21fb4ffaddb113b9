package bundle_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/keys"
)

func TestAssembleRoundTrip(t *testing.T) {
	key, _ := keys.GenerateKey()
	files := baseFiles()
	b, err := bundle.Build(baseManifest(), files, key)
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([][]byte, len(b.Leaves()))
	for i := range leaves {
		if leaves[i], err = b.LeafData(i); err != nil {
			t.Fatal(err)
		}
	}
	got, err := bundle.Assemble(leaves, b.Signature(), b.ID(), bundle.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != b.ID() {
		t.Fatal("different ID")
	}
	for _, f := range files {
		d, _ := got.File(f.Name)
		if !bytes.Equal(d, f.Data) {
			t.Fatalf("file %s differs", f.Name)
		}
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	// A flipped chunk changes the root; a wrong signature is refused.
	bad := append([][]byte(nil), leaves...)
	bad[1] = bytes.Clone(bad[1])
	bad[1][0] ^= 1
	if _, err := bundle.Assemble(bad, b.Signature(), b.ID(), bundle.ReadOptions{}); !errors.Is(err, bundle.ErrCorrupt) {
		t.Fatalf("corrupt chunk: %v", err)
	}
	sig := bytes.Clone(b.Signature())
	sig[5] ^= 1
	if _, err := bundle.Assemble(leaves, sig, b.ID(), bundle.ReadOptions{}); !errors.Is(err, bundle.ErrSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	if _, err := bundle.Assemble(leaves[:2], b.Signature(), b.ID(), bundle.ReadOptions{}); err == nil {
		t.Fatal("missing chunks accepted")
	}
}
