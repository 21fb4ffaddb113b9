package netq

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestHeader(t *testing.T) {
	h := Header{Version: ProtocolVersion, Type: TypeGossip, Length: 1234, Sender: PeerID{1, 2}, Recipient: PeerID{3}}
	b := EncodeHeader(h)
	got, err := DecodeHeader(b[:])
	if err != nil || got != h {
		t.Fatalf("%+v %v", got, err)
	}
	bad := func(what string, mut func(b *[HeaderSize]byte)) {
		c := b
		mut(&c)
		if _, err := DecodeHeader(c[:]); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v", what, err)
		}
	}
	bad("version", func(b *[HeaderSize]byte) { b[0] = 2 })
	bad("type", func(b *[HeaderSize]byte) { b[1] = 200 })
	bad("flags", func(b *[HeaderSize]byte) { b[2] = 1 })
	bad("over cap", func(b *[HeaderSize]byte) { b[1] = byte(TypePing); b[4] = 9 })
	if _, err := DecodeHeader(b[:HeaderSize-1]); !errors.Is(err, ErrFrame) {
		t.Error("short header accepted")
	}
	for typ, max := range MaxPayload {
		h := EncodeHeader(Header{Version: ProtocolVersion, Type: typ, Length: uint32(max)})
		if _, err := DecodeHeader(h[:]); err != nil {
			t.Errorf("%s at its cap: %v", typ, err)
		}
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	h := Header{Type: TypeGoodbye, Sender: PeerID{9}}
	if err := WriteFrame(&buf, h, (&Goodbye{Reason: "bye"}).Encode()); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, 3*eagerAlloc+5) // grows past the first allocation
	if err := WriteFrame(&buf, Header{Type: TypeResponse}, big); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(&buf, Header{Type: TypePing}, make([]byte, 9)); err == nil {
		t.Fatal("wrote an oversized ping")
	}
	r := iotest{&buf}
	gh, p, err := ReadFrame(r)
	if err != nil || gh.Type != TypeGoodbye || gh.Sender != h.Sender {
		t.Fatalf("%+v %v", gh, err)
	}
	if m, err := DecodeGoodbye(p); err != nil || m.Reason != "bye" {
		t.Fatal(m, err)
	}
	if _, p, err = ReadFrame(r); err != nil || !bytes.Equal(p, big) {
		t.Fatalf("big frame: %d bytes, %v", len(p), err)
	}
	if _, _, err := ReadFrame(r); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// A frame cut short is an error, not a short payload.
	var cut bytes.Buffer
	WriteFrame(&cut, Header{Type: TypeResponse}, big)
	if _, _, err := ReadFrame(bytes.NewReader(cut.Bytes()[:cut.Len()-1])); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut frame: %v", err)
	}
}

// iotest reads in small pieces, as a stream does.
type iotest struct{ r io.Reader }

func (r iotest) Read(p []byte) (int, error) { return r.r.Read(p[:min(len(p), 1500)]) }

func FuzzHeader(f *testing.F) {
	b := EncodeHeader(Header{Version: ProtocolVersion, Type: TypeHello, Length: 10})
	f.Add(b[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatal(err)
			}
			return
		}
		if int(h.Length) > MaxPayload[h.Type] {
			t.Fatalf("accepted %s of %d bytes", h.Type, h.Length)
		}
		if e := EncodeHeader(h); !bytes.Equal(e[:], b) {
			t.Fatal("header does not re-encode")
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	WriteFrame(&buf, Header{Type: TypePeers}, (&Peers{Entries: []PeerInfo{{Addrs: []string{"1.2.3.4:5"}}}}).Encode())
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ReadFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(p) != int(h.Length) || len(p) > MaxPayload[h.Type] || HeaderSize+len(p) > len(b) {
			t.Fatalf("frame of %d bytes from %d", len(p), len(b))
		}
	})
}
