package netq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/dnahost/dnahost/keys"
)

// Application error codes for closing connections.
const (
	closeNormal    quic.ApplicationErrorCode = 0
	closeProtocol  quic.ApplicationErrorCode = 1
	closeBanned    quic.ApplicationErrorCode = 2
	closeLimits    quic.ApplicationErrorCode = 3
	closeDuplicate quic.ApplicationErrorCode = 4
	closeSelf      quic.ApplicationErrorCode = 5
	closeShutdown  quic.ApplicationErrorCode = 6
)

var (
	// ErrClosed reports use of a closed node.
	ErrClosed = errors.New("netq: node closed")
	// ErrNoPeer reports a request to a peer that is not connected.
	ErrNoPeer = errors.New("netq: peer not connected")
	// ErrRefused reports a connection the remote side or local policy refused.
	ErrRefused = errors.New("netq: connection refused")
)

// Node is one peer-to-peer node: a QUIC endpoint on one UDP socket that
// both accepts and dials.
type Node struct {
	cfg  Config
	key  *keys.PrivateKey
	id   PeerID
	log  *slog.Logger
	tls  *tls.Config
	qcfg *quic.Config
	udp  net.PacketConn
	tr   *quic.Transport
	ln   *quic.Listener

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// session is announced in Hello, drawn at random each start: peers
	// tell a restarted node from a second connection of a live one.
	session uint64
	conns   atomic.Uint64 // connections numbered for Hello.Conn

	mu       sync.Mutex
	peers    map[PeerID]*peer
	dialing  map[string]bool
	book     *AddressBook
	handlers map[Kind]RequestHandler
	closed   bool

	gossip  *gossip
	statsMu sync.Mutex
	stats   Stats
}

// Stats counts what a node did (read with Node.Stats).
type Stats struct {
	GossipReceived     uint64 // gossip frames received
	GossipDuplicates   uint64 // of which already seen
	GossipDelivered    uint64 // new, valid messages handed to the application
	GossipInvalid      uint64
	GossipSent         uint64
	IWantServed        uint64
	ProtocolViolations uint64
	Bans               uint64
	ChunksServed       uint64
	ChunksFetched      uint64
	BadChunks          uint64
}

// New makes a node; Start brings it up.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cert, err := newTLSCert(cfg.Key)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, key: cfg.Key, id: PeerIDOf(cfg.Key.Public()), log: cfg.Logger,
		tls:      tlsConfig(cert),
		peers:    map[PeerID]*peer{},
		dialing:  map[string]bool{},
		handlers: map[Kind]RequestHandler{},
	}
	n.qcfg = &quic.Config{
		MaxIdleTimeout:        cfg.IdleTimeout,
		KeepAlivePeriod:       cfg.KeepAlive,
		HandshakeIdleTimeout:  cfg.DialTimeout,
		MaxIncomingStreams:    1024, // streams count until their FIN is acknowledged
		MaxIncomingUniStreams: -1,
		// Unread data per connection is bounded by the connection window;
		// 8 MiB keeps four 1 MiB chunks in flight on a 100 ms path.
		MaxStreamReceiveWindow:     4 << 20,
		MaxConnectionReceiveWindow: 8 << 20,
	}
	n.book, err = OpenAddressBook(cfg.AddressBook)
	if err != nil {
		return nil, err
	}
	n.gossip = newGossip(n)
	n.Handle(KindGetPeers, n.serveGetPeers)
	n.Handle(KindPing, func(_ context.Context, _ PeerID, p []byte) (Status, []byte) { return StatusOK, p })
	return n, nil
}

// ID is the node's peer ID.
func (n *Node) ID() PeerID { return n.id }

// Addr is the address the node listens on (after Start).
func (n *Node) Addr() net.Addr { return n.udp.LocalAddr() }

// Start listens and starts connecting to seeds and known peers.
func (n *Node) Start(ctx context.Context) error {
	addr, err := net.ResolveUDPAddr("udp", n.cfg.ListenAddr)
	if err != nil {
		return err
	}
	udp, err := net.ListenUDP("udp", addr)
	if err != nil {
		return err
	}
	n.udp = udp
	var pc net.PacketConn = udp
	if n.cfg.Faults != nil {
		pc = &faultyConn{PacketConn: udp, f: n.cfg.Faults}
	}
	// The stateless reset key is derived from the identity, so it is the
	// same after a restart: a node that crashed and came back on the same
	// address resets its peers' stale connections at their next packet
	// instead of leaving them to the idle timeout.
	n.tr = &quic.Transport{Conn: pc, StatelessResetKey: statelessResetKey(n.key)}
	n.session = rand.Uint64() | 1
	n.ln, err = n.tr.Listen(n.tls, n.qcfg)
	if err != nil {
		udp.Close()
		return err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.log.Info("netq listening", "addr", n.Addr(), "peer", n.id.String()[:16])
	n.wg.Add(3)
	go n.acceptLoop()
	go n.dialLoop()
	go n.gossip.heartbeatLoop()
	return nil
}

// Close says goodbye to every peer, closes the socket and saves the
// address book. It waits for the node's goroutines.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	peers := make([]*peer, 0, len(n.peers))
	for _, p := range n.peers {
		peers = append(peers, p)
	}
	n.mu.Unlock()
	if n.cancel != nil {
		n.cancel()
	}
	for _, p := range peers {
		p.goodbye("shutdown")
	}
	var err error
	if n.ln != nil {
		err = n.ln.Close()
	}
	if n.tr != nil {
		err = errors.Join(err, n.tr.Close())
	}
	if n.udp != nil {
		n.udp.Close()
	}
	n.wg.Wait()
	return errors.Join(err, n.book.Save())
}

// Faults returns the node's fault injector (nil when none).
func (n *Node) Faults() *Faults { return n.cfg.Faults }

// AddressBook returns the node's address book.
func (n *Node) AddressBook() *AddressBook { return n.book }

// acceptLoop admits inbound connections.
func (n *Node) acceptLoop() {
	defer n.wg.Done()
	for {
		conn, err := n.ln.Accept(n.ctx)
		if err != nil {
			return
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.setup(conn, false, PeerID{})
		}()
	}
}

// Connect dials an address and waits for the handshake. want, if not zero,
// is the peer ID the address must prove; a peer already connected is not
// dialled again.
func (n *Node) Connect(ctx context.Context, addr string, want PeerID) (PeerID, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return PeerID{}, err
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return PeerID{}, ErrClosed
	}
	if n.dialing[addr] {
		n.mu.Unlock()
		return PeerID{}, fmt.Errorf("netq: already dialling %s", addr)
	}
	if _, up := n.peers[want]; up && !want.IsZero() {
		n.mu.Unlock()
		return want, nil
	}
	n.dialing[addr] = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.dialing, addr)
		n.mu.Unlock()
	}()
	dctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	conn, err := n.tr.Dial(dctx, ua, n.tls, n.qcfg)
	if err != nil {
		return PeerID{}, err
	}
	p, err := n.setup(conn, true, want)
	if err != nil {
		return PeerID{}, err
	}
	return p.id, nil
}

// setup authenticates a connection, admits it and runs the peer.
func (n *Node) setup(conn *quic.Conn, outbound bool, want PeerID) (*peer, error) {
	var raw [][]byte
	for _, c := range conn.ConnectionState().TLS.PeerCertificates {
		raw = append(raw, c.Raw)
	}
	pub, err := peerFromCert(raw)
	if err != nil {
		conn.CloseWithError(closeProtocol, "identity")
		return nil, err
	}
	id := PeerIDOf(pub)
	remote := conn.RemoteAddr()
	if reason, code := n.admit(id, remote, outbound, want); reason != "" {
		conn.CloseWithError(code, reason)
		return nil, fmt.Errorf("%w: %s", ErrRefused, reason)
	}
	p := newPeer(n, id, pub, conn, outbound)
	p.score = n.restoredScore(id)
	if err := p.handshake(); err != nil {
		n.drop(p, err)
		return nil, err
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		p.close(closeShutdown, "shutting down")
		return nil, fmt.Errorf("%w: shutting down", ErrRefused)
	}
	old := n.peers[id]
	if old != nil && !n.replaces(p, old) {
		n.mu.Unlock()
		p.close(closeDuplicate, "duplicate connection")
		return nil, fmt.Errorf("%w: duplicate connection", ErrRefused)
	}
	n.peers[id] = p
	n.mu.Unlock()
	if old != nil {
		// The new connection takes the old one's place, score included.
		p.mu.Lock()
		p.score = old.scoreNow()
		p.mu.Unlock()
		old.close(closeDuplicate, "replaced by a newer connection")
		n.gossip.peerDown(old)
		n.log.Debug("peer connection replaced", "peer", id.String()[:16], "addr", remote, "restarted", old.hello.Session != p.hello.Session)
	}
	n.book.Connected(id, p.hello.ListenAddrs, p.hello.Services, remote, outbound)
	n.log.Debug("peer up", "peer", id.String()[:16], "addr", remote, "outbound", outbound)
	p.start()
	n.gossip.peerUp(p)
	return p, nil
}

// admit applies identity, ban and connection-limit policy.
func (n *Node) admit(id PeerID, remote net.Addr, outbound bool, want PeerID) (string, quic.ApplicationErrorCode) {
	if id == n.id {
		return "self", closeSelf
	}
	if !want.IsZero() && id != want {
		return "unexpected peer ID", closeProtocol
	}
	if n.book.Banned(id, time.Now()) {
		return "banned", closeBanned
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return "shutting down", closeShutdown
	}
	// A second connection from a connected peer is admitted to the
	// handshake: its Hello tells whether it replaces the first (replaces).
	in, sameIP := 0, 0
	host := hostOf(remote)
	for pid, p := range n.peers {
		if pid == id {
			continue
		}
		if !p.outbound {
			in++
		}
		if hostOf(p.conn.RemoteAddr()) == host {
			sameIP++
		}
	}
	if !outbound && in >= n.cfg.MaxInbound {
		return "too many inbound connections", closeLimits
	}
	if n.cfg.MaxPerIP > 0 && sameIP >= n.cfg.MaxPerIP {
		return "too many connections from " + host, closeLimits
	}
	return "", 0
}

func hostOf(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	h, _, _ := net.SplitHostPort(a.String())
	return h
}

// replaces decides between two connections to the same peer, the same
// way on both sides: a connection from a new session (the peer restarted)
// replaces the old one, which is dead. Of two connections one side dialled,
// both keep the later (its Hello.Conn is higher: the dialler dials a
// connected peer again only once it has given the old connection up). Of
// two dialled by each side at once, both keep the one dialled by the lower
// peer ID. Called with n.mu held.
func (n *Node) replaces(p, old *peer) bool {
	if p.hello.Session != old.hello.Session {
		return true
	}
	if p.outbound == old.outbound {
		return p.conns > old.conns
	}
	dialler := func(c *peer) PeerID {
		if c.outbound {
			return n.id
		}
		return c.id
	}
	a, b := dialler(p), dialler(old)
	return bytes.Compare(a[:], b[:]) < 0
}

// statelessResetKey derives the QUIC stateless reset key from the node's
// identity key.
func statelessResetKey(k *keys.PrivateKey) *quic.StatelessResetKey {
	var key quic.StatelessResetKey
	h := sha256.New()
	h.Write([]byte("dnahost/netq stateless reset key v1\x00"))
	h.Write(k.Bytes())
	copy(key[:], h.Sum(nil))
	return &key
}

// drop forgets a peer after its connection ended.
func (n *Node) drop(p *peer, err error) {
	n.mu.Lock()
	current := n.peers[p.id] == p
	if current {
		delete(n.peers, p.id)
	}
	n.mu.Unlock()
	n.gossip.peerDown(p)
	if !current {
		return // replaced by a newer connection, which carries its score
	}
	n.book.SetScore(p.id, p.scoreNow(), time.Now())
	n.book.Disconnected(p.id)
	if err != nil {
		n.log.Debug("peer down", "peer", p.id.String()[:16], "err", err)
	}
}

// PeerStatus describes a connected peer.
type PeerStatus struct {
	ID       PeerID
	Addr     string
	Outbound bool
	Services uint64
	Height   uint64
	Score    float64
	RTT      time.Duration
	// Traffic on the connection (QUIC's counters).
	BytesSent, BytesReceived uint64
	PacketsLost              uint64
}

// Peers lists the connected peers.
func (n *Node) Peers() []PeerStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]PeerStatus, 0, len(n.peers))
	for _, p := range n.peers {
		out = append(out, p.status())
	}
	return out
}

// SetPeerHeight records a chain height a peer has shown since its Hello
// (say, by relaying a block); PeerStatus.Height reports the highest.
func (n *Node) SetPeerHeight(id PeerID, height uint64) {
	p := n.peer(id)
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.hello != nil && height > p.hello.Height {
		p.hello.Height = height
	}
	p.mu.Unlock()
}

func (n *Node) peer(id PeerID) *peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.peers[id]
}

func (n *Node) peerList() []*peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*peer, 0, len(n.peers))
	for _, p := range n.peers {
		out = append(out, p)
	}
	return out
}

// Stats returns a copy of the counters.
func (n *Node) Stats() Stats {
	n.statsMu.Lock()
	defer n.statsMu.Unlock()
	return n.stats
}

func (n *Node) count(f func(s *Stats)) {
	n.statsMu.Lock()
	f(&n.stats)
	n.statsMu.Unlock()
}

// Disconnect closes the connection to a peer.
func (n *Node) Disconnect(id PeerID, reason string) {
	if p := n.peer(id); p != nil {
		p.close(closeNormal, reason)
	}
}
