package wallet

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

var fuzzPass = []byte("fuzz")

// fuzzSeeds are valid files under fuzzPass: empty, one key, the KAT's keys.
func fuzzSeeds(f *testing.F) [][]byte {
	var out [][]byte
	p := kdfParams{time: 1, memoryKiB: 8, threads: 1}
	for n := range 3 {
		c := contents{keys: map[string]entry{}}
		for i, name := range []string{"a", "second-key"}[:n] {
			c.keys[name] = newEntry(fixedKey(f, byte(i)), time.Unix(int64(i), 0))
			c.def = "a"
		}
		data, err := seal(fuzzPass, p, &counter{}, encodePlaintext(c))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// FuzzDecode feeds arbitrary files to the decoder. It must never panic,
// must refuse with ErrFormat or ErrPassphrase, and anything it accepts must
// be a well-formed wallet. Headers whose KDF costs more than a few
// kilobytes are only parsed: bounds are TestKDFBoundsCheckedBeforeKDF's job,
// and running Argon2 at 1 GiB per input would stall the fuzzer.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	if kat, err := os.ReadFile(katFile); err == nil {
		f.Add(kat)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, _, _, err := parseFile(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("parseFile: %v", err)
			}
			return
		}
		if h.kdf.memoryKiB > 64 || h.kdf.time > 2 {
			return
		}
		_, c, err := decode(data, fuzzPass)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrPassphrase) {
				t.Fatalf("decode: %v", err)
			}
			return
		}
		if _, err := parsePlaintext(encodePlaintext(c)); err != nil {
			t.Fatalf("accepted a wallet that does not re-encode: %v", err)
		}
	})
}

// FuzzPlaintext feeds arbitrary plaintexts to the contents parser, which
// the AEAD otherwise shields from the fuzzer. The encoding is canonical, so
// whatever it accepts must re-encode to the same bytes.
func FuzzPlaintext(f *testing.F) {
	k1, k2 := fixedKey(f, 0).Bytes(), fixedKey(f, 1).Bytes()
	f.Add(rawPlaintext(0, ""))
	f.Add(rawPlaintext(1, "a", rawEntry{"a", 1, k1}))
	f.Add(rawPlaintext(2, "b.-_", rawEntry{"a", -1, k1}, rawEntry{"b.-_", 1 << 40, k2}))
	f.Add(rawPlaintext(2, "a", rawEntry{"a", 1, k1}, rawEntry{"a", 1, k2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parsePlaintext(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("parsePlaintext: %v", err)
			}
			return
		}
		if got := encodePlaintext(c); !bytes.Equal(got, data) {
			t.Fatalf("not canonical:\n in  %x\n out %x", data, got)
		}
	})
}
