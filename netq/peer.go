package netq

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/dnahost/dnahost/keys"
)

type outFrame struct {
	t       Type
	payload []byte
}

// peer is one authenticated connection.
type peer struct {
	n        *Node
	id       PeerID
	pub      *keys.PublicKey
	conn     *quic.Conn
	outbound bool
	ctrl     *quic.Stream
	hello    *Hello // the peer's
	conns    uint64 // the dialler's Conn in its Hello
	sendq    chan outFrame
	done     chan struct{}
	once     sync.Once

	mu        sync.Mutex
	score     float64
	throttled time.Time // until
	tokens    float64
	refilled  time.Time
	rtt       time.Duration
}

func newPeer(n *Node, id PeerID, pub *keys.PublicKey, conn *quic.Conn, outbound bool) *peer {
	return &peer{n: n, id: id, pub: pub, conn: conn, outbound: outbound,
		sendq: make(chan outFrame, n.cfg.Gossip.QueueDepth), done: make(chan struct{}),
		tokens: n.cfg.Gossip.RateBurst, refilled: time.Now()}
}

func (p *peer) header(t Type) Header {
	return Header{Type: t, Sender: p.n.id, Recipient: p.id}
}

// handshake opens (or accepts) the control stream and exchanges Hello.
func (p *peer) handshake() error {
	ctx, cancel := context.WithTimeout(p.n.ctx, p.n.cfg.DialTimeout)
	defer cancel()
	var err error
	hello := &Hello{Services: p.n.cfg.Services, Session: p.n.session, Conn: p.n.conns.Add(1), Agent: p.n.cfg.Agent}
	if a := p.n.Addr(); a != nil {
		hello.ListenAddrs = []string{a.String()}
	}
	if p.n.cfg.Height != nil {
		hello.Height = p.n.cfg.Height()
	}
	if p.outbound {
		if p.ctrl, err = p.conn.OpenStreamSync(ctx); err != nil {
			return err
		}
		if err := WriteFrame(p.ctrl, p.header(TypeHello), hello.Encode()); err != nil {
			return err
		}
	} else if p.ctrl, err = p.conn.AcceptStream(ctx); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	p.ctrl.SetReadDeadline(deadline)
	h, payload, err := ReadFrame(p.ctrl)
	if err != nil {
		return err
	}
	if h.Type != TypeHello {
		return frameErr("control stream opened with %s", h.Type)
	}
	if p.hello, err = DecodeHello(payload); err != nil {
		return err
	}
	p.ctrl.SetReadDeadline(time.Time{})
	p.conns = p.hello.Conn
	if p.outbound {
		p.conns = hello.Conn
	}
	if !p.outbound {
		return WriteFrame(p.ctrl, p.header(TypeHello), hello.Encode())
	}
	return nil
}

// start runs the peer's reader, writer and request acceptor.
func (p *peer) start() {
	n := p.n
	n.wg.Add(3)
	go func() {
		defer n.wg.Done()
		p.writeLoop()
	}()
	go func() {
		defer n.wg.Done()
		err := p.readLoop()
		p.close(closeNormal, "")
		n.drop(p, err)
	}()
	go func() {
		defer n.wg.Done()
		p.acceptRequests()
	}()
	// Tell the peer whom we know.
	p.send(TypePeers, (&Peers{Entries: n.book.Sample(64, p.id)}).Encode())
}

// send queues a frame on the control stream; it reports false (and drops
// the frame) when the queue is full or the peer is gone.
func (p *peer) send(t Type, payload []byte) bool {
	select {
	case <-p.done:
		return false
	default:
	}
	select {
	case p.sendq <- outFrame{t, payload}:
		return true
	default:
		return false
	}
}

func (p *peer) writeLoop() {
	for {
		select {
		case <-p.done:
			return
		case f := <-p.sendq:
			if err := WriteFrame(p.ctrl, p.header(f.t), f.payload); err != nil {
				p.close(closeNormal, "write failed")
				return
			}
		}
	}
}

// readLoop reads control frames until the connection ends. A frame that
// breaks the protocol gets the peer banned.
func (p *peer) readLoop() error {
	for {
		h, payload, err := ReadFrame(p.ctrl)
		if err == nil {
			err = p.dispatch(h, payload)
		}
		if err != nil {
			if errors.Is(err, ErrFrame) {
				p.n.count(func(s *Stats) { s.ProtocolViolations++ })
				p.n.ban(p, err.Error())
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func (p *peer) dispatch(h Header, payload []byte) error {
	if h.Sender != p.id || (!h.Recipient.IsZero() && h.Recipient != p.n.id) {
		return frameErr("frame claims sender %s, recipient %s", h.Sender.String()[:16], h.Recipient.String()[:16])
	}
	g := p.n.gossip
	switch h.Type {
	case TypeGossip:
		m, err := DecodeGossip(payload)
		if err != nil {
			return err
		}
		g.onGossip(p, m)
	case TypeIHave:
		m, err := DecodeIHave(payload)
		if err != nil {
			return err
		}
		g.onIHave(p, m)
	case TypeIWant:
		m, err := DecodeIWant(payload)
		if err != nil {
			return err
		}
		g.onIWant(p, m)
	case TypeGraft:
		m, err := DecodeGraft(payload)
		if err != nil {
			return err
		}
		g.onGraft(p, m)
	case TypePrune:
		m, err := DecodePrune(payload)
		if err != nil {
			return err
		}
		g.onPrune(p, m)
	case TypePeers:
		m, err := DecodePeers(payload)
		if err != nil {
			return err
		}
		p.n.book.Learn(m.Entries, p.n.id)
	case TypeGetPeers:
		p.send(TypePeers, (&Peers{Entries: p.n.book.Sample(MaxPeersPerMessage, p.id)}).Encode())
	case TypePing:
		nonce, err := DecodePing(payload)
		if err != nil {
			return err
		}
		p.send(TypePong, (&Pong{Nonce: nonce}).Encode())
	case TypePong:
		if _, err := DecodePing(payload); err != nil {
			return err
		}
	case TypeGoodbye:
		m, err := DecodeGoodbye(payload)
		if err != nil {
			return err
		}
		p.n.log.Debug("peer says goodbye", "peer", p.id.String()[:16], "reason", m.Reason)
		return io.EOF
	default:
		return frameErr("%s on the control stream", h.Type)
	}
	return nil
}

// goodbye tells the peer why we leave, then closes.
func (p *peer) goodbye(reason string) {
	select {
	case <-p.done:
		return
	default:
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.ctrl.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		WriteFrame(p.ctrl, p.header(TypeGoodbye), (&Goodbye{Reason: reason}).Encode())
	}()
	select {
	case <-done:
	case <-time.After(300 * time.Millisecond):
	}
	p.close(closeShutdown, reason)
}

func (p *peer) close(code quic.ApplicationErrorCode, reason string) {
	p.once.Do(func() {
		close(p.done)
		p.conn.CloseWithError(code, reason)
	})
}

func (p *peer) status() PeerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.conn.ConnectionStats()
	s := PeerStatus{ID: p.id, Addr: p.conn.RemoteAddr().String(), Outbound: p.outbound, Score: p.score,
		RTT: cs.SmoothedRTT, BytesSent: cs.BytesSent, BytesReceived: cs.BytesReceived, PacketsLost: cs.PacketsLost}
	if p.hello != nil {
		s.Services, s.Height = p.hello.Services, p.hello.Height
	}
	return s
}
