package netq

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Faults injects packet-level faults into a node's UDP socket: the seam
// tests use to drop, delay, duplicate and corrupt packets and to partition
// nodes. QUIC sees real loss and real corruption (caught by its AEAD), so
// everything above it is tested as it would run on a bad network. A nil
// *Faults injects nothing; settings may change while the node runs.
type Faults struct {
	mu        sync.Mutex
	drop      float64
	duplicate float64
	corrupt   float64
	delay     time.Duration
	jitter    time.Duration
	blocked   map[string]bool // partitioned remote addresses
	rng       *rand.Rand
	rate      float64   // bytes per second sent; 0: unlimited
	linkFree  time.Time // when the emulated link is idle again
}

// NewFaults makes a fault injector with a seed (for reproducible runs).
func NewFaults(seed uint64) *Faults {
	return &Faults{blocked: map[string]bool{}, rng: rand.New(rand.NewPCG(seed, 0x6661756c74))}
}

// SetLoss drops each packet sent with probability p.
func (f *Faults) SetLoss(p float64) { f.mu.Lock(); f.drop = p; f.mu.Unlock() }

// SetDuplicate sends each packet twice with probability p.
func (f *Faults) SetDuplicate(p float64) { f.mu.Lock(); f.duplicate = p; f.mu.Unlock() }

// SetCorrupt flips a byte of each packet sent with probability p.
func (f *Faults) SetCorrupt(p float64) { f.mu.Lock(); f.corrupt = p; f.mu.Unlock() }

// SetDelay delays packets by d plus up to jitter.
func (f *Faults) SetDelay(d, jitter time.Duration) {
	f.mu.Lock()
	f.delay, f.jitter = d, jitter
	f.mu.Unlock()
}

// SetBandwidth caps the bytes per second the node sends (0: no cap), as a
// slow uplink would: a packet waits until the link has sent the ones before
// it.
func (f *Faults) SetBandwidth(bytesPerSecond float64) {
	f.mu.Lock()
	f.rate = bytesPerSecond
	f.mu.Unlock()
}

// pace returns how long a packet of n bytes must wait for the link.
func (f *Faults) pace(n int) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate <= 0 {
		return 0
	}
	now := time.Now()
	if f.linkFree.Before(now) {
		f.linkFree = now
	}
	f.linkFree = f.linkFree.Add(time.Duration(float64(n) / f.rate * float64(time.Second)))
	return f.linkFree.Sub(now)
}

// Block drops every packet to or from these addresses (a partition).
func (f *Faults) Block(addrs ...net.Addr) {
	f.mu.Lock()
	for _, a := range addrs {
		f.blocked[a.String()] = true
	}
	f.mu.Unlock()
}

// Heal removes every partition.
func (f *Faults) Heal() {
	f.mu.Lock()
	clear(f.blocked)
	f.mu.Unlock()
}

// decide returns what to do with one outgoing packet.
func (f *Faults) decide(addr net.Addr) (drop bool, copies int, corrupt bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blocked[addr.String()] || f.rng.Float64() < f.drop {
		return true, 0, false, 0
	}
	copies = 1
	if f.rng.Float64() < f.duplicate {
		copies = 2
	}
	corrupt = f.rng.Float64() < f.corrupt
	delay = f.delay
	if f.jitter > 0 {
		delay += time.Duration(f.rng.Int64N(int64(f.jitter)))
	}
	return false, copies, corrupt, delay
}

func (f *Faults) isBlocked(addr net.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.blocked) > 0 && f.blocked[addr.String()]
}

// faultyConn applies Faults to a PacketConn.
type faultyConn struct {
	net.PacketConn
	f *Faults
}

func (c *faultyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if wait := c.f.pace(len(p)); wait > time.Millisecond {
		time.Sleep(wait) // the writer blocks as on a full uplink
	}
	drop, copies, corrupt, delay := c.f.decide(addr)
	if drop {
		return len(p), nil // lost on the wire
	}
	b := p
	if corrupt || delay > 0 || copies > 1 {
		b = append([]byte(nil), p...)
		if corrupt && len(b) > 0 {
			b[len(b)/2] ^= 0x5a
		}
	}
	send := func() {
		for i := 0; i < copies; i++ {
			c.PacketConn.WriteTo(b, addr)
		}
	}
	if delay > 0 {
		time.AfterFunc(delay, send)
		return len(p), nil
	}
	send()
	return len(p), nil
}

func (c *faultyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || !c.f.isBlocked(addr) {
			return n, addr, err
		}
	}
}

// SetReadBuffer and SetWriteBuffer pass socket buffer sizes through, so
// quic-go sizes the real socket's buffers as it would without faults.
func (c *faultyConn) SetReadBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return nil
}

func (c *faultyConn) SetWriteBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return nil
}
