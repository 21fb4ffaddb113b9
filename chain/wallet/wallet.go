package wallet

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/dnahost/dnahost/keys"
)

var (
	// ErrExists reports that Create found a file already at the path.
	ErrExists = errors.New("wallet: file already exists")
	// ErrPassphrase reports a wrong passphrase or a tampered file: the two
	// are the same authentication failure and cannot be told apart.
	ErrPassphrase = errors.New("wallet: wrong passphrase or damaged file")
	// ErrFormat reports a file that is not a well-formed wallet.
	ErrFormat = errors.New("wallet: malformed file")
	// ErrOptions reports Options outside the bounds Open accepts.
	ErrOptions = errors.New("wallet: options out of bounds")
	// ErrName reports a key name that breaks the naming rules.
	ErrName = errors.New("wallet: invalid key name")
	// ErrDuplicate reports a name or key that is already in the wallet.
	ErrDuplicate = errors.New("wallet: already in wallet")
	// ErrNotFound reports a name with no key.
	ErrNotFound = errors.New("wallet: no such key")
	// ErrClosed reports use of a closed wallet.
	ErrClosed = errors.New("wallet: closed")
)

// Options sets the Argon2id cost of a new wallet. A zero field means the
// default: Time 3, MemoryKiB 65536 (64 MiB), Threads 4 (RFC 9106's second
// recommended option). Values outside the bounds Open accepts (Time 1..64,
// MemoryKiB 8×Threads..1 GiB) are refused with ErrOptions.
type Options struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// params applies the defaults and checks the bounds.
func (o Options) params() (kdfParams, error) {
	p := kdfParams{time: o.Time, memoryKiB: o.MemoryKiB, threads: o.Threads}
	if p.time == 0 {
		p.time = 3
	}
	if p.memoryKiB == 0 {
		p.memoryKiB = 64 << 10
	}
	if p.threads == 0 {
		p.threads = 4
	}
	if err := p.check(); err != nil {
		return p, fmt.Errorf("%w: %v", ErrOptions, err)
	}
	return p, nil
}

// KeyInfo describes a stored key without exposing it.
type KeyInfo struct {
	Name    string
	Created time.Time // UTC, whole seconds
	Address keys.Address
}

// Wallet is an open wallet file. Its methods are safe for concurrent use.
// Changes are kept in memory until Save (or ChangePassphrase).
type Wallet struct {
	mu   sync.Mutex
	path string
	pass []byte // our copy, wiped by Close
	kdf  kdfParams
	c    contents
	addr map[keys.Address]string // which name holds each key

	closed bool
	rand   io.Reader        // salts and nonces; tests inject a fixed one
	now    func() time.Time // creation times; tests inject a fixed one
}

func newWallet(path string, passphrase []byte, p kdfParams, c contents) *Wallet {
	w := &Wallet{
		path: path,
		pass: bytes.Clone(passphrase),
		kdf:  p,
		c:    c,
		addr: make(map[keys.Address]string, len(c.keys)),
		rand: rand.Reader,
		now:  time.Now,
	}
	for name, e := range c.keys {
		w.addr[e.addr] = name
	}
	return w
}

// Create makes a new, empty wallet file at path, readable only by its owner,
// encrypted under passphrase. It fails with ErrExists if path exists.
func Create(path string, passphrase []byte, opts Options) (*Wallet, error) {
	p, err := opts.params()
	if err != nil {
		return nil, err
	}
	// Claim the name first: Save's rename would silently replace a file.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	f.Close()
	w := newWallet(path, passphrase, p, contents{keys: map[string]entry{}})
	if err := w.Save(); err != nil {
		os.Remove(path) // ours, and holds nothing yet
		w.Close()
		return nil, err
	}
	return w, nil
}

// Open reads and decrypts the wallet at path. A wrong passphrase or a
// tampered file gives ErrPassphrase; a malformed one ErrFormat.
func Open(path string, passphrase []byte) (*Wallet, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	p, c, err := decode(data, passphrase)
	if err != nil {
		return nil, err
	}
	return newWallet(path, passphrase, p, c), nil
}

// NewKey generates a key, stores it under name and returns it.
func (w *Wallet) NewKey(name string) (*keys.PrivateKey, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.canAdd(name); err != nil {
		return nil, err
	}
	k, err := keys.GenerateKey()
	if err != nil {
		return nil, err
	}
	return k, w.add(name, k)
}

// Import stores an existing key under name. A key already in the wallet
// under another name is refused with ErrDuplicate.
func (w *Wallet) Import(name string, k *keys.PrivateKey) error {
	if k == nil {
		return errors.New("wallet: nil key")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.canAdd(name); err != nil {
		return err
	}
	return w.add(name, k)
}

func (w *Wallet) canAdd(name string) error {
	switch {
	case w.closed:
		return ErrClosed
	case len(w.c.keys) >= maxKeys:
		return fmt.Errorf("wallet: full (%d keys)", maxKeys)
	}
	if err := checkName(name); err != nil {
		return err
	}
	if _, ok := w.c.keys[name]; ok {
		return fmt.Errorf("%w: name %q", ErrDuplicate, name)
	}
	return nil
}

// add stores a key under a name canAdd has accepted.
func (w *Wallet) add(name string, k *keys.PrivateKey) error {
	e := newEntry(k, time.Unix(w.now().Unix(), 0).UTC())
	if other, ok := w.addr[e.addr]; ok {
		return fmt.Errorf("%w: key is stored as %q", ErrDuplicate, other)
	}
	w.c.keys[name] = e
	w.addr[e.addr] = name
	if w.c.def == "" {
		w.c.def = name
	}
	return nil
}

// Key returns the key stored under name; "" means the default.
func (w *Wallet) Key(name string) (*keys.PrivateKey, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, err := w.entry(name)
	return e.key, err
}

// Info describes the key stored under name; "" means the default.
func (w *Wallet) Info(name string) (KeyInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, err := w.entry(name)
	if err != nil {
		return KeyInfo{}, err
	}
	if name == "" {
		name = w.c.def
	}
	return KeyInfo{Name: name, Created: e.created, Address: e.addr}, nil
}

func (w *Wallet) entry(name string) (entry, error) {
	if w.closed {
		return entry{}, ErrClosed
	}
	if name == "" {
		name = w.c.def
	}
	e, ok := w.c.keys[name]
	if !ok {
		return entry{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return e, nil
}

// Default returns the default key's name, or "" for an empty wallet.
func (w *Wallet) Default() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.def
}

// SetDefault makes the key stored under name the default.
func (w *Wallet) SetDefault(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if name == "" {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if _, err := w.entry(name); err != nil {
		return err
	}
	w.c.def = name
	return nil
}

// Names returns the names of all keys, sorted.
func (w *Wallet) Names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.c.keys))
	for name := range w.c.keys {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Remove deletes the key stored under name. If it was the default, the
// oldest remaining key (by creation time, then name) becomes the default.
func (w *Wallet) Remove(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if name == "" {
		return fmt.Errorf("%w: %q", ErrNotFound, name) // too easy to remove the default by mistake
	}
	e, err := w.entry(name)
	if err != nil {
		return err
	}
	delete(w.c.keys, name)
	delete(w.addr, e.addr)
	if w.c.def == name {
		w.c.def = ""
		var oldest entry
		for n, e := range w.c.keys {
			if w.c.def == "" || cmp.Or(e.created.Compare(oldest.created), cmp.Compare(n, w.c.def)) < 0 {
				w.c.def, oldest = n, e
			}
		}
	}
	return nil
}

// Save writes the wallet to its file atomically, under a fresh salt and
// nonce.
func (w *Wallet) Save() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.save()
}

func (w *Wallet) save() error {
	if w.closed {
		return ErrClosed
	}
	plaintext := encodePlaintext(w.c)
	data, err := seal(w.pass, w.kdf, w.rand, plaintext)
	clear(plaintext)
	if err != nil {
		return err
	}
	return writeAtomic(w.path, data)
}

// ChangePassphrase re-encrypts the wallet under a new passphrase and saves
// it at once (with any other unsaved changes), so the old passphrase stops
// working. On error the old passphrase stays in force.
func (w *Wallet) ChangePassphrase(passphrase []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	old := w.pass
	w.pass = bytes.Clone(passphrase)
	if err := w.save(); err != nil {
		clear(w.pass)
		w.pass = old
		return err
	}
	clear(old)
	return nil
}

// Close wipes the wallet's copy of the passphrase and forgets its keys;
// unsaved changes are lost. Later calls return ErrClosed.
func (w *Wallet) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.pass)
	w.pass = nil
	w.c = contents{}
	w.addr = nil
	w.closed = true
	return nil
}
