package netq

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The book survives a restart: addresses, scores and bans.
func TestAddressBookPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers.json")
	b, err := OpenAddressBook(path)
	if err != nil {
		t.Fatal(err)
	}
	a, c := PeerID{1}, PeerID{2}
	b.Learn([]PeerInfo{{ID: a, Addrs: []string{"10.0.0.1:9000", "0.0.0.0:1", "bogus"}, LastSeen: 5}, {ID: c, Addrs: []string{"10.0.0.2:9000"}}}, PeerID{})
	b.SetScore(a, -30, time.Now())
	b.Ban(c, time.Now().Add(time.Hour))
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	b2, err := OpenAddressBook(path)
	if err != nil {
		t.Fatal(err)
	}
	if b2.Len() != 2 || !b2.Banned(c, time.Now()) {
		t.Fatalf("reloaded: %d entries, banned %v", b2.Len(), b2.Banned(c, time.Now()))
	}
	if s, _ := b2.Score(a); s != -30 {
		t.Fatalf("score %v", s)
	}
	if addrs := b2.entries[a].Addrs; len(addrs) != 1 || addrs[0] != "10.0.0.1:9000" {
		t.Fatalf("addresses %v", addrs)
	}
	// A damaged file is a clear error, not an empty book silently.
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := OpenAddressBook(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("damaged book: %v", err)
	}
}

func FuzzAddressBook(f *testing.F) {
	f.Add([]byte(`{"0101010101010101010101010101010101010101010101010101010101010101":{"addrs":["1.2.3.4:5"],"score":-3}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseAddressBook(raw)
		if err != nil {
			return
		}
		if len(m) > MaxBookEntries {
			t.Fatalf("%d entries", len(m))
		}
		for _, e := range m {
			if len(e.Addrs) > maxPeerAddrs {
				t.Fatalf("%d addresses", len(e.Addrs))
			}
		}
	})
}
