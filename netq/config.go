package netq

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dnahost/dnahost/keys"
)

// Config configures a Node. The zero value of every field but Key means
// its default.
type Config struct {
	// Key is the node's identity (required).
	Key *keys.PrivateKey
	// ListenAddr is the UDP address to listen on (default "0.0.0.0:0").
	ListenAddr string
	// Seeds are "host:port" addresses dialled at start and whenever the
	// node has no peers.
	Seeds []string
	// AddressBook is the file the address book persists to ("" keeps it in
	// memory only).
	AddressBook string
	// Services and Agent are announced in Hello; Height reports the chain
	// height (nil: 0).
	Services uint64
	Agent    string
	Height   func() uint64

	TargetOutbound int           // outbound connections to keep (default 8)
	MaxInbound     int           // inbound connections accepted (default 32)
	MaxPerIP       int           // connections per remote IP (default 8; negative: unlimited)
	IdleTimeout    time.Duration // close silent connections (default 30 s)
	KeepAlive      time.Duration // QUIC keep-alive period (default 5 s)
	DialTimeout    time.Duration // default 5 s
	RequestTimeout time.Duration // default for requests without a deadline (default 30 s)

	Gossip GossipConfig
	Scores ScoreConfig

	// Faults, when set, injects packet faults (tests).
	Faults *Faults
	Logger *slog.Logger
}

// GossipConfig tunes the gossip mesh (gossipsub's parameters).
type GossipConfig struct {
	D          int           // mesh degree (default 3)
	Dlo, Dhi   int           // graft below, prune above (default 2, 4)
	Dlazy      int           // peers sent IHave each heartbeat (default 4)
	Heartbeat  time.Duration // default 500 ms
	History    int           // heartbeats of message IDs advertised in IHave (default 6)
	SeenTTL    time.Duration // how long a message ID is remembered (default 5 min)
	MaxSeen    int           // message IDs remembered at most (default 1<<17)
	MaxStored  int           // messages kept for IWant (default 8192)
	StoreTTL   time.Duration // how long they are kept (default 2 min)
	MaxHops    int           // relays before a message is dropped (default 32)
	RateLimit  float64       // gossip messages per second per peer (default 1000)
	RateBurst  float64       // default 2000
	QueueDepth int           // frames queued per peer before dropping (default 4096)
}

// ScoreConfig sets the misbehaviour score thresholds.
type ScoreConfig struct {
	InvalidMessage float64       // per message failing validation (default −10)
	RateExceeded   float64       // per message over the rate limit (default −1)
	BadChunk       float64       // per chunk failing its hash (default −25)
	Throttle       float64       // below: the peer's gossip is dropped (default −20)
	Disconnect     float64       // below: disconnected and refused for Cooloff (default −50)
	Ban            float64       // below: banned (default −100)
	Cooloff        time.Duration // default 1 min
	BanDuration    time.Duration // default 1 h
	Decay          float64       // per heartbeat, scores move this fraction toward 0 (default 0.02)
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.ListenAddr == "" {
		c.ListenAddr = "0.0.0.0:0"
	}
	def(&c.TargetOutbound, 8)
	def(&c.MaxInbound, 32)
	def(&c.MaxPerIP, 8)
	defD(&c.IdleTimeout, 30*time.Second)
	defD(&c.KeepAlive, 5*time.Second)
	defD(&c.DialTimeout, 5*time.Second)
	defD(&c.RequestTimeout, 30*time.Second)
	g := &c.Gossip
	def(&g.D, 3)
	def(&g.Dlo, 2)
	def(&g.Dhi, 4)
	def(&g.Dlazy, 4)
	defD(&g.Heartbeat, 500*time.Millisecond)
	def(&g.History, 6)
	defD(&g.SeenTTL, 5*time.Minute)
	def(&g.MaxSeen, 1<<17)
	def(&g.MaxStored, 8192)
	defD(&g.StoreTTL, 2*time.Minute)
	def(&g.MaxHops, 32)
	defF(&g.RateLimit, 1000)
	defF(&g.RateBurst, 2000)
	def(&g.QueueDepth, 4096)
	s := &c.Scores
	defF(&s.InvalidMessage, -10)
	defF(&s.RateExceeded, -1)
	defF(&s.BadChunk, -25)
	defF(&s.Throttle, -20)
	defF(&s.Disconnect, -50)
	defF(&s.Ban, -100)
	defD(&s.Cooloff, time.Minute)
	defD(&s.BanDuration, time.Hour)
	defF(&s.Decay, 0.02)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports a config that cannot be used.
func (c Config) Validate() error {
	if c.Key == nil {
		return errors.New("netq: config needs a node key")
	}
	g := c.withDefaults().Gossip
	if g.Dlo > g.D || g.D > g.Dhi {
		return fmt.Errorf("netq: gossip degrees must satisfy Dlo ≤ D ≤ Dhi (%d, %d, %d)", g.Dlo, g.D, g.Dhi)
	}
	s := c.withDefaults().Scores
	if !(s.Ban < s.Disconnect && s.Disconnect < s.Throttle && s.Throttle < 0) {
		return fmt.Errorf("netq: score thresholds must satisfy ban < disconnect < throttle < 0")
	}
	if s.Decay < 0 || s.Decay > 1 {
		return fmt.Errorf("netq: score decay %v outside [0,1]", s.Decay)
	}
	return nil
}
