package netq

// Kind is a request kind: what a request stream asks for.
type Kind uint16

const (
	KindGetLeaves  Kind = 1 // the chunk hashes of a Merkle-rooted object
	KindGetChunk   Kind = 2 // one chunk of such an object
	KindGetHeaders Kind = 3 // chain headers
	KindGetBlocks  Kind = 4 // chain blocks
	KindVerify     Kind = 5 // outsourced verification of one token position
	KindGetPeers   Kind = 6 // peer exchange on demand
	KindPing       Kind = 7 // round trip measurement
)

// Caps of request and response payloads. Requests are small (a root and
// index, a range of heights, one token position to verify).
const (
	MaxRequestPayload  = 256 << 10
	MaxResponsePayload = 16<<20 + 64
)

// Request asks for something on its own stream.
type Request struct {
	Kind    Kind
	Payload []byte
}

// Status of a response.
type Status uint8

const (
	StatusOK       Status = 0
	StatusNotFound Status = 1
	StatusBadInput Status = 2
	StatusBusy     Status = 3
	StatusError    Status = 4
	StatusUnknown  Status = 5 // no handler for the kind
)

// Response answers a Request.
type Response struct {
	Status  Status
	Payload []byte
}

// Encode writes u16 kind ‖ payload.
func (m *Request) Encode() []byte {
	var w wbuf
	w.u16(uint16(m.Kind))
	return append(w, m.Payload...)
}

// DecodeRequest parses a Request payload.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) < 2 {
		return nil, frameErr("request of %d bytes", len(b))
	}
	r := &rbuf{b: b}
	return &Request{Kind: Kind(r.u16()), Payload: r.b}, nil
}

// Encode writes u8 status ‖ payload.
func (m *Response) Encode() []byte {
	return append([]byte{byte(m.Status)}, m.Payload...)
}

// DecodeResponse parses a Response payload.
func DecodeResponse(b []byte) (*Response, error) {
	if len(b) < 1 {
		return nil, frameErr("empty response")
	}
	if b[0] > byte(StatusUnknown) {
		return nil, frameErr("response status %d", b[0])
	}
	return &Response{Status: Status(b[0]), Payload: b[1:]}, nil
}
