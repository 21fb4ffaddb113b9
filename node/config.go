package node

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/node/bundlestore"
)

// Config configures a Node. The zero value of every field but DataDir
// means its default.
type Config struct {
	// DataDir holds the node key, the chain, the job store and bundles.
	DataDir string
	// Net is the chain: "devnet" (default), "testnet" or "mainnet".
	Net string
	// Listen is the QUIC address (default 127.0.0.1:<net's default port>).
	Listen string
	// Seeds are peers to connect to at start ("host:port").
	Seeds []string

	// Compute runs jobs for others (stake, compute, commit, reveal).
	Compute bool
	// Workers is how many jobs compute at once (default 1).
	Workers int
	// Threads is kernel threads per job (0: every core).
	Threads int
	// Engine is the WebAssembly engine: "wazero" (the default),
	// "wazero-interp", or "wasmtime" in a build with -tags wasmtime.
	Engine string
	// CacheDir holds compiled modules (default DataDir/cache); nodes on one
	// machine may share it.
	CacheDir string
	// Stake is what the node bonds per job (default: the job's minimum).
	Stake uint64
	// Fee is what the node pays per transaction (default 1,000 units).
	Fee uint64

	// Mine runs the miner.
	Mine bool
	// MineInterval is the mean time between this node's blocks on devnet,
	// where a block takes no work (default 1 s). Ignored elsewhere.
	MineInterval time.Duration
	// MinerThreads is the miner's cores (0: every core).
	MinerThreads int

	// CommitWindow is how long after a job is accepted nodes wait for all
	// commits before revealing (default 10 s on devnet, 60 s elsewhere).
	CommitWindow time.Duration
	// RevealWindow is how long the coordinator waits for reveals after the
	// commit window (default 10 s on devnet, 60 s elsewhere).
	RevealWindow time.Duration
	// SignWindow is how long the coordinator waits for certificate
	// signatures before recording with the ones it has (default 10 s on
	// devnet, 60 s elsewhere).
	SignWindow time.Duration

	// Behavior makes a node dishonest, for tests and demonstrations of what
	// the protocol catches: "" (honest), "lazy" (plausible tokens without
	// computing), "copy" (commits a copy of another node's commitment),
	// "silent" (never reveals), "truncate" (cuts its output short).
	Behavior string

	// Bundles is the bundle store (nil: a directory store in
	// DataDir/bundles). Any bundlestore.Store plugs in here.
	Bundles bundlestore.Store

	// Logger receives structured logs (nil: discard).
	Logger *slog.Logger
}

// Behaviors lists the valid Config.Behavior values.
var Behaviors = []string{"", "lazy", "copy", "silent", "truncate"}

// Validate reports a config that cannot be used.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("node: config needs a DataDir")
	}
	if _, err := c.params(); err != nil {
		return err
	}
	ok := false
	for _, b := range Behaviors {
		ok = ok || b == c.Behavior
	}
	if !ok {
		return fmt.Errorf("node: unknown behavior %q", c.Behavior)
	}
	if c.Workers < 0 || c.Threads < 0 || c.MinerThreads < 0 {
		return errors.New("node: negative worker or thread count")
	}
	return nil
}

func (c Config) params() (*chain.Params, error) {
	name := c.Net
	if name == "" {
		name = "devnet"
	}
	p, ok := chain.ParamsByName(name)
	if !ok {
		return nil, fmt.Errorf("node: unknown network %q", name)
	}
	return p, nil
}

func (c Config) withDefaults() Config {
	p, _ := c.params()
	dev := p.Name == "devnet"
	if c.Listen == "" {
		c.Listen = fmt.Sprintf("127.0.0.1:%d", p.DefaultPort)
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.Fee == 0 {
		c.Fee = 1000
	}
	if c.MineInterval == 0 {
		c.MineInterval = time.Second
	}
	window := 60 * time.Second
	if dev {
		window = 10 * time.Second
	}
	if c.CommitWindow == 0 {
		c.CommitWindow = window
	}
	if c.RevealWindow == 0 {
		c.RevealWindow = window
	}
	if c.SignWindow == 0 {
		c.SignWindow = window
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
