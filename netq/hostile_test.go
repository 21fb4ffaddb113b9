package netq

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/dnahost/dnahost/keys"
)

func testKey(name string) *keys.PrivateKey {
	for j := 0; ; j++ {
		seed := sha256.Sum256([]byte(fmt.Sprintf("netq hostile %s %d", name, j)))
		if k, err := keys.ParsePrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

func startNode(t *testing.T, name string) *Node {
	t.Helper()
	n, err := New(Config{Key: testKey(name), ListenAddr: "127.0.0.1:0", MaxPerIP: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// rogue is a hand-driven peer: a real identity and QUIC connection, and
// whatever bytes the test wants to write.
type rogue struct {
	id     PeerID
	target PeerID
	conn   *quic.Conn
	ctrl   *quic.Stream
}

func dialRogue(t *testing.T, name string, target *Node) *rogue {
	t.Helper()
	key := testKey(name)
	cert, err := newTLSCert(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, target.Addr().String(), tlsConfig(cert), &quic.Config{MaxIdleTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &rogue{id: PeerIDOf(key.Public()), target: target.ID(), conn: conn}
	if r.ctrl, err = conn.OpenStreamSync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(r.ctrl, r.header(TypeHello), (&Hello{Agent: "rogue"}).Encode()); err != nil {
		t.Fatal(err)
	}
	if h, _, err := ReadFrame(r.ctrl); err != nil || h.Type != TypeHello {
		t.Fatalf("rogue handshake: %v %v", h.Type, err)
	}
	go io.Copy(io.Discard, r.ctrl) // whatever the node says next
	return r
}

func (r *rogue) header(t Type) Header { return Header{Type: t, Sender: r.id, Recipient: r.target} }

// closed waits for the node to close the rogue's connection.
func (r *rogue) closed(t *testing.T) {
	t.Helper()
	select {
	case <-r.conn.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the node kept the hostile peer's connection")
	}
}

// refused checks the node closes a connection made with cert.
func refused(t *testing.T, node *Node, cert tls.Certificate, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, node.Addr().String(), tlsConfig(cert), nil)
	if err != nil {
		return // refused in the handshake
	}
	select {
	case <-conn.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal(what)
	}
}

// stillServes checks the node goes on gossiping and answering an honest
// peer.
func stillServes(t *testing.T, node, honest *Node, got chan []byte, msg string) {
	t.Helper()
	if err := node.Publish(TopicJobs, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p) != msg {
			t.Fatalf("honest peer got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("honest peer stopped receiving gossip")
	}
	if _, err := honest.Ping(context.Background(), node.ID()); err != nil {
		t.Fatalf("honest request: %v", err)
	}
}

// Oversized frames, garbage and a flood of invalid gossip each get the
// sender disconnected and banned, while an honest peer is served
// throughout.
func TestHostilePeers(t *testing.T) {
	node := startNode(t, "node")
	honest := startNode(t, "honest")
	got := make(chan []byte, 16)
	honest.Subscribe(TopicJobs, nil, func(_ PeerID, p []byte) { got <- p })
	node.Subscribe(TopicJobs, func(_ PeerID, p []byte) error {
		if strings.HasPrefix(string(p), "bad") {
			return errors.New("not a job")
		}
		return nil
	}, nil)
	if _, err := honest.Connect(context.Background(), node.Addr().String(), node.ID()); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		attack func(r *rogue) error
	}{
		{"oversized frame", func(r *rogue) error {
			h := EncodeHeader(r.header(TypeGossip))
			h[4], h[5], h[6], h[7] = 0xff, 0xff, 0xff, 0x7f // 2 GiB claimed
			_, err := r.ctrl.Write(h[:])
			return err
		}},
		{"oversized ping", func(r *rogue) error {
			h := EncodeHeader(r.header(TypePing))
			h[4] = 9
			_, err := r.ctrl.Write(append(h[:], make([]byte, 9)...))
			return err
		}},
		{"garbage", func(r *rogue) error {
			b := make([]byte, 4096)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			_, err := r.ctrl.Write(b)
			return err
		}},
		{"spoofed sender", func(r *rogue) error {
			h := r.header(TypePing)
			h.Sender = honest.ID()
			return WriteFrame(r.ctrl, h, (&Ping{Nonce: 1}).Encode())
		}},
		{"garbage request stream", func(r *rogue) error {
			s, err := r.conn.OpenStream()
			if err != nil {
				return err
			}
			_, err = s.Write([]byte("GET / HTTP/1.1\r\nHost: node\r\n\r\n" + strings.Repeat("x", 100)))
			return err
		}},
		{"invalid gossip flood", func(r *rogue) error {
			for i := 0; i < 500; i++ {
				g := &Gossip{Topic: TopicJobs, Payload: []byte(fmt.Sprintf("bad job %d", i))}
				if err := WriteFrame(r.ctrl, r.header(TypeGossip), g.Encode()); err != nil {
					return nil // disconnected mid-flood
				}
			}
			return nil
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRogue(t, c.name, node)
			if err := c.attack(r); err != nil {
				t.Fatal(err)
			}
			r.closed(t)
			if !node.Banned(r.id) {
				t.Fatalf("not banned (score %v)", node.Score(r.id))
			}
			cert, _ := newTLSCert(testKey(c.name))
			refused(t, node, cert, "a banned peer got back in")
			stillServes(t, node, honest, got, fmt.Sprintf("job after attack %d", i))
		})
	}
	if s := node.Stats(); s.Bans == 0 || s.ProtocolViolations == 0 || s.GossipInvalid == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A certificate without a node-key signature, or with a signature over a
// different TLS key, is refused in the handshake.
func TestIdentityBinding(t *testing.T) {
	good, err := newTLSCert(testKey("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peerFromCert(good.Certificate); err != nil {
		t.Fatal(err)
	}
	other, _ := newTLSCert(testKey("b"))
	// Any change to the certificate breaks its self-signature.
	der := append([]byte(nil), good.Certificate[0]...)
	der[len(der)-10] ^= 1
	if _, err := peerFromCert([][]byte{der}); !errors.Is(err, ErrIdentity) {
		t.Fatalf("tampered certificate: %v", err)
	}
	if _, err := peerFromCert([][]byte{good.Certificate[0], other.Certificate[0]}); !errors.Is(err, ErrIdentity) {
		t.Fatalf("two certificates: %v", err)
	}
	node := startNode(t, "id-node")
	// A plain self-signed certificate (no identity extension) cannot connect.
	plain := good
	plain.Certificate = [][]byte{selfSigned(t)}
	plain.PrivateKey = plainKey
	refused(t, node, plain, "a certificate without identity was accepted")
	if len(node.Peers()) != 0 {
		t.Fatal("unidentified peer admitted")
	}
}

var plainKey, _ = ecdsa.GenerateKey(elliptic.P256(), crand.Reader)

func selfSigned(t *testing.T) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &plainKey.PublicKey, plainKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
