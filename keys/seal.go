package keys

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/chacha20poly1305"
)

// ErrOpen reports a sealed box that does not open with the key.
var ErrOpen = errors.New("keys: sealed box does not open")

// SealOverhead is what SealTo adds to a message: an ephemeral public key,
// a nonce and the AEAD tag.
const SealOverhead = PublicKeySize + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// sealKey derives the box key from an ECDH secret and both public keys.
func sealKey(shared []byte, eph, to []byte, domain string) []byte {
	h := SHA256([]byte("dna-seal-box/"+domain), shared, eph, to)
	return h[:]
}

// SealTo encrypts msg so that only the holder of to's private key can read
// it (ECIES: an ephemeral secp256k1 key, ECDH, SHA-256, XChaCha20-Poly1305).
// The domain separates uses; ad is authenticated but not encrypted.
func SealTo(to *PublicKey, domain string, msg, ad []byte) ([]byte, error) {
	eph, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	ephPub := eph.Public().Bytes()
	shared := secp256k1.GenerateSharedSecret(eph.k, to.k)
	aead, err := chacha20poly1305.NewX(sealKey(shared, ephPub, to.Bytes(), domain))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, SealOverhead+len(msg))
	out = append(out, ephPub...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keys: nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, msg, ad), nil
}

// Open decrypts a box made by SealTo for k's public key.
func (k *PrivateKey) Open(domain string, box, ad []byte) ([]byte, error) {
	if len(box) < SealOverhead {
		return nil, ErrOpen
	}
	eph, err := ParsePublicKey(box[:PublicKeySize])
	if err != nil {
		return nil, ErrOpen
	}
	shared := secp256k1.GenerateSharedSecret(k.k, eph.k)
	aead, err := chacha20poly1305.NewX(sealKey(shared, box[:PublicKeySize], k.Public().Bytes(), domain))
	if err != nil {
		return nil, err
	}
	nonce := box[PublicKeySize : PublicKeySize+chacha20poly1305.NonceSizeX]
	msg, err := aead.Open(nil, nonce, box[PublicKeySize+chacha20poly1305.NonceSizeX:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return msg, nil
}
