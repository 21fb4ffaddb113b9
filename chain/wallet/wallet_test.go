package wallet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/keys"
)

// cheap keeps Argon2 at microseconds; only TestDefaultOptions pays for the
// defaults, once.
var cheap = Options{Time: 1, MemoryKiB: 64, Threads: 1}

var pass = []byte("correct horse battery staple")

// create makes a wallet in a fresh temporary folder.
func create(t *testing.T) (string, *Wallet) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wallet.dat")
	w, err := Create(path, pass, cheap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return path, w
}

// fixedKey is a valid key with scalar 1, 2, ..., 32 + seed.
func fixedKey(t testing.TB, seed byte) *keys.PrivateKey {
	t.Helper()
	b := make([]byte, keys.PrivateKeySize)
	for i := range b {
		b[i] = byte(i+1) + seed
	}
	k, err := keys.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustOpen(t *testing.T, path string, passphrase []byte) *Wallet {
	t.Helper()
	w, err := Open(path, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func mustImport(t *testing.T, w *Wallet, name string, seed byte) {
	t.Helper()
	if err := w.Import(name, fixedKey(t, seed)); err != nil {
		t.Fatal(err)
	}
}

// saved saves w and returns its file.
func saved(t *testing.T, w *Wallet) []byte {
	t.Helper()
	if err := w.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// reopen saves w, opens its file afresh and checks it holds what w holds.
func reopen(t *testing.T, w *Wallet) *Wallet {
	t.Helper()
	saved(t, w)
	got := mustOpen(t, w.path, w.pass)
	sameWallet(t, w, got)
	return got
}

// sameWallet fails unless a and b hold the same keys, times and default.
func sameWallet(t *testing.T, a, b *Wallet) {
	t.Helper()
	if !slices.Equal(a.Names(), b.Names()) || a.Default() != b.Default() {
		t.Fatalf("names %v default %q, want %v default %q", b.Names(), b.Default(), a.Names(), a.Default())
	}
	for _, name := range a.Names() {
		ka, _ := a.Key(name)
		kb, err := b.Key(name)
		if err != nil || !bytes.Equal(ka.Bytes(), kb.Bytes()) {
			t.Fatalf("key %q differs (%v)", name, err)
		}
		ia, _ := a.Info(name)
		ib, _ := b.Info(name)
		if ia != ib {
			t.Fatalf("info %+v, want %+v", ib, ia)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	path, w := create(t)
	alice, err := w.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	mustImport(t, w, "bob", 0)
	if _, err := w.NewKey("carol.2_x-y"); err != nil {
		t.Fatal(err)
	}
	if w.Default() != "alice" {
		t.Fatalf("default %q, want the first key", w.Default())
	}
	if err := w.SetDefault("bob"); err != nil {
		t.Fatal(err)
	}

	got := reopen(t, w)
	if want := []string{"alice", "bob", "carol.2_x-y"}; !slices.Equal(got.Names(), want) {
		t.Fatalf("names %v, want %v", got.Names(), want)
	}
	k, err := got.Key("")
	if err != nil || !bytes.Equal(k.Bytes(), fixedKey(t, 0).Bytes()) {
		t.Fatalf("default key is not bob's (%v)", err)
	}
	info, _ := got.Info("alice")
	if info.Address != alice.Public().Address() {
		t.Fatal("alice's address changed")
	}
	if enc := info.Address.Encode(0); !strings.HasPrefix(enc, "1") {
		t.Fatalf("address %s", enc)
	}
	if d := time.Since(info.Created); d < 0 || d > time.Minute || info.Created.Location() != time.UTC {
		t.Fatalf("created %v", info.Created)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestUnsavedChangesAreNotWritten(t *testing.T) {
	path, w := create(t)
	if _, err := w.NewKey("a"); err != nil {
		t.Fatal(err)
	}
	if got := mustOpen(t, path, pass); len(got.Names()) != 0 {
		t.Fatalf("unsaved key on disk: %v", got.Names())
	}
}

func TestWrongPassphrase(t *testing.T) {
	path, w := create(t)
	w.NewKey("a")
	w.Save()
	for _, p := range [][]byte{[]byte("wrong"), nil, append(bytes.Clone(pass), 0)} {
		if _, err := Open(path, p); !errors.Is(err, ErrPassphrase) {
			t.Fatalf("passphrase %q: %v, want ErrPassphrase", p, err)
		}
	}
}

func TestCreateExists(t *testing.T) {
	path, _ := create(t)
	before, _ := os.ReadFile(path)
	if _, err := Create(path, []byte("other"), cheap); !errors.Is(err, ErrExists) {
		t.Fatalf("%v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("Create changed an existing file")
	}
	mustOpen(t, path, pass)
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope"), pass)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%v, want not-exist", err)
	}
	if _, err := Open(t.TempDir(), pass); !errors.Is(err, ErrFormat) {
		t.Fatalf("folder: %v, want ErrFormat", err)
	}
}

func TestOversizedFileRefusedBeforeReading(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 40) // sparse: no disk used
	f.Close()
	start := time.Now()
	if _, err := Open(path, pass); !errors.Is(err, ErrFormat) {
		t.Fatalf("%v, want ErrFormat", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("took %v", d)
	}
}

// smallFile is a saved one-key wallet, the base for the tampering tests.
func smallFile(t *testing.T) []byte {
	t.Helper()
	_, w := create(t)
	mustImport(t, w, "k", 0)
	data := saved(t, w)
	if _, _, err := decode(data, pass); err != nil {
		t.Fatal(err)
	}
	return data
}

// refused fails unless data is refused with ErrPassphrase or ErrFormat.
func refused(t *testing.T, what string, data []byte) {
	t.Helper()
	_, c, err := decode(data, pass)
	if err == nil {
		t.Fatalf("%s: accepted, keys %d", what, len(c.keys))
	}
	if !errors.Is(err, ErrPassphrase) && !errors.Is(err, ErrFormat) {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestEveryByteChangeRefused(t *testing.T) {
	data := smallFile(t)
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			mut := bytes.Clone(data)
			mut[i] ^= mask
			refused(t, "byte "+strconv.Itoa(i), mut)
		}
	}
}

func TestTruncationsAndExtensionsRefused(t *testing.T) {
	data := smallFile(t)
	for n := range len(data) {
		refused(t, "prefix "+strconv.Itoa(n), data[:n])
	}
	refused(t, "one more byte", append(bytes.Clone(data), 0))
	refused(t, "doubled", append(bytes.Clone(data), data...))
}

// Offsets of the header fields (doc.go).
const (
	offVersion = 8
	offKDF     = 9
	offTime    = 10
	offMemory  = 14
	offThreads = 18
	offSaltLen = 19
)

func TestKDFBoundsCheckedBeforeKDF(t *testing.T) {
	data := smallFile(t)
	u32 := func(off int, v uint32) func([]byte) {
		return func(b []byte) { binary.LittleEndian.PutUint32(b[off:], v) }
	}
	u8 := func(off int, v byte) func([]byte) { return func(b []byte) { b[off] = v } }
	for name, patch := range map[string]func([]byte){
		"memory 4 GiB":      u32(offMemory, 4<<20),
		"memory 1 GiB+1KiB": u32(offMemory, 1<<20+1),
		"memory max":        u32(offMemory, 1<<32-1),
		"memory < 8p":       u32(offMemory, 7),
		"time 1e6":          u32(offTime, 1_000_000),
		"time 65":           u32(offTime, 65),
		"time 0":            u32(offTime, 0),
		"threads 0":         u8(offThreads, 0),
		"salt 15":           u8(offSaltLen, 15),
		"salt 65":           u8(offSaltLen, 65),
		"salt 255":          u8(offSaltLen, 255),
		"version 2":         u8(offVersion, 2),
		"kdf 2":             u8(offKDF, 2),
		"magic":             u8(0, 'x'),
	} {
		mut := bytes.Clone(data)
		patch(mut)
		path := filepath.Join(t.TempDir(), "crafted")
		os.WriteFile(path, mut, 0o600)
		start := time.Now()
		_, err := Open(path, pass)
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("%s: took %v: the KDF ran?", name, d)
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

func TestOptions(t *testing.T) {
	p, err := Options{}.params()
	if err != nil || p != (kdfParams{time: 3, memoryKiB: 64 << 10, threads: 4}) {
		t.Fatalf("defaults %+v %v", p, err)
	}
	p, err = Options{Time: 2, MemoryKiB: 1 << 20, Threads: 255}.params()
	if err != nil || p != (kdfParams{time: 2, memoryKiB: 1 << 20, threads: 255}) {
		t.Fatalf("%+v %v", p, err)
	}
	dir := t.TempDir()
	for _, o := range []Options{
		{Time: 65}, {MemoryKiB: 1<<20 + 1}, {MemoryKiB: 31}, {Threads: 255, MemoryKiB: 2039},
	} {
		path := filepath.Join(dir, "w")
		if _, err := Create(path, pass, o); !errors.Is(err, ErrOptions) {
			t.Fatalf("%+v: %v, want ErrOptions", o, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%+v: refused Create left a file", o)
		}
	}
}

// TestDefaultOptions is the one test that runs Argon2 at the defaults.
func TestDefaultOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB Argon2")
	}
	path := filepath.Join(t.TempDir(), "w")
	w, err := Create(path, pass, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	data, _ := os.ReadFile(path)
	h, _, _, err := parseFile(data)
	if err != nil || h.kdf != (kdfParams{time: 3, memoryKiB: 64 << 10, threads: 4}) || len(h.salt) != saltSize {
		t.Fatalf("header %+v %v", h, err)
	}
}

func TestNames(t *testing.T) {
	_, w := create(t)
	for _, ok := range []string{"a", "A-Z.a_z-0.9", strings.Repeat("x", 64), ".", "..", "-"} {
		if _, err := w.NewKey(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "ä", "a\x00", "a\n", "naïve", "a:b"} {
		if _, err := w.NewKey(bad); !errors.Is(err, ErrName) {
			t.Errorf("%q: %v, want ErrName", bad, err)
		}
		if err := w.Import(bad, fixedKey(t, 1)); !errors.Is(err, ErrName) {
			t.Errorf("import %q: %v, want ErrName", bad, err)
		}
	}
	if _, err := w.NewKey("a"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("same name: %v, want ErrDuplicate", err)
	}
	mustImport(t, w, "b", 2)
	if err := w.Import("c", fixedKey(t, 2)); !errors.Is(err, ErrDuplicate) {
		t.Errorf("same key: %v, want ErrDuplicate", err)
	}
	if err := w.Import("d", nil); err == nil {
		t.Error("nil key accepted")
	}
	if _, err := w.Key("c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused key stored: %v", err)
	}
}

func TestRemoveAndDefault(t *testing.T) {
	_, w := create(t)
	clock := time.Unix(1_700_000_000, 0)
	w.now = func() time.Time { return clock }
	if _, err := w.Key(""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty wallet default: %v", err)
	}
	// z is oldest; a and b share a creation time.
	for _, name := range []string{"z", "m", "b", "a"} {
		if _, err := w.NewKey(name); err != nil {
			t.Fatal(err)
		}
		if name != "b" {
			clock = clock.Add(time.Second)
		}
	}
	if w.Default() != "z" {
		t.Fatalf("default %q, want the first created", w.Default())
	}
	for _, name := range []string{"", "nope"} {
		if err := w.SetDefault(name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetDefault(%q): %v", name, err)
		}
		if err := w.Remove(name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Remove(%q): %v", name, err)
		}
	}
	if err := w.SetDefault("m"); err != nil || w.Default() != "m" {
		t.Fatalf("SetDefault: %v, default %q", err, w.Default())
	}
	// Removing the default hands it to the oldest key (z), then breaks the
	// a/b tie by name; removing another key leaves it alone.
	for _, step := range []struct{ remove, def string }{
		{"m", "z"}, {"z", "a"}, {"a", "b"}, {"b", ""},
	} {
		if err := w.Remove(step.remove); err != nil {
			t.Fatal(err)
		}
		if w.Default() != step.def {
			t.Fatalf("after removing %s: default %q, want %q", step.remove, w.Default(), step.def)
		}
		if _, err := w.Key(step.remove); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s still there: %v", step.remove, err)
		}
	}
	// A removed key can come back under a new name.
	mustImport(t, w, "again", 3)
	w.Remove("again")
	mustImport(t, w, "again2", 3)
	if got := reopen(t, w); got.Default() != "again2" {
		t.Fatalf("default %q", got.Default())
	}
}

func TestChangePassphrase(t *testing.T) {
	path, w := create(t)
	w.NewKey("a")
	newPass := []byte("new passphrase")
	if err := w.ChangePassphrase(newPass); err != nil {
		t.Fatal(err)
	}
	newPass[0] = 'X' // the wallet keeps its own copy
	if _, err := Open(path, pass); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("old passphrase: %v, want ErrPassphrase", err)
	}
	got := mustOpen(t, path, []byte("new passphrase"))
	sameWallet(t, w, got) // the unsaved key was saved too
	if err := w.Save(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, path, []byte("new passphrase"))
}

func TestEverySaveFreshSaltAndNonce(t *testing.T) {
	_, w := create(t)
	w.NewKey("a")
	files := [][]byte{saved(t, w), saved(t, w), saved(t, w)}
	saltNonce := func(b []byte) string { return string(b[offSaltLen+1 : offSaltLen+1+saltSize+nonceSize]) }
	if saltNonce(files[0]) == saltNonce(files[1]) || saltNonce(files[1]) == saltNonce(files[2]) {
		t.Fatal("salt and nonce repeated")
	}
}

func TestSaveIsAtomic(t *testing.T) {
	path, w := create(t)
	dir := filepath.Dir(path)
	w.NewKey("a")
	good := saved(t, w)
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files after Save: %v", ents)
	}

	// A crash mid-Save leaves a partial temporary file and the old wallet.
	stray := filepath.Join(dir, ".wallet.dat.123.tmp")
	if err := os.WriteFile(stray, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	w.NewKey("b") // unsaved, as if lost in the crash
	got := mustOpen(t, path, pass)
	if !slices.Equal(got.Names(), []string{"a"}) {
		t.Fatalf("names %v", got.Names())
	}

	// A failed Save (here: the folder is gone) leaves the old file alone.
	w2 := mustOpen(t, path, pass)
	w2.path = filepath.Join(dir, "missing", "wallet.dat")
	if err := w2.Save(); err == nil {
		t.Fatal("Save into a missing folder succeeded")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, good) {
		t.Fatal("failed Save changed the file")
	}

	reopen(t, w)
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{".wallet.dat.123.tmp", "wallet.dat"}) {
		t.Fatalf("files after Save: %v", names)
	}
}

func TestClosed(t *testing.T) {
	_, w := create(t)
	w.NewKey("a")
	w.Close()
	if _, err := w.Key("a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Key: %v", err)
	}
	if _, err := w.NewKey("b"); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewKey: %v", err)
	}
	if err := w.Save(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save: %v", err)
	}
	if err := w.ChangePassphrase(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("ChangePassphrase: %v", err)
	}
	if err := w.Remove("a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Remove: %v", err)
	}
}
