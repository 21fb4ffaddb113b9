package netq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ProtocolVersion is the frame version this package speaks.
const ProtocolVersion = 1

// HeaderSize is the fixed size of a frame header:
//
//	u8 version ‖ u8 type ‖ u16 flags (0) ‖ u32 payload length ‖ sender[32] ‖ recipient[32]
//
// Sender is the peer that wrote the frame; recipient is the peer it is for,
// or zero for "whoever reads this stream". Integers are little-endian.
const HeaderSize = 72

// Type is a message type.
type Type uint8

const (
	TypeHello    Type = 1
	TypePeers    Type = 2
	TypeGetPeers Type = 3
	TypePing     Type = 4
	TypePong     Type = 5
	TypeGossip   Type = 6
	TypeIHave    Type = 7
	TypeIWant    Type = 8
	TypeGraft    Type = 9
	TypePrune    Type = 10
	TypeRequest  Type = 11
	TypeResponse Type = 12
	TypeGoodbye  Type = 13
)

var typeNames = map[Type]string{
	TypeHello: "hello", TypePeers: "peers", TypeGetPeers: "get_peers", TypePing: "ping", TypePong: "pong",
	TypeGossip: "gossip", TypeIHave: "ihave", TypeIWant: "iwant", TypeGraft: "graft", TypePrune: "prune",
	TypeRequest: "request", TypeResponse: "response", TypeGoodbye: "goodbye",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// MaxPayload is the hard cap of each type's payload, checked against the
// header before anything is allocated.
var MaxPayload = map[Type]int{
	TypeHello:    4 << 10,
	TypePeers:    64 << 10,
	TypeGetPeers: 0,
	TypePing:     8,
	TypePong:     8,
	TypeGossip:   MaxGossipPayload + 64,
	TypeIHave:    1 + 2 + 32*MaxIHaveIDs,
	TypeIWant:    2 + 32*MaxIHaveIDs,
	TypeGraft:    1,
	TypePrune:    3,
	TypeRequest:  MaxRequestPayload + 16,
	TypeResponse: MaxResponsePayload + 16,
	TypeGoodbye:  256,
}

// Header is a frame header.
type Header struct {
	Version   uint8
	Type      Type
	Length    uint32
	Sender    PeerID
	Recipient PeerID
}

var (
	// ErrFrame reports a frame that breaks the protocol: wrong version,
	// unknown type, a payload over its cap, or a payload that does not
	// decode. A peer that sends one is disconnected and banned.
	ErrFrame = errors.New("netq: protocol violation")
)

func frameErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFrame, fmt.Sprintf(format, args...))
}

// EncodeHeader writes h.
func EncodeHeader(h Header) [HeaderSize]byte {
	var b [HeaderSize]byte
	b[0], b[1] = h.Version, byte(h.Type)
	binary.LittleEndian.PutUint32(b[4:], h.Length)
	copy(b[8:], h.Sender[:])
	copy(b[40:], h.Recipient[:])
	return b
}

// DecodeHeader parses and checks a header.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) != HeaderSize {
		return h, frameErr("header of %d bytes", len(b))
	}
	h.Version, h.Type = b[0], Type(b[1])
	if h.Version != ProtocolVersion {
		return h, frameErr("version %d", h.Version)
	}
	if b[2] != 0 || b[3] != 0 {
		return h, frameErr("flags %#x", binary.LittleEndian.Uint16(b[2:]))
	}
	max, ok := MaxPayload[h.Type]
	if !ok {
		return h, frameErr("unknown message type %d", b[1])
	}
	h.Length = binary.LittleEndian.Uint32(b[4:])
	if int64(h.Length) > int64(max) {
		return h, frameErr("%s payload of %d bytes, cap %d", h.Type, h.Length, max)
	}
	copy(h.Sender[:], b[8:])
	copy(h.Recipient[:], b[40:])
	return h, nil
}

// eagerAlloc is the payload size allocated up front; larger payloads grow
// as their bytes arrive, so a header that claims 16 MiB and then stalls
// costs the reader what was sent, not what was claimed.
const eagerAlloc = 64 << 10

// ReadFrame reads one frame. The payload is allocated only after the
// header's length passed its type's cap.
func ReadFrame(r io.Reader) (Header, []byte, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return Header{}, nil, err
	}
	h, err := DecodeHeader(hb[:])
	if err != nil {
		return h, nil, err
	}
	n := int(h.Length)
	payload := make([]byte, 0, min(n, eagerAlloc))
	for len(payload) < n {
		if len(payload) == cap(payload) {
			payload = append(payload, make([]byte, min(n, 2*cap(payload))-len(payload))...)[:len(payload)]
		}
		k, err := r.Read(payload[len(payload):cap(payload)])
		payload = payload[:len(payload)+k]
		if err != nil && len(payload) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, err
		}
	}
	return h, payload, nil
}

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, h Header, payload []byte) error {
	if max, ok := MaxPayload[h.Type]; !ok || len(payload) > max {
		return fmt.Errorf("netq: %s payload of %d bytes over its cap", h.Type, len(payload))
	}
	h.Version = ProtocolVersion
	h.Length = uint32(len(payload))
	hb := EncodeHeader(h)
	buf := make([]byte, 0, HeaderSize+len(payload))
	buf = append(append(buf, hb[:]...), payload...)
	_, err := w.Write(buf)
	return err
}

// rbuf reads a payload with bounds checks; the first failure sticks.
type rbuf struct {
	b   []byte
	err error
}

func (r *rbuf) fail(what string) {
	if r.err == nil {
		r.err = frameErr("truncated %s", what)
	}
}

func (r *rbuf) u8() uint8 {
	if len(r.b) < 1 {
		r.fail("u8")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *rbuf) u16() uint16 {
	if len(r.b) < 2 {
		r.fail("u16")
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *rbuf) u32() uint32 {
	if len(r.b) < 4 {
		r.fail("u32")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *rbuf) u64() uint64 {
	if len(r.b) < 8 {
		r.fail("u64")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *rbuf) hash() (h PeerID) {
	if len(r.b) < 32 {
		r.fail("hash")
		return h
	}
	copy(h[:], r.b)
	r.b = r.b[32:]
	return h
}

// bytes reads n bytes (a view of the payload).
func (r *rbuf) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail("bytes")
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// str reads a u16-length-prefixed string of at most max bytes.
func (r *rbuf) str(max int) string {
	n := int(r.u16())
	if n > max {
		if r.err == nil {
			r.err = frameErr("string of %d bytes, cap %d", n, max)
		}
		return ""
	}
	return string(r.bytes(n))
}

// done reports an error if bytes are left over or a read failed.
func (r *rbuf) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = frameErr("%d trailing bytes", len(r.b))
	}
	return r.err
}

type wbuf []byte

func (w *wbuf) u8(v uint8)   { *w = append(*w, v) }
func (w *wbuf) u16(v uint16) { *w = binary.LittleEndian.AppendUint16(*w, v) }
func (w *wbuf) u32(v uint32) { *w = binary.LittleEndian.AppendUint32(*w, v) }
func (w *wbuf) u64(v uint64) { *w = binary.LittleEndian.AppendUint64(*w, v) }
func (w *wbuf) hash(h PeerID) {
	*w = append(*w, h[:]...)
}
func (w *wbuf) str(s string) {
	w.u16(uint16(len(s)))
	*w = append(*w, s...)
}
