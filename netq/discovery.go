package netq

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"sync"
	"time"
)

// Limits of the address book.
const (
	MaxBookEntries   = 4096
	maxBookFileBytes = 8 << 20
)

// AddressBook remembers peers — addresses, services, when they were last
// seen, failures, scores and bans — and persists them as JSON so a
// restarted node finds the network again without its seeds.
type AddressBook struct {
	mu      sync.Mutex
	path    string
	entries map[PeerID]*bookEntry
	dirty   bool
}

type bookEntry struct {
	Addrs       []string `json:"addrs"`
	Services    uint64   `json:"services"`
	LastSeen    int64    `json:"last_seen"`
	Failures    int      `json:"failures"`
	NextAttempt int64    `json:"next_attempt"` // unix ms
	BannedUntil int64    `json:"banned_until"` // unix ms
	Score       float64  `json:"score"`
	ScoreAt     int64    `json:"score_at"` // unix ms
	connected   bool
}

// OpenAddressBook loads the book at path ("" for a book in memory only).
func OpenAddressBook(path string) (*AddressBook, error) {
	b := &AddressBook{path: path, entries: map[PeerID]*bookEntry{}}
	if path == "" {
		return b, nil
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxBookFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBookFileBytes {
		return nil, fmt.Errorf("netq: address book %s larger than %d bytes", path, maxBookFileBytes)
	}
	if b.entries, err = parseAddressBook(raw); err != nil {
		return nil, fmt.Errorf("netq: address book %s: %w", path, err)
	}
	return b, nil
}

// parseAddressBook decodes a saved book, keeping at most MaxBookEntries
// well-formed entries with usable addresses.
func parseAddressBook(raw []byte) (map[PeerID]*bookEntry, error) {
	if len(raw) > maxBookFileBytes {
		return nil, fmt.Errorf("%d bytes, limit %d", len(raw), maxBookFileBytes)
	}
	var m map[string]*bookEntry
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := map[PeerID]*bookEntry{}
	for k, e := range m {
		id, err := hex.DecodeString(k)
		if err != nil || len(id) != 32 || e == nil || len(out) >= MaxBookEntries {
			continue
		}
		e.Addrs = validAddrs(e.Addrs)
		out[PeerID(id)] = e
	}
	return out, nil
}

// Save writes the book if it changed (atomically).
func (b *AddressBook) Save() error {
	b.mu.Lock()
	if b.path == "" || !b.dirty {
		b.mu.Unlock()
		return nil
	}
	m := make(map[string]*bookEntry, len(b.entries))
	for id, e := range b.entries {
		c := *e
		m[id.String()] = &c
	}
	b.dirty = false
	b.mu.Unlock()
	raw, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	tmp := b.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, b.path)
}

func validAddrs(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if len(out) == maxPeerAddrs {
			break
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || port == "0" || len(a) > maxAddrLen {
			continue
		}
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (b *AddressBook) entry(id PeerID) *bookEntry {
	e := b.entries[id]
	if e == nil {
		if len(b.entries) >= MaxBookEntries {
			b.evict()
		}
		e = &bookEntry{}
		b.entries[id] = e
	}
	b.dirty = true
	return e
}

// evict drops the least recently seen, unconnected, unbanned entry.
func (b *AddressBook) evict() {
	var victim PeerID
	oldest := int64(1<<63 - 1)
	now := time.Now().UnixMilli()
	for id, e := range b.entries {
		if !e.connected && e.BannedUntil < now && e.LastSeen < oldest {
			victim, oldest = id, e.LastSeen
		}
	}
	delete(b.entries, victim)
}

// Connected records a live connection. Announced listen addresses are kept;
// the address an outbound dial reached is known good.
func (b *AddressBook) Connected(id PeerID, announced []string, services uint64, remote net.Addr, outbound bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(id)
	addrs := validAddrs(announced)
	if outbound {
		addrs = append(validAddrs([]string{remote.String()}), addrs...)
	}
	if len(addrs) > 0 {
		e.Addrs = dedupe(addrs)
	}
	e.Services, e.LastSeen, e.Failures, e.NextAttempt, e.connected = services, time.Now().Unix(), 0, 0, true
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, a := range s {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if len(out) > maxPeerAddrs {
		out = out[:maxPeerAddrs]
	}
	return out
}

// Disconnected records the end of a connection.
func (b *AddressBook) Disconnected(id PeerID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.entries[id]; e != nil {
		e.connected, e.LastSeen = false, time.Now().Unix()
		b.dirty = true
	}
}

// Learn adds peers heard of through peer exchange.
func (b *AddressBook) Learn(infos []PeerInfo, self PeerID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, pi := range infos {
		addrs := validAddrs(pi.Addrs)
		if pi.ID == self || pi.ID.IsZero() || len(addrs) == 0 {
			continue
		}
		e, known := b.entries[pi.ID]
		if known && e.connected {
			continue
		}
		e = b.entry(pi.ID)
		if !known {
			e.Addrs, e.Services = addrs, pi.Services
			e.LastSeen = min(pi.LastSeen, time.Now().Unix())
		}
	}
}

// Sample returns up to n peers worth passing on: connected first, then the
// most recently seen, never banned ones.
func (b *AddressBook) Sample(n int, exclude PeerID) []PeerInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now().UnixMilli()
	var out []PeerInfo
	type cand struct {
		id PeerID
		e  *bookEntry
	}
	var cs []cand
	for id, e := range b.entries {
		if id != exclude && len(e.Addrs) > 0 && e.BannedUntil < now && e.Failures < 5 {
			cs = append(cs, cand{id, e})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].e.connected != cs[j].e.connected {
			return cs[i].e.connected
		}
		return cs[i].e.LastSeen > cs[j].e.LastSeen
	})
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, PeerInfo{ID: c.id, Addrs: c.e.Addrs, Services: c.e.Services, LastSeen: c.e.LastSeen})
	}
	return out
}

// candidates are peers to dial now.
func (b *AddressBook) candidates(max int) []PeerInfo {
	if max <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now().UnixMilli()
	var out []PeerInfo
	for id, e := range b.entries {
		if !e.connected && len(e.Addrs) > 0 && e.BannedUntil < now && e.NextAttempt <= now {
			out = append(out, PeerInfo{ID: id, Addrs: e.Addrs, LastSeen: e.LastSeen})
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastSeen > out[j].LastSeen })
	return out[:min(max, len(out))]
}

// failed backs off a peer that could not be reached: 1 s doubling to 5 min,
// with jitter.
func (b *AddressBook) failed(id PeerID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[id]
	if e == nil {
		return
	}
	e.Failures++
	wait := time.Second << min(e.Failures-1, 9)
	wait = min(wait, 5*time.Minute)
	wait += time.Duration(rand.Int64N(int64(wait)/2 + 1))
	e.NextAttempt = time.Now().Add(wait).UnixMilli()
	b.dirty = true
}

// Ban refuses a peer until the given time.
func (b *AddressBook) Ban(id PeerID, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(id)
	e.BannedUntil = until.UnixMilli()
	b.dirty = true
}

// Banned reports whether a peer is banned at now.
func (b *AddressBook) Banned(id PeerID, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[id]
	return e != nil && e.BannedUntil > now.UnixMilli()
}

// SetScore records a peer's score when it disconnects, so reconnecting
// does not wash misbehaviour away.
func (b *AddressBook) SetScore(id PeerID, score float64, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(id)
	e.Score, e.ScoreAt = score, at.UnixMilli()
	b.dirty = true
}

// Score returns a peer's recorded score and when it was recorded.
func (b *AddressBook) Score(id PeerID) (float64, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[id]
	if e == nil {
		return 0, time.Time{}
	}
	return e.Score, time.UnixMilli(e.ScoreAt)
}

// Len is the number of known peers.
func (b *AddressBook) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}

// dialLoop keeps the node connected: seeds when it has no peers, known
// peers up to TargetOutbound, saving the book as it goes.
func (n *Node) dialLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var seedMu sync.Mutex // guards the seed back-off state shared with dial goroutines
	seedNext := map[string]time.Time{}
	seedFails := map[string]int{}
	lastSave := time.Now()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		out, total := 0, 0
		up := map[string]bool{} // addresses dialled and connected
		for _, p := range n.peerList() {
			total++
			if p.outbound {
				out++
				up[p.conn.RemoteAddr().String()] = true
			}
		}
		now := time.Now()
		if total == 0 || out < n.cfg.TargetOutbound && n.book.Len() == 0 {
			seedMu.Lock()
			for _, s := range n.cfg.Seeds {
				if up[s] || now.Before(seedNext[s]) {
					continue
				}
				seedNext[s] = now.Add(time.Second << min(seedFails[s], 6))
				s := s
				n.wg.Add(1)
				go func() {
					defer n.wg.Done()
					_, err := n.Connect(n.ctx, s, PeerID{})
					seedMu.Lock()
					if err != nil {
						seedFails[s]++
					} else {
						seedFails[s] = 0
					}
					seedMu.Unlock()
				}()
			}
			seedMu.Unlock()
		}
		for _, c := range n.book.candidates(n.cfg.TargetOutbound - out) {
			c := c
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				for _, a := range c.Addrs {
					if _, err := n.Connect(n.ctx, a, c.ID); err == nil {
						return
					}
				}
				n.book.failed(c.ID)
			}()
		}
		if now.Sub(lastSave) > 30*time.Second {
			n.book.Save()
			lastSave = now
		}
	}
}

func (n *Node) serveGetPeers(_ context.Context, from PeerID, _ []byte) (Status, []byte) {
	return StatusOK, (&Peers{Entries: n.book.Sample(MaxPeersPerMessage, from)}).Encode()
}
