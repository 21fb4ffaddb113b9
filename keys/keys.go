package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Sizes of the serialized forms.
const (
	PrivateKeySize = 32
	PublicKeySize  = 33 // compressed SEC1 point
	SignatureSize  = 64 // r ‖ s, big-endian, s in the lower half of the order
	HashSize       = sha256.Size
)

var (
	// ErrBadPublicKey reports bytes that are not a compressed secp256k1 point.
	ErrBadPublicKey = errors.New("keys: invalid public key")
	// ErrBadPrivateKey reports bytes that are not a valid secp256k1 scalar.
	ErrBadPrivateKey = errors.New("keys: invalid private key")
	// ErrBadSignature reports a signature that is malformed or does not verify.
	ErrBadSignature = errors.New("keys: invalid signature")
)

// Hash is a SHA-256 digest.
type Hash [HashSize]byte

// String returns the digest in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText writes the hash in hex, so JSON carries it as a string.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads hex; the empty string is the zero hash.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*h = Hash{}
		return nil
	}
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash decodes a 64-character hex digest.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("keys: hash must be %d hex characters, got %d", 2*HashSize, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("keys: hash: %w", err)
	}
	return h, nil
}

// SHA256 returns the SHA-256 digest of the concatenation of parts.
func SHA256(parts ...[]byte) Hash {
	d := sha256.New()
	for _, p := range parts {
		d.Write(p)
	}
	var h Hash
	d.Sum(h[:0])
	return h
}

// DoubleSHA256 returns SHA-256(SHA-256(b)), the hash Bitcoin-style block
// headers and transactions use.
func DoubleSHA256(b []byte) Hash {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// DomainHash hashes msg under a domain tag, so a signature made for one purpose
// (a bundle, a block, a commitment) can never be replayed as another.
func DomainHash(domain string, msg []byte) Hash {
	return SHA256([]byte("dnahost:"), []byte(domain), []byte{0}, msg)
}

// PrivateKey is a secp256k1 signing key.
type PrivateKey struct{ k *secp256k1.PrivateKey }

// PublicKey is a secp256k1 verification key.
type PublicKey struct{ k *secp256k1.PublicKey }

// GenerateKey makes a new key from the system's secure random source.
func GenerateKey() (*PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKeyFromRand(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate: %w", err)
	}
	return &PrivateKey{k}, nil
}

// ParsePrivateKey decodes a 32-byte big-endian scalar in [1, n-1].
func ParsePrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadPrivateKey, len(b), PrivateKeySize)
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(b); overflow || s.IsZero() {
		return nil, ErrBadPrivateKey
	}
	return &PrivateKey{secp256k1.NewPrivateKey(&s)}, nil
}

// Bytes returns the 32-byte scalar.
func (k *PrivateKey) Bytes() []byte { return k.k.Serialize() }

// Public returns the matching public key.
func (k *PrivateKey) Public() *PublicKey { return &PublicKey{k.k.PubKey()} }

// Sign signs a 32-byte digest. The signature is deterministic (RFC 6979) and
// canonical (low S), so the same key and digest always give the same bytes.
func (k *PrivateKey) Sign(digest Hash) []byte {
	sig := ecdsa.Sign(k.k, digest[:])
	r, s := sig.R(), sig.S()
	out := make([]byte, SignatureSize)
	r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out
}

// SignDomain signs DomainHash(domain, msg).
func (k *PrivateKey) SignDomain(domain string, msg []byte) []byte {
	return k.Sign(DomainHash(domain, msg))
}

// ParsePublicKey decodes a 33-byte compressed point.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadPublicKey, len(b), PublicKeySize)
	}
	k, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	return &PublicKey{k}, nil
}

// ParsePublicKeyHex decodes a compressed point written in hex.
func ParsePublicKeyHex(s string) (*PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	return ParsePublicKey(b)
}

// Bytes returns the 33-byte compressed point.
func (p *PublicKey) Bytes() []byte { return p.k.SerializeCompressed() }

// Hex returns the compressed point in hex.
func (p *PublicKey) Hex() string { return hex.EncodeToString(p.Bytes()) }

// Equal reports whether p and q are the same point.
func (p *PublicKey) Equal(q *PublicKey) bool { return q != nil && p.k.IsEqual(q.k) }

// Verify checks a 64-byte signature over digest. High-S signatures are
// rejected so that every message has exactly one valid signature encoding.
func (p *PublicKey) Verify(digest Hash, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadSignature, len(sig), SignatureSize)
	}
	var r, s secp256k1.ModNScalar
	if overflow := r.SetByteSlice(sig[:32]); overflow || r.IsZero() {
		return ErrBadSignature
	}
	if overflow := s.SetByteSlice(sig[32:]); overflow || s.IsZero() || s.IsOverHalfOrder() {
		return ErrBadSignature
	}
	if !ecdsa.NewSignature(&r, &s).Verify(digest[:], p.k) {
		return ErrBadSignature
	}
	return nil
}

// VerifyDomain checks a signature made by SignDomain.
func (p *PublicKey) VerifyDomain(domain string, msg, sig []byte) error {
	return p.Verify(DomainHash(domain, msg), sig)
}

// WriteKeyFile stores k as hex in a new file readable only by its owner.
// It refuses to overwrite an existing file, so a key is never lost by accident.
func WriteKeyFile(path string, k *PrivateKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k.Bytes()) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	return f.Close()
}

// ReadKeyFile loads a key written by WriteKeyFile.
func ReadKeyFile(path string) (*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if len(b) > 4096 {
		return nil, fmt.Errorf("keys: %s: not a key file (%d bytes)", path, len(b))
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", path, err)
	}
	return ParsePrivateKey(raw)
}
