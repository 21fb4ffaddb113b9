package netq

import (
	"errors"
	"testing"
)

func encRequest(m *Request) []byte   { return m.Encode() }
func encResponse(m *Response) []byte { return m.Encode() }

func TestRequestResponse(t *testing.T) {
	roundTrip(t, &Request{Kind: KindGetChunk, Payload: []byte("root+index")}, encRequest, DecodeRequest, true)
	roundTrip(t, &Response{Status: StatusNotFound, Payload: []byte{}}, encResponse, DecodeResponse, true)
	if _, err := DecodeRequest([]byte{1}); !errors.Is(err, ErrFrame) {
		t.Fatal("one-byte request accepted")
	}
	if _, err := DecodeResponse(nil); !errors.Is(err, ErrFrame) {
		t.Fatal("empty response accepted")
	}
	if _, err := DecodeResponse([]byte{200}); !errors.Is(err, ErrFrame) {
		t.Fatal("unknown status accepted")
	}
}

func FuzzRequest(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Request{Kind: KindPing, Payload: []byte("x")}).Encode()}, DecodeRequest, encRequest)
}

func FuzzResponse(f *testing.F) {
	fuzzDecoder(f, [][]byte{(&Response{Payload: []byte("x")}).Encode()}, DecodeResponse, encResponse)
}
