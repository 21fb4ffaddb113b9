package bundlestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/internal/testmodels"
	"github.com/dnahost/dnahost/kernels"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node/bundlestore"
)

var (
	bundlesOnce sync.Once
	bundleA     *bundle.Bundle
	bundleB     *bundle.Bundle
	bundlesErr  error
)

func testBundles(t *testing.T) (*bundle.Bundle, *bundle.Bundle) {
	t.Helper()
	bundlesOnce.Do(func() {
		if bundleA, bundlesErr = testmodels.SyntheticBundle("store-a", testmodels.Tiny, kernels.F32); bundlesErr != nil {
			return
		}
		bundleB, bundlesErr = testmodels.SyntheticBundle("store-b", testmodels.Tiny, kernels.Q8_0)
	})
	if bundlesErr != nil {
		t.Fatal(bundlesErr)
	}
	return bundleA, bundleB
}

// Every Store implementation passes the same suite.
var stores = map[string]func(t *testing.T) bundlestore.Store{
	"Dir": func(t *testing.T) bundlestore.Store {
		d, err := bundlestore.OpenDir(filepath.Join(t.TempDir(), "bundles"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	},
	"Mem": func(t *testing.T) bundlestore.Store { return bundlestore.NewMem() },
}

func TestStore(t *testing.T) {
	a, b := testBundles(t)
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if s.Has(a.ID()) {
				t.Fatal("empty store has a bundle")
			}
			if _, err := s.Get(a.ID()); !errors.Is(err, bundlestore.ErrNotFound) {
				t.Fatalf("Get of a missing bundle: %v, want ErrNotFound", err)
			}
			if l, err := s.List(); err != nil || len(l) != 0 {
				t.Fatalf("List of an empty store: %v %v", l, err)
			}
			for _, x := range []*bundle.Bundle{b, a, a} { // a twice: Put is idempotent
				if err := s.Put(x); err != nil {
					t.Fatal(err)
				}
			}
			for _, x := range []*bundle.Bundle{a, b} {
				if !s.Has(x.ID()) {
					t.Fatalf("Has(%s) false after Put", x.ID())
				}
				got, err := s.Get(x.ID())
				if err != nil {
					t.Fatal(err)
				}
				if got.ID() != x.ID() || got.Manifest().Name != x.Manifest().Name {
					t.Fatalf("Get(%s) returned %s", x.ID(), got.ID())
				}
			}
			l, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(l) != 2 || l[0].Name > l[1].Name {
				t.Fatalf("List: %+v, want both bundles by name", l)
			}
			for _, info := range l {
				x := a
				if info.Root == b.ID() {
					x = b
				}
				if info != bundlestore.InfoOf(x) {
					t.Fatalf("List entry %+v, want %+v", info, bundlestore.InfoOf(x))
				}
			}
		})
	}
}

// Concurrent readers and writers see whole bundles only.
func TestStoreConcurrent(t *testing.T) {
	a, b := testBundles(t)
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := 0; i < 8; i++ {
				x := []*bundle.Bundle{a, b}[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Put(x); err != nil {
						errs <- err
						return
					}
					for j := 0; j < 10; j++ {
						got, err := s.Get(x.ID())
						if err != nil || got.ID() != x.ID() {
							errs <- errors.Join(err, errors.New("wrong bundle"))
							return
						}
						if _, err := s.List(); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// A Dir keeps bundles across opens, and never serves a damaged or
// misnamed file: bundles are checked against the root they are asked by.
func TestDirDamage(t *testing.T) {
	a, b := testBundles(t)
	dir := filepath.Join(t.TempDir(), "bundles")
	d, err := bundlestore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(b); err != nil {
		t.Fatal(err)
	}
	// Reopened: the bundles are read back from disk and verified.
	d, err = bundlestore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get(a.ID()); err != nil || got.ID() != a.ID() {
		t.Fatalf("after reopening: %v", err)
	}

	// A flipped byte in b's file.
	pb := filepath.Join(dir, b.ID().String()+".dna")
	raw, err := os.ReadFile(pb)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(pb, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// a's file under a third root's name.
	var other keys.Hash
	other[0] = 1
	ra, err := os.ReadFile(filepath.Join(dir, a.ID().String()+".dna"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, other.String()+".dna"), ra, 0o644); err != nil {
		t.Fatal(err)
	}
	// And files that are not bundles at all.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "zz.dna"), []byte("x"), 0o644)

	d, err = bundlestore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(b.ID()); err == nil {
		t.Fatal("a damaged bundle was served")
	}
	if _, err := d.Get(other); err == nil {
		t.Fatal("a bundle was served under another root")
	}
	l, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].Root != a.ID() {
		t.Fatalf("List offers %+v, want only the intact bundle", l)
	}
	// Putting the bundle again (fetched from a peer, say) replaces the
	// damaged file.
	if err := d.Put(b); err != nil {
		t.Fatal(err)
	}
	d, err = bundlestore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get(b.ID()); err != nil || got.ID() != b.ID() {
		t.Fatalf("after Put over a damaged file: %v", err)
	}
}

// Objects serves a stored bundle as Merkle objects from which a peer
// assembles the same bundle.
func TestObjects(t *testing.T) {
	a, _ := testBundles(t)
	s := bundlestore.NewMem()
	if err := s.Put(a); err != nil {
		t.Fatal(err)
	}
	o := bundlestore.Objects{S: s}
	root := merkle.Hash(a.ID())
	leaves, err := o.Leaves(root)
	if err != nil {
		t.Fatal(err)
	}
	if merkle.Root(leaves) != root {
		t.Fatal("leaves do not hash to the root")
	}
	var data [][]byte
	for i := range leaves {
		codec, stored, err := o.Chunk(root, i)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := a.LeafData(i)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(raw))
		if err := bundle.DecompressChunk(got, stored, byte(codec), len(raw), leaves[i]); err != nil {
			t.Fatalf("leaf %d (codec %d): %v", i, codec, err)
		}
		data = append(data, got)
	}
	back, err := bundle.Assemble(data, a.Signature(), a.ID(), bundle.ReadOptions{})
	if err != nil || back.ID() != a.ID() {
		t.Fatalf("assembled: %v", err)
	}
	var missing merkle.Hash
	if _, err := o.Leaves(missing); !errors.Is(err, netq.ErrNotFound) {
		t.Fatalf("Leaves of a missing bundle: %v", err)
	}
	if _, _, err := o.Chunk(root, len(leaves)); !errors.Is(err, netq.ErrNotFound) {
		t.Fatalf("Chunk past the end: %v", err)
	}
	if _, _, err := o.Chunk(root, -1); !errors.Is(err, netq.ErrNotFound) {
		t.Fatalf("Chunk -1: %v", err)
	}
}
