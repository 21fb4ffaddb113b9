package netq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// RequestHandler answers one request. It must respect ctx (the request's
// deadline) and return a payload within MaxResponsePayload.
type RequestHandler func(ctx context.Context, from PeerID, payload []byte) (Status, []byte)

// Handle registers the handler of a request kind.
func (n *Node) Handle(k Kind, h RequestHandler) {
	n.mu.Lock()
	n.handlers[k] = h
	n.mu.Unlock()
}

// ErrStatus reports a response that is not StatusOK.
type ErrStatus struct {
	Status  Status
	Message string
}

func (e *ErrStatus) Error() string {
	return fmt.Sprintf("netq: request failed with status %d: %s", e.Status, e.Message)
}

// Request sends a request on a fresh stream and waits for the response,
// within ctx's deadline (or RequestTimeout).
func (n *Node) Request(ctx context.Context, id PeerID, k Kind, payload []byte) ([]byte, error) {
	p := n.peer(id)
	if p == nil {
		return nil, ErrNoPeer
	}
	if len(payload) > MaxRequestPayload {
		return nil, fmt.Errorf("netq: request of %d bytes, cap %d", len(payload), MaxRequestPayload)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.RequestTimeout)
		defer cancel()
	}
	s, err := p.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	deadline, _ := ctx.Deadline()
	s.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.CancelRead(0); s.CancelWrite(0) })
	defer stop()
	if err := WriteFrame(s, p.header(TypeRequest), (&Request{Kind: k, Payload: payload}).Encode()); err != nil {
		return nil, err
	}
	s.Close() // FIN: the request is complete
	h, body, err := ReadFrame(s)
	// Whatever follows the response is not read; saying so completes the
	// stream, which returns its slot in the peer's stream limit.
	s.CancelRead(0)
	if err != nil {
		if errors.Is(err, ErrFrame) {
			n.ban(p, err.Error())
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if h.Type != TypeResponse {
		n.ban(p, "answered a request with "+h.Type.String())
		return nil, frameErr("answer of type %s", h.Type)
	}
	resp, err := DecodeResponse(body)
	if err != nil {
		n.ban(p, err.Error())
		return nil, err
	}
	if resp.Status != StatusOK {
		return nil, &ErrStatus{Status: resp.Status, Message: string(resp.Payload[:min(len(resp.Payload), 200)])}
	}
	return resp.Payload, nil
}

// maxServing bounds the requests one peer has read and in service at once;
// further streams wait, held back by QUIC flow control.
const maxServing = 32

// acceptRequests serves the streams a peer opens for requests.
func (p *peer) acceptRequests() {
	slots := make(chan struct{}, maxServing)
	for {
		select {
		case slots <- struct{}{}:
		case <-p.done:
			return
		}
		s, err := p.conn.AcceptStream(p.n.ctx)
		if err != nil {
			return
		}
		p.n.wg.Add(1)
		go func() {
			defer func() { <-slots; p.n.wg.Done() }()
			p.serve(s)
		}()
	}
}

func (p *peer) serve(s *quic.Stream) {
	defer s.Close()
	n := p.n
	s.SetReadDeadline(time.Now().Add(n.cfg.RequestTimeout))
	h, body, err := ReadFrame(s)
	if err != nil {
		if errors.Is(err, ErrFrame) {
			n.count(func(s *Stats) { s.ProtocolViolations++ })
			n.ban(p, err.Error())
		}
		return
	}
	s.CancelRead(0) // the request is one frame; nothing after it is read
	if h.Type != TypeRequest || h.Sender != p.id {
		n.ban(p, "request stream opened with "+h.Type.String())
		return
	}
	req, err := DecodeRequest(body)
	if err != nil {
		n.ban(p, err.Error())
		return
	}
	n.mu.Lock()
	handler := n.handlers[req.Kind]
	n.mu.Unlock()
	status, out := StatusUnknown, []byte(nil)
	if handler != nil {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
		status, out = handler(ctx, p.id, req.Payload)
		cancel()
	}
	if len(out) > MaxResponsePayload {
		status, out = StatusError, []byte("response too large")
	}
	s.SetWriteDeadline(time.Now().Add(n.cfg.RequestTimeout))
	WriteFrame(s, p.header(TypeResponse), (&Response{Status: status, Payload: out}).Encode())
}

// Ping measures the round trip of a request to a peer.
func (n *Node) Ping(ctx context.Context, id PeerID) (time.Duration, error) {
	start := time.Now()
	_, err := n.Request(ctx, id, KindPing, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	return time.Since(start), err
}
