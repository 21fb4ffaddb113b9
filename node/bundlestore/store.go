package bundlestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/keys"
)

// ErrNotFound reports a bundle the store does not hold.
var ErrNotFound = errors.New("bundlestore: bundle not found")

// Info describes a stored bundle.
type Info struct {
	Root   keys.Hash `json:"root"`
	Name   string    `json:"name"`
	Size   int64     `json:"size"`
	Leaves int       `json:"leaves"`
	Arch   string    `json:"arch"`
}

// InfoOf describes b.
func InfoOf(b *bundle.Bundle) Info {
	m := b.Manifest()
	return Info{Root: b.ID(), Name: m.Name, Size: b.Size(), Leaves: len(b.Leaves()), Arch: m.Arch}
}

// Store holds verified bundles by root. Implementations must be safe for
// concurrent use and must return only bundles whose ID is the root asked
// for (bundle.Read with ExpectID does that check).
type Store interface {
	Has(root keys.Hash) bool
	Get(root keys.Hash) (*bundle.Bundle, error)
	Put(b *bundle.Bundle) error
	List() ([]Info, error)
}

// Dir stores each bundle as DIR/<root>.dna, written atomically, and keeps
// the decoded bundles it has opened in memory.
type Dir struct {
	dir string
	mu  sync.Mutex
	mem map[keys.Hash]*bundle.Bundle
}

// OpenDir opens (creating) a directory store.
func OpenDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundlestore: %w", err)
	}
	return &Dir{dir: dir, mem: map[keys.Hash]*bundle.Bundle{}}, nil
}

func (d *Dir) path(root keys.Hash) string { return filepath.Join(d.dir, root.String()+".dna") }

// Has reports whether the store holds root.
func (d *Dir) Has(root keys.Hash) bool {
	d.mu.Lock()
	_, ok := d.mem[root]
	d.mu.Unlock()
	if ok {
		return true
	}
	_, err := os.Stat(d.path(root))
	return err == nil
}

// Get opens and verifies a bundle. The file is read outside the lock: a
// large bundle being read holds up nobody else.
func (d *Dir) Get(root keys.Hash) (*bundle.Bundle, error) {
	d.mu.Lock()
	b, ok := d.mem[root]
	d.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := bundle.ReadFile(d.path(root), bundle.ReadOptions{ExpectID: root})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, root)
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if kept, ok := d.mem[root]; ok {
		b = kept // another Get won the race
	} else {
		d.mem[root] = b
	}
	d.mu.Unlock()
	return b, nil
}

// Put stores a verified bundle. A file already there is kept only if it
// reads back as the bundle: a damaged one is replaced.
func (d *Dir) Put(b *bundle.Bundle) error {
	if _, err := d.Get(b.ID()); err == nil {
		return nil
	}
	if err := b.WriteFile(d.path(b.ID())); err != nil {
		return err
	}
	d.mu.Lock()
	d.mem[b.ID()] = b
	d.mu.Unlock()
	return nil
}

// List describes every stored bundle, by name.
func (d *Dir) List() ([]Info, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".dna")
		if !ok {
			continue
		}
		root, err := keys.ParseHash(name)
		if err != nil {
			continue
		}
		b, err := d.Get(root)
		if err != nil {
			continue // a damaged file is not offered
		}
		out = append(out, InfoOf(b))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Mem is an in-memory store.
type Mem struct {
	mu sync.Mutex
	m  map[keys.Hash]*bundle.Bundle
}

// NewMem makes an empty in-memory store.
func NewMem() *Mem { return &Mem{m: map[keys.Hash]*bundle.Bundle{}} }

func (s *Mem) Has(root keys.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[root]
	return ok
}

func (s *Mem) Get(root keys.Hash) (*bundle.Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[root]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, root)
}

func (s *Mem) Put(b *bundle.Bundle) error { s.mu.Lock(); s.m[b.ID()] = b; s.mu.Unlock(); return nil }

func (s *Mem) List() ([]Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Info
	for _, b := range s.m {
		out = append(out, InfoOf(b))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
