package keys

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	alice, _ := GenerateKey()
	mallory, _ := GenerateKey()
	msg := []byte("the tokens of a private job")
	box, err := SealTo(alice.Public(), "reveal", msg, []byte("job"))
	if err != nil {
		t.Fatal(err)
	}
	if len(box) != len(msg)+SealOverhead {
		t.Fatalf("box of %d bytes for %d", len(box), len(msg))
	}
	got, err := alice.Open("reveal", box, []byte("job"))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"other key":    func() ([]byte, error) { return mallory.Open("reveal", box, []byte("job")) },
		"other domain": func() ([]byte, error) { return alice.Open("commit", box, []byte("job")) },
		"other ad":     func() ([]byte, error) { return alice.Open("reveal", box, []byte("job2")) },
		"short":        func() ([]byte, error) { return alice.Open("reveal", box[:SealOverhead-1], nil) },
		"flipped": func() ([]byte, error) {
			b := bytes.Clone(box)
			b[len(b)-1] ^= 1
			return alice.Open("reveal", b, []byte("job"))
		},
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	k, _ := ParsePrivateKey(bytes.Repeat([]byte{7}, 32))
	box, _ := SealTo(k.Public(), "d", []byte("hello"), nil)
	f.Add(box)
	f.Fuzz(func(t *testing.T, b []byte) {
		if msg, err := k.Open("d", b, nil); err == nil && msg == nil {
			t.Fatal("nil message without error")
		}
	})
}
