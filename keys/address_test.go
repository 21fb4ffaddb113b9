package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bitcoin's P2PKH addresses are version 0x00 Base58Check over Hash160 of
// the compressed key; ours must be byte for byte the same (§2.2.2).
func TestP2PKHVectors(t *testing.T) {
	t.Run("private key 1", func(t *testing.T) {
		one := make([]byte, PrivateKeySize)
		one[31] = 1
		k, err := ParsePrivateKey(one)
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public()
		if got, want := pub.Hex(), "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"; got != want {
			t.Fatalf("public key %s, want the generator %s", got, want)
		}
		a := pub.Address()
		if got, want := hex.EncodeToString(a[:]), "751e76e8199196d454941c45d1b3a323f1433bd6"; got != want {
			t.Fatalf("hash160 %s, want %s", got, want)
		}
		if got, want := a.Encode(0x00), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"; got != want {
			t.Fatalf("address %s, want %s", got, want)
		}
	})
	t.Run("public key 0250863a", func(t *testing.T) {
		pub, err := ParsePublicKeyHex("0250863ad64a87ae8a2fe83c1af1a8403cb53f53e486d8511dad8a04887e5b2352")
		if err != nil {
			t.Fatal(err)
		}
		h := Hash160(pub.Bytes())
		if got, want := hex.EncodeToString(h[:]), "f54a5851e9372b87810a8e60cdd2e7cfd80b6e31"; got != want {
			t.Fatalf("hash160 %s, want %s", got, want)
		}
		if got := AddressOf(pub); got != Address(h) {
			t.Fatalf("AddressOf %x, want the hash160 %x", got, h)
		}
		const want = "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs"
		if got := Address(h).Encode(0x00); got != want {
			t.Fatalf("address %s, want %s", got, want)
		}
		back, err := ParseAddress(want, 0x00)
		if err != nil || back != Address(h) {
			t.Fatalf("ParseAddress(%s) = %x, %v", want, back, err)
		}
	})
}

// Vectors from Bitcoin Core's base58_encode_decode.json, plus an ASCII one.
var base58Vectors = []struct{ hex, enc string }{
	{"", ""},
	{"00", "1"},
	{"0000", "11"},
	{hex.EncodeToString([]byte("hello world")), "StV1DL6CwTryKyV"},
	{"61", "2g"},
	{"626262", "a3gV"},
	{"636363", "aPEr"},
	{"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
	{"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
	{"516b6fcd0f", "ABnLTmg"},
	{"bf4f89001e670274dd", "3SEo3LWLoPntC"},
	{"572e4794", "3EFU7m"},
	{"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
	{"10c8511e", "Rt5zm"},
	{"00000000000000000000", "1111111111"},
	{"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
		"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
}

func TestBase58Vectors(t *testing.T) {
	for _, v := range base58Vectors {
		raw := hexBytes(t, v.hex)
		if got := Base58Encode(raw); got != v.enc {
			t.Errorf("Base58Encode(%s) = %q, want %q", v.hex, got, v.enc)
		}
		got, err := Base58Decode(v.enc)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("Base58Decode(%q) = %x, %v; want %s", v.enc, got, err, v.hex)
		}
	}
}

func TestBase58DecodeRefuses(t *testing.T) {
	for _, s := range []string{"0", "O", "I", "l", "1 2", "abc!", "é", strings.Repeat("2", maxBase58+1)} {
		if b, err := Base58Decode(s); err == nil {
			t.Errorf("Base58Decode(%q) = %x, want an error", s, b)
		}
	}
	// The cap is inclusive: an input of exactly maxBase58 characters decodes.
	if _, err := Base58Decode(strings.Repeat("z", maxBase58)); err != nil {
		t.Errorf("%d characters: %v", maxBase58, err)
	}
}

func TestBase58Check(t *testing.T) {
	a := Address(Hash160([]byte("some key")))
	for _, version := range []byte{0x00, 0x6f, 0xff} {
		s := a.Encode(version)
		v, payload, err := Base58CheckDecode(s)
		if err != nil || v != version || !bytes.Equal(payload, a[:]) {
			t.Fatalf("version %#x: decoded %#x %x %v", version, v, payload, err)
		}
	}
	// Testnet addresses (version 0x6f) start with m or n, as in Bitcoin.
	if s := a.Encode(0x6f); s[0] != 'm' && s[0] != 'n' {
		t.Errorf("testnet address %s", s)
	}

	good := a.Encode(0x00)
	// Changing one character breaks the checksum (or the alphabet).
	for i := range good {
		for _, c := range []byte{'2', 'z'} {
			if good[i] == c {
				continue
			}
			bad := good[:i] + string(c) + good[i+1:]
			if _, err := ParseAddress(bad, 0x00); !errors.Is(err, ErrAddress) {
				t.Errorf("ParseAddress(%s) with character %d changed: %v", bad, i, err)
			}
		}
	}

	tooLong := Base58CheckEncode(0x00, bytes.Repeat([]byte{0xff}, 100))
	for name, s := range map[string]string{
		"empty":          "",
		"bad character":  "0" + good[1:],
		"too short":      Base58Encode([]byte{0, 1, 2, 3}), // under version + checksum
		"bad checksum":   Base58Encode(append(append([]byte{0x00}, a[:]...), 1, 2, 3, 4)),
		"too long input": tooLong,
	} {
		if _, _, err := Base58CheckDecode(s); err == nil {
			t.Errorf("%s: Base58CheckDecode(%q) succeeded", name, s)
		}
		if _, err := ParseAddress(s, 0x00); !errors.Is(err, ErrAddress) {
			t.Errorf("%s: ParseAddress: %v, want ErrAddress", name, err)
		}
	}
	if len(tooLong) <= maxBase58 {
		t.Fatalf("the too-long vector has %d characters", len(tooLong))
	}
}

func TestParseAddressRefuses(t *testing.T) {
	a := Address(Hash160([]byte("some key")))
	// Another network's address.
	if _, err := ParseAddress(a.Encode(0x6f), 0x00); !errors.Is(err, ErrAddress) {
		t.Errorf("testnet address on mainnet: %v", err)
	}
	// A valid Base58Check string whose payload is not 20 bytes.
	for _, n := range []int{0, 19, 21, 32} {
		s := Base58CheckEncode(0x00, make([]byte, n))
		if _, err := ParseAddress(s, 0x00); !errors.Is(err, ErrAddress) {
			t.Errorf("%d-byte payload: %v", n, err)
		}
	}
	if got, err := ParseAddress(a.Encode(0x00), 0x00); err != nil || got != a {
		t.Errorf("round trip: %x %v", got, err)
	}
}

// Base58 is canonical both ways: decode(encode(b)) is b, and
// encode(decode(s)) is s for every s that decodes (leading '1's are exactly
// the leading zero bytes). Decoding never panics.
func FuzzBase58(f *testing.F) {
	for _, v := range base58Vectors {
		f.Add(hexBytes(f, v.hex), v.enc)
	}
	f.Add([]byte{0, 0, 0xff}, "0OIl")
	f.Fuzz(func(t *testing.T, raw []byte, s string) {
		enc := Base58Encode(raw)
		dec, err := Base58Decode(enc)
		switch {
		case len(enc) > maxBase58:
			if err == nil {
				t.Fatalf("%d characters decoded", len(enc))
			}
		case err != nil || !bytes.Equal(dec, raw):
			t.Fatalf("Base58Decode(Base58Encode(%x)) = %x, %v", raw, dec, err)
		}
		if b, err := Base58Decode(s); err == nil {
			if back := Base58Encode(b); back != s {
				t.Fatalf("Base58Encode(Base58Decode(%q)) = %q", s, back)
			}
		}
	})
}

// Whatever parses as an address is the canonical encoding of that address.
func FuzzParseAddress(f *testing.F) {
	a := Address(Hash160([]byte("some key")))
	f.Add(a.Encode(0x00), byte(0x00))
	f.Add(a.Encode(0x6f), byte(0x6f))
	f.Add(a.Encode(0x6f), byte(0x00))
	f.Add("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", byte(0x00))
	f.Add("", byte(0))
	f.Fuzz(func(t *testing.T, s string, version byte) {
		got, err := ParseAddress(s, version)
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("ParseAddress(%q): %v is not ErrAddress", s, err)
			}
			return
		}
		if back := got.Encode(version); back != s {
			t.Fatalf("ParseAddress(%q) = %x, which encodes as %q", s, got, back)
		}
	})
}
