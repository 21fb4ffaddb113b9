package wallet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/dnahost/dnahost/keys"
)

// The file format; doc.go describes it.
const (
	magic         = "DNAWALLT"
	formatVersion = 1
	kdfArgon2id   = 1

	saltSize  = 16 // what Save writes; RFC 9106 recommends 128 bits
	nonceSize = chacha20poly1305.NonceSizeX
	tagSize   = chacha20poly1305.Overhead

	// What Open accepts.
	minSalt, maxSalt = 16, 64
	maxTime          = 64
	maxMemoryKiB     = 1 << 20 // 1 GiB
	maxFileSize      = 16 << 20

	maxKeys    = 1<<16 - 1 // the count is a uint16
	maxNameLen = 64
	// The smallest plaintext entry: a 1-byte name.
	minEntrySize = 1 + 1 + 8 + keys.PrivateKeySize
	maxEntrySize = 1 + maxNameLen + 8 + keys.PrivateKeySize
	maxHeader    = len(magic) + 1 + 1 + 4 + 4 + 1 + 1 + maxSalt + nonceSize + 4
	maxPlaintext = 2 + 1 + maxNameLen + maxKeys*maxEntrySize
)

// A full wallet always fits the size cap, so Save never writes a file that
// Open refuses. (This fails to compile if it does not.)
const _ = uint(maxFileSize - (maxHeader + maxPlaintext + tagSize))

// kdfParams are Argon2id's cost parameters.
type kdfParams struct {
	time      uint32
	memoryKiB uint32
	threads   uint8
}

// check refuses parameters outside the bounds Open accepts. It runs before
// Argon2 does, on files and on Options alike.
func (p kdfParams) check() error {
	switch {
	case p.time < 1 || p.time > maxTime:
		return fmt.Errorf("argon2 time %d outside 1..%d", p.time, maxTime)
	case p.threads < 1:
		return errors.New("argon2 threads 0")
	case p.memoryKiB < 8*uint32(p.threads) || p.memoryKiB > maxMemoryKiB:
		// RFC 9106 requires m ≥ 8p.
		return fmt.Errorf("argon2 memory %d KiB outside %d..%d", p.memoryKiB, 8*uint32(p.threads), maxMemoryKiB)
	}
	return nil
}

// deriveKey runs Argon2id. The caller wipes the result.
func deriveKey(passphrase, salt []byte, p kdfParams) []byte {
	return argon2.IDKey(passphrase, salt, p.time, p.memoryKiB, p.threads, chacha20poly1305.KeySize)
}

// header is the parsed clear part of a file.
type header struct {
	kdf          kdfParams
	salt, nonce  []byte
	ciphertextSz int
}

// appendHeader encodes h; the result is the AEAD's associated data.
func appendHeader(b []byte, h header) []byte {
	b = append(b, magic...)
	b = append(b, formatVersion, kdfArgon2id)
	b = binary.LittleEndian.AppendUint32(b, h.kdf.time)
	b = binary.LittleEndian.AppendUint32(b, h.kdf.memoryKiB)
	b = append(b, h.kdf.threads, byte(len(h.salt)))
	b = append(b, h.salt...)
	b = append(b, h.nonce...)
	return binary.LittleEndian.AppendUint32(b, uint32(h.ciphertextSz))
}

// formatErr wraps ErrFormat with a detail.
func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// parseFile splits a file into its header, the header's bytes (associated
// data) and the ciphertext, checking every field. It allocates nothing in
// proportion to what the file claims, and runs no KDF.
func parseFile(data []byte) (h header, ad, ciphertext []byte, err error) {
	if len(data) > maxFileSize {
		return h, nil, nil, formatErr("%d bytes, more than %d", len(data), maxFileSize)
	}
	r := reader{b: data}
	if string(r.next(len(magic))) != magic {
		return h, nil, nil, formatErr("not a wallet file")
	}
	version, kdf := r.u8(), r.u8()
	h.kdf = kdfParams{time: r.u32(), memoryKiB: r.u32(), threads: r.u8()}
	saltLen := int(r.u8())
	switch {
	case r.short:
		return h, nil, nil, formatErr("truncated header")
	case version != formatVersion:
		return h, nil, nil, formatErr("version %d, want %d", version, formatVersion)
	case kdf != kdfArgon2id:
		return h, nil, nil, formatErr("unknown KDF %d", kdf)
	case saltLen < minSalt || saltLen > maxSalt:
		return h, nil, nil, formatErr("salt of %d bytes, want %d..%d", saltLen, minSalt, maxSalt)
	}
	if err := h.kdf.check(); err != nil {
		return h, nil, nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	h.salt = r.next(saltLen)
	h.nonce = r.next(nonceSize)
	h.ciphertextSz = int(r.u32())
	if r.short {
		return h, nil, nil, formatErr("truncated header")
	}
	ad = data[:len(data)-len(r.b)]
	if h.ciphertextSz < tagSize || h.ciphertextSz != len(r.b) {
		return h, nil, nil, formatErr("ciphertext of %d bytes, file holds %d", h.ciphertextSz, len(r.b))
	}
	return h, ad, r.b, nil
}

// seal encrypts a plaintext into a whole file under a fresh salt and nonce
// drawn from rand.
func seal(passphrase []byte, p kdfParams, rand io.Reader, plaintext []byte) ([]byte, error) {
	h := header{
		kdf:          p,
		salt:         make([]byte, saltSize),
		nonce:        make([]byte, nonceSize),
		ciphertextSz: len(plaintext) + tagSize,
	}
	if _, err := io.ReadFull(rand, h.salt); err != nil {
		return nil, fmt.Errorf("wallet: salt: %w", err)
	}
	if _, err := io.ReadFull(rand, h.nonce); err != nil {
		return nil, fmt.Errorf("wallet: nonce: %w", err)
	}
	ad := appendHeader(nil, h)
	key := deriveKey(passphrase, h.salt, p)
	aead, err := chacha20poly1305.NewX(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	// Seal forbids dst overlapping the associated data, hence the copy.
	out := make([]byte, len(ad), len(ad)+h.ciphertextSz)
	copy(out, ad)
	return aead.Seal(out, h.nonce, plaintext, ad), nil
}

// decode authenticates and decrypts a file and parses its contents.
func decode(data, passphrase []byte) (kdfParams, contents, error) {
	h, ad, ciphertext, err := parseFile(data)
	if err != nil {
		return kdfParams{}, contents{}, err
	}
	key := deriveKey(passphrase, h.salt, h.kdf)
	aead, err := chacha20poly1305.NewX(key)
	clear(key)
	if err != nil {
		return kdfParams{}, contents{}, fmt.Errorf("wallet: %w", err)
	}
	// Into a new buffer: decrypting in place would alter the caller's data.
	plaintext, err := aead.Open(nil, h.nonce, ciphertext, ad)
	if err != nil {
		return kdfParams{}, contents{}, ErrPassphrase
	}
	defer clear(plaintext)
	c, err := parsePlaintext(plaintext)
	return h.kdf, c, err
}

// contents is what a wallet holds.
type contents struct {
	keys map[string]entry
	def  string
}

type entry struct {
	created time.Time
	key     *keys.PrivateKey
	addr    keys.Address
}

func newEntry(k *keys.PrivateKey, created time.Time) entry {
	return entry{created: created, key: k, addr: k.Public().Address()}
}

// encodePlaintext writes c canonically into a buffer of exactly the right
// size, so no growing leaves stray copies of keys behind. The caller wipes it.
func encodePlaintext(c contents) []byte {
	names := make([]string, 0, len(c.keys))
	size := 2 + 1 + len(c.def)
	for name := range c.keys {
		names = append(names, name)
		size += 1 + len(name) + 8 + keys.PrivateKeySize
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(names)))
	b = append(b, byte(len(c.def)))
	b = append(b, c.def...)
	for _, name := range names {
		e := c.keys[name]
		b = append(b, byte(len(name)))
		b = append(b, name...)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.created.Unix()))
		k := e.key.Bytes()
		b = append(b, k...)
		clear(k)
	}
	return b
}

// parsePlaintext is the inverse of encodePlaintext and accepts nothing it
// would not write.
func parsePlaintext(b []byte) (contents, error) {
	r := reader{b: b}
	n := int(r.u16())
	def := string(r.next(int(r.u8())))
	if r.short {
		return contents{}, formatErr("truncated contents")
	}
	// Before allocating for n entries, make sure the bytes for them are there.
	if n > len(r.b)/minEntrySize {
		return contents{}, formatErr("%d keys in %d bytes", n, len(r.b))
	}
	c := contents{keys: make(map[string]entry, n), def: def}
	addrs := make(map[keys.Address]bool, n)
	prev := ""
	for i := range n {
		name := string(r.next(int(r.u8())))
		created := int64(r.u64())
		raw := r.next(keys.PrivateKeySize)
		if r.short {
			return contents{}, formatErr("truncated key %d", i)
		}
		if err := checkName(name); err != nil {
			return contents{}, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if i > 0 && name <= prev {
			return contents{}, formatErr("key %q out of order or repeated", name)
		}
		prev = name
		k, err := keys.ParsePrivateKey(raw)
		if err != nil {
			return contents{}, fmt.Errorf("%w: key %q: %v", ErrFormat, name, err)
		}
		e := newEntry(k, time.Unix(created, 0).UTC())
		if addrs[e.addr] {
			return contents{}, formatErr("key %q stored twice", name)
		}
		addrs[e.addr] = true
		c.keys[name] = e
	}
	if len(r.b) != 0 {
		return contents{}, formatErr("%d bytes after the keys", len(r.b))
	}
	if _, ok := c.keys[def]; !ok && (n > 0 || def != "") {
		return contents{}, formatErr("default key %q not in the wallet", def)
	}
	return c, nil
}

// checkName enforces the name rules: 1..64 characters of [A-Za-z0-9._-].
func checkName(name string) error {
	if len(name) < 1 || len(name) > maxNameLen {
		return fmt.Errorf("%w: %d characters, want 1..%d", ErrName, len(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: %q has %q", ErrName, name, c)
		}
	}
	return nil
}

// reader reads fixed-size fields. Reading past the end sets short and
// yields zeros, so a parser checks short once after a group of reads.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) next(n int) []byte {
	if r.short || n > len(r.b) {
		r.short = true
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() uint8 {
	if p := r.next(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.next(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.next(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.next(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}
