package netq

import (
	"math"
	"time"
)

// Penalize lowers a peer's score (negative delta) for misbehaviour the
// application found, e.g. an invalid block it could only check later.
func (n *Node) Penalize(id PeerID, delta float64, why string) {
	if p := n.peer(id); p != nil {
		n.adjust(p, delta, why)
	}
}

// adjust changes a peer's score and applies the thresholds: throttle, then
// disconnect, then ban.
func (n *Node) adjust(p *peer, delta float64, why string) {
	s := n.cfg.Scores
	p.mu.Lock()
	p.score += delta
	score := p.score
	if score < s.Throttle {
		p.throttled = time.Now().Add(10 * n.cfg.Gossip.Heartbeat)
	}
	p.mu.Unlock()
	switch {
	case score < s.Ban:
		n.ban(p, why)
	case score < s.Disconnect:
		n.log.Info("disconnecting misbehaving peer", "peer", p.id.String()[:16], "score", score, "why", why)
		n.book.Ban(p.id, time.Now().Add(s.Cooloff))
		p.close(closeBanned, "misbehaviour")
	}
}

// ban disconnects a peer and refuses it for the ban duration.
func (n *Node) ban(p *peer, why string) {
	n.log.Info("banning peer", "peer", p.id.String()[:16], "why", why)
	n.count(func(s *Stats) { s.Bans++ })
	n.book.Ban(p.id, time.Now().Add(n.cfg.Scores.BanDuration))
	p.close(closeBanned, "banned")
}

// restoredScore is a returning peer's recorded score, decayed toward zero
// for the time it was away at the rate connected peers decay.
func (n *Node) restoredScore(id PeerID) float64 {
	score, at := n.book.Score(id)
	if score == 0 {
		return 0
	}
	beats := time.Since(at).Seconds() / n.cfg.Gossip.Heartbeat.Seconds()
	return score * math.Pow(1-n.cfg.Scores.Decay, max(beats, 0))
}

// Score is a peer's misbehaviour score: live while it is connected, else
// as recorded at disconnection and decayed since. Zero is neutral; see
// ScoreConfig for the thresholds.
func (n *Node) Score(id PeerID) float64 {
	if p := n.peer(id); p != nil {
		return p.scoreNow()
	}
	return n.restoredScore(id)
}

// Banned reports whether a peer is banned.
func (n *Node) Banned(id PeerID) bool { return n.book.Banned(id, time.Now()) }

// allow spends one token of the peer's gossip rate limit.
func (p *peer) allow() bool {
	g := p.n.cfg.Gossip
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.tokens = min(g.RateBurst, p.tokens+now.Sub(p.refilled).Seconds()*g.RateLimit)
	p.refilled = now
	if p.tokens < 1 {
		return false
	}
	p.tokens--
	return true
}

func (p *peer) isThrottled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.throttled)
}

// decay moves the score toward zero.
func (p *peer) decay(f float64) {
	p.mu.Lock()
	p.score -= p.score * f
	p.mu.Unlock()
}
