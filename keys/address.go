package keys

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // §2.2.2 addresses are RIPEMD-160 by definition
)

// AddressSize is the size of an address's hash.
const AddressSize = 20

// Address is an account: RIPEMD-160(SHA-256(compressed public key)), as a
// Bitcoin P2PKH address hashes its key (CamelidCoin §2.2.2).
type Address [AddressSize]byte

// ErrAddress reports a string that is not a valid address.
var ErrAddress = errors.New("keys: invalid address")

// Hash160 is RIPEMD-160(SHA-256(b)).
func Hash160(b []byte) [20]byte {
	s := sha256.Sum256(b)
	h := ripemd160.New()
	h.Write(s[:])
	var out [20]byte
	copy(out[:], h.Sum(nil))
	return out
}

// AddressOf is the address of a public key.
func AddressOf(pub *PublicKey) Address { return Address(Hash160(pub.Bytes())) }

// Address is the key's address.
func (p *PublicKey) Address() Address { return AddressOf(p) }

// IsZero reports the zero address (used for "nobody", e.g. burned coins).
func (a Address) IsZero() bool { return a == Address{} }

// Encode is Base58Check(version ‖ hash ‖ checksum): with version 0x00
// exactly a Bitcoin P2PKH address.
func (a Address) Encode(version byte) string {
	return Base58CheckEncode(version, a[:])
}

// ParseAddress decodes a Base58Check address with the given version.
func ParseAddress(s string, version byte) (Address, error) {
	v, payload, err := Base58CheckDecode(s)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	if v != version {
		return Address{}, fmt.Errorf("%w: version %#02x, want %#02x (another network's address?)", ErrAddress, v, version)
	}
	if len(payload) != AddressSize {
		return Address{}, fmt.Errorf("%w: %d-byte hash", ErrAddress, len(payload))
	}
	return Address(payload), nil
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range base58Alphabet {
		t[c] = int8(i)
	}
	return t
}()

// maxBase58 bounds what Base58Decode accepts (addresses are 25-34 chars).
const maxBase58 = 128

// Base58Encode encodes bytes in Bitcoin's Base58 (leading zero bytes
// become leading '1's).
func Base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	var out []byte
	radix, mod := big.NewInt(58), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	out = append(out, bytes.Repeat([]byte{'1'}, zeros)...)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// Base58Decode decodes Bitcoin Base58.
func Base58Decode(s string) ([]byte, error) {
	if len(s) > maxBase58 {
		return nil, fmt.Errorf("base58 string of %d characters", len(s))
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("invalid base58 character %q", s[i])
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(v)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

// Base58CheckEncode is Base58(version ‖ payload ‖ first 4 bytes of
// SHA-256d(version ‖ payload)).
func Base58CheckEncode(version byte, payload []byte) string {
	b := append([]byte{version}, payload...)
	sum := DoubleSHA256(b)
	return Base58Encode(append(b, sum[:4]...))
}

// Base58CheckDecode checks and strips the checksum and version.
func Base58CheckDecode(s string) (version byte, payload []byte, err error) {
	b, err := Base58Decode(s)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 5 {
		return 0, nil, fmt.Errorf("base58check of %d bytes", len(b))
	}
	body, sum := b[:len(b)-4], b[len(b)-4:]
	if want := DoubleSHA256(body); !bytes.Equal(sum, want[:4]) {
		return 0, nil, errors.New("base58check checksum mismatch")
	}
	return body[0], body[1:], nil
}
