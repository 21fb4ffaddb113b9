package netq

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Validator checks a message before it is delivered or relayed; an error
// stops the message at this node and costs the sending peer score.
type Validator func(from PeerID, payload []byte) error

// Handler receives each new, valid message of a topic once. from is the
// peer that relayed it (not necessarily its author).
type Handler func(from PeerID, payload []byte)

type subscription struct {
	validate Validator
	deliver  Handler
}

type stored struct {
	topic   Topic
	payload []byte
	expires time.Time
}

type delivery struct {
	h       Handler
	from    PeerID
	payload []byte
}

// gossip is a gossipsub-style router: every topic has a mesh of about D
// peers that get full messages at once (eager push); every heartbeat, the
// IDs of recent messages go to a few other peers (IHave), which ask for any
// they lack (IWant). The mesh bounds the copies a node receives; the lazy
// pull repairs what loss, a partition or a small mesh missed.
type gossip struct {
	n *Node

	mu       sync.Mutex
	subs     map[Topic]*subscription
	mesh     map[Topic]map[PeerID]*peer
	backoff  map[Topic]map[PeerID]time.Time
	seen     map[MessageID]time.Time // expiry
	seenFIFO []MessageID
	store    map[MessageID]*stored
	storeFIF []MessageID
	history  []map[Topic][]MessageID // newest last, one per heartbeat
	rng      *rand.Rand

	deliverq chan delivery
}

func newGossip(n *Node) *gossip {
	g := &gossip{n: n, subs: map[Topic]*subscription{}, mesh: map[Topic]map[PeerID]*peer{},
		backoff: map[Topic]map[PeerID]time.Time{}, seen: map[MessageID]time.Time{},
		store: map[MessageID]*stored{}, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		deliverq: make(chan delivery, 4096)}
	g.history = []map[Topic][]MessageID{{}}
	for _, t := range Topics {
		g.mesh[t] = map[PeerID]*peer{}
		g.backoff[t] = map[PeerID]time.Time{}
	}
	return g
}

// Subscribe sets a topic's validator and handler (either may be nil).
func (n *Node) Subscribe(t Topic, validate Validator, deliver Handler) {
	g := n.gossip
	g.mu.Lock()
	g.subs[t] = &subscription{validate: validate, deliver: deliver}
	g.mu.Unlock()
}

// Mesh lists the peers in a topic's mesh (the peers that get its messages
// at once).
func (n *Node) Mesh(t Topic) []PeerID {
	g := n.gossip
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]PeerID, 0, len(g.mesh[t]))
	for id := range g.mesh[t] {
		out = append(out, id)
	}
	return out
}

// Publish sends a message to the network. The same payload published
// twice is one message.
func (n *Node) Publish(t Topic, payload []byte) error {
	cap, ok := TopicCap[t]
	if !ok {
		return fmt.Errorf("netq: unknown topic %d", t)
	}
	if len(payload) > cap {
		return fmt.Errorf("netq: %s message of %d bytes, cap %d", t, len(payload), cap)
	}
	g := n.gossip
	id := IDOf(t, payload)
	g.mu.Lock()
	fresh := g.markSeen(id)
	if fresh {
		g.keep(id, t, payload)
	}
	g.mu.Unlock()
	if fresh {
		g.forward(t, 0, payload, PeerID{})
	}
	return nil
}

// markSeen records an ID; it reports false if it was already seen.
func (g *gossip) markSeen(id MessageID) bool {
	if _, ok := g.seen[id]; ok {
		return false
	}
	cfg := g.n.cfg.Gossip
	if len(g.seenFIFO) >= cfg.MaxSeen {
		delete(g.seen, g.seenFIFO[0])
		g.seenFIFO = g.seenFIFO[1:]
	}
	g.seen[id] = time.Now().Add(cfg.SeenTTL)
	g.seenFIFO = append(g.seenFIFO, id)
	return true
}

// keep stores a message for IWant and records it for IHave.
func (g *gossip) keep(id MessageID, t Topic, payload []byte) {
	cfg := g.n.cfg.Gossip
	if len(g.storeFIF) >= cfg.MaxStored {
		delete(g.store, g.storeFIF[0])
		g.storeFIF = g.storeFIF[1:]
	}
	g.store[id] = &stored{topic: t, payload: payload, expires: time.Now().Add(cfg.StoreTTL)}
	g.storeFIF = append(g.storeFIF, id)
	cur := g.history[len(g.history)-1]
	cur[t] = append(cur[t], id)
}

// forward sends a message to the topic's mesh (or, while the mesh is still
// empty, to up to D random peers), except to the peer it came from.
func (g *gossip) forward(t Topic, hops uint8, payload []byte, from PeerID) {
	frame := (&Gossip{Topic: t, Hops: hops, Payload: payload}).Encode()
	g.mu.Lock()
	targets := make([]*peer, 0, g.n.cfg.Gossip.Dhi)
	for id, p := range g.mesh[t] {
		if id != from {
			targets = append(targets, p)
		}
	}
	g.mu.Unlock()
	if len(targets) == 0 {
		for _, p := range g.pick(g.n.peerList(), g.n.cfg.Gossip.D, func(p *peer) bool { return p.id != from }) {
			targets = append(targets, p)
		}
	}
	for _, p := range targets {
		if p.send(TypeGossip, frame) {
			g.n.count(func(s *Stats) { s.GossipSent++ })
		}
	}
}

// pick chooses up to k peers at random among those ok accepts.
func (g *gossip) pick(ps []*peer, k int, ok func(*peer) bool) []*peer {
	var c []*peer
	for _, p := range ps {
		if ok(p) {
			c = append(c, p)
		}
	}
	g.mu.Lock()
	g.rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	g.mu.Unlock()
	return c[:min(k, len(c))]
}

func (g *gossip) onGossip(p *peer, m *Gossip) {
	n := g.n
	n.count(func(s *Stats) { s.GossipReceived++ })
	if p.isThrottled() {
		// Ignored, and a peer that keeps pushing while throttled sinks
		// toward disconnection.
		n.adjust(p, n.cfg.Scores.RateExceeded, "gossip while throttled")
		return
	}
	if !p.allow() {
		n.adjust(p, n.cfg.Scores.RateExceeded, "gossip over the rate limit")
		return
	}
	if int(m.Hops) >= n.cfg.Gossip.MaxHops {
		return
	}
	id := IDOf(m.Topic, m.Payload)
	g.mu.Lock()
	fresh := g.markSeen(id)
	sub := g.subs[m.Topic]
	g.mu.Unlock()
	if !fresh {
		n.count(func(s *Stats) { s.GossipDuplicates++ })
		return
	}
	if sub != nil && sub.validate != nil {
		if err := sub.validate(p.id, m.Payload); err != nil {
			n.count(func(s *Stats) { s.GossipInvalid++ })
			n.adjust(p, n.cfg.Scores.InvalidMessage, "invalid "+m.Topic.String()+" message: "+err.Error())
			return
		}
	}
	payload := append([]byte(nil), m.Payload...) // m.Payload aliases the frame buffer
	g.mu.Lock()
	g.keep(id, m.Topic, payload)
	g.mu.Unlock()
	if sub != nil && sub.deliver != nil {
		n.count(func(s *Stats) { s.GossipDelivered++ })
		select {
		case g.deliverq <- delivery{sub.deliver, p.id, payload}:
		case <-n.ctx.Done():
			return
		}
	}
	g.forward(m.Topic, m.Hops+1, payload, p.id)
}

func (g *gossip) onIHave(p *peer, m *IHave) {
	if p.isThrottled() {
		return
	}
	var want []MessageID
	g.mu.Lock()
	for _, id := range m.IDs {
		if _, ok := g.seen[id]; !ok {
			want = append(want, id)
		}
	}
	g.mu.Unlock()
	if len(want) > 0 {
		p.send(TypeIWant, (&IWant{IDs: want}).Encode())
	}
}

// maxServedPerIWant bounds what one IWant can make a node send.
const maxServedPerIWant = 512

func (g *gossip) onIWant(p *peer, m *IWant) {
	served := 0
	for _, id := range m.IDs {
		if served == maxServedPerIWant {
			break
		}
		g.mu.Lock()
		s := g.store[id]
		g.mu.Unlock()
		if s == nil {
			continue
		}
		if p.send(TypeGossip, (&Gossip{Topic: s.topic, Payload: s.payload}).Encode()) {
			served++
		}
	}
	g.n.count(func(st *Stats) { st.IWantServed += uint64(served) })
}

func (g *gossip) onGraft(p *peer, m *Graft) {
	g.mu.Lock()
	refuse := time.Now().Before(g.backoff[m.Topic][p.id]) || len(g.mesh[m.Topic]) >= g.n.cfg.Gossip.Dhi || p.isThrottled()
	if !refuse {
		g.mesh[m.Topic][p.id] = p
	}
	g.mu.Unlock()
	if refuse {
		p.send(TypePrune, (&Prune{Topic: m.Topic, Backoff: 10}).Encode())
	}
}

func (g *gossip) onPrune(p *peer, m *Prune) {
	g.mu.Lock()
	delete(g.mesh[m.Topic], p.id)
	g.backoff[m.Topic][p.id] = time.Now().Add(time.Duration(m.Backoff) * time.Second)
	g.mu.Unlock()
}

// peerUp tells a new peer what we have, so it (and a healed partition)
// catches up without waiting for new traffic.
func (g *gossip) peerUp(p *peer) {
	g.mu.Lock()
	byTopic := map[Topic][]MessageID{}
	now := time.Now()
	for _, id := range g.storeFIF {
		if s := g.store[id]; s != nil && s.expires.After(now) {
			byTopic[s.topic] = append(byTopic[s.topic], id)
		}
	}
	g.mu.Unlock()
	for t, ids := range byTopic {
		for len(ids) > 0 {
			k := min(len(ids), MaxIHaveIDs)
			p.send(TypeIHave, (&IHave{Topic: t, IDs: ids[:k]}).Encode())
			ids = ids[k:]
		}
	}
}

func (g *gossip) peerDown(p *peer) {
	g.mu.Lock()
	for _, m := range g.mesh {
		if m[p.id] == p {
			delete(m, p.id)
		}
	}
	g.mu.Unlock()
}

func (g *gossip) heartbeatLoop() {
	defer g.n.wg.Done()
	// Deliveries run on their own goroutine so a slow handler never stalls
	// the network; the queue gives back-pressure.
	g.n.wg.Add(1)
	go func() {
		defer g.n.wg.Done()
		for {
			select {
			case d := <-g.deliverq:
				d.h(d.from, d.payload)
			case <-g.n.ctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(g.n.cfg.Gossip.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-g.n.ctx.Done():
			return
		case <-tick.C:
			g.heartbeat()
		}
	}
}

func (g *gossip) heartbeat() {
	n := g.n
	cfg := n.cfg.Gossip
	peers := n.peerList()
	alive := map[PeerID]*peer{}
	for _, p := range peers {
		alive[p.id] = p
		p.decay(n.cfg.Scores.Decay)
	}
	type msg struct {
		p *peer
		t Type
		b []byte
	}
	var out []msg
	g.mu.Lock()
	now := time.Now()
	for _, t := range Topics {
		mesh := g.mesh[t]
		for id := range mesh {
			if p := alive[id]; p == nil {
				delete(mesh, id)
			} else if p.isThrottled() {
				// Pruned so it stops pushing what we would drop.
				delete(mesh, id)
				g.backoff[t][id] = now.Add(time.Minute)
				out = append(out, msg{p, TypePrune, (&Prune{Topic: t, Backoff: 60}).Encode()})
			}
		}
		if len(mesh) < cfg.Dlo {
			var c []*peer
			for id, p := range alive {
				if mesh[id] == nil && !now.Before(g.backoff[t][id]) && !p.isThrottled() && p.scoreNow() >= 0 {
					c = append(c, p)
				}
			}
			g.rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			for _, p := range c[:min(cfg.D-len(mesh), len(c))] {
				mesh[p.id] = p
				out = append(out, msg{p, TypeGraft, (&Graft{Topic: t}).Encode()})
			}
		}
		if len(mesh) > cfg.Dhi {
			var c []*peer
			for _, p := range mesh {
				c = append(c, p)
			}
			g.rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			for _, p := range c[:len(c)-cfg.D] {
				delete(mesh, p.id)
				g.backoff[t][p.id] = now.Add(10 * time.Second)
				out = append(out, msg{p, TypePrune, (&Prune{Topic: t, Backoff: 10}).Encode()})
			}
		}
		// Lazy push: recent IDs to a few peers outside the mesh.
		var ids []MessageID
		for _, h := range g.history {
			ids = append(ids, h[t]...)
		}
		if len(ids) > MaxIHaveIDs {
			ids = ids[len(ids)-MaxIHaveIDs:]
		}
		if len(ids) > 0 {
			var c []*peer
			for id, p := range alive {
				if mesh[id] == nil {
					c = append(c, p)
				}
			}
			g.rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			enc := (&IHave{Topic: t, IDs: ids}).Encode()
			for _, p := range c[:min(cfg.Dlazy, len(c))] {
				out = append(out, msg{p, TypeIHave, enc})
			}
		}
	}
	g.history = append(g.history, map[Topic][]MessageID{})
	if len(g.history) > cfg.History {
		g.history = g.history[len(g.history)-cfg.History:]
	}
	for len(g.seenFIFO) > 0 && g.seen[g.seenFIFO[0]].Before(now) {
		delete(g.seen, g.seenFIFO[0])
		g.seenFIFO = g.seenFIFO[1:]
	}
	for len(g.storeFIF) > 0 {
		s := g.store[g.storeFIF[0]]
		if s != nil && s.expires.After(now) {
			break
		}
		delete(g.store, g.storeFIF[0])
		g.storeFIF = g.storeFIF[1:]
	}
	g.mu.Unlock()
	for _, m := range out {
		m.p.send(m.t, m.b)
	}
}

func (p *peer) scoreNow() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.score
}
