package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/kernels/cpu"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node/bundlestore"
	"github.com/dnahost/dnahost/runtime"
)

// KeyFile is the node key's name in the data directory.
const KeyFile = "node.key"

// ErrNotInitialized reports a data directory without a node key.
var ErrNotInitialized = errors.New("node: data directory not initialised (run dnahost init)")

// Init makes a data directory with a new node key, or keeps the one there.
func Init(dir string) (*keys.PrivateKey, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	path := filepath.Join(dir, KeyFile)
	if k, err := keys.ReadKeyFile(path); err == nil {
		return k, false, nil
	}
	k, err := keys.GenerateKey()
	if err != nil {
		return nil, false, err
	}
	if err := keys.WriteKeyFile(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// Node is a running dnahost node.
type Node struct {
	cfg Config
	p   *chain.Params
	key *keys.PrivateKey
	pub []byte
	log *slog.Logger

	chain   *chain.Chain
	pool    *chain.Mempool
	net     *netq.Node
	bundles bundlestore.Store
	rt      *runtime.Runtime
	kernels *cpu.Backend // the runtime's kernels (Config.Threads per job)
	jobdb   jobDB

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	jobs     map[keys.Hash]*JobRecord
	watchers map[keys.Hash]map[chan Update]struct{}
	allWatch map[chan Update]struct{}
	pending  map[keys.Hash]*pendingMsgs // messages for jobs not yet announced here
	recheck  map[keys.Hash]bool         // closed jobs to check against the chain after a reorganisation

	syncMu  sync.Mutex
	syncing map[netq.PeerID]bool // peers a sync runs with (requestSync)

	modelsMu sync.Mutex
	models   map[keys.Hash]*loaded
	fetching map[keys.Hash]chan struct{}
	names    map[string]keys.Hash // bundle name → root, from announcements
	sigs     map[keys.Hash]*bundleSource

	computeQ  chan keys.Hash
	txMu      sync.Mutex
	nextNonce uint64
	// The node's own pooled transactions by nonce, and releaseDeadTxs's
	// state (all under txMu).
	sent     map[uint64]*chain.Tx
	gapSince time.Time // when the account's next nonce was first seen missing from the pool
	gapNonce uint64
	deadScan keys.Hash // the tip of the last scan for dead transactions

	metrics Metrics
	started time.Time
}

type pendingMsgs struct{ msgs [][]byte }

// loaded is a bundle ready to run: its model, verifier and consensus rule.
type loaded struct {
	b     *bundle.Bundle
	model *runtime.Model
	ver   *verify.Verifier
	rule  consensus.Rule
}

// Metrics are the node's counters (read with Node.Metrics; the API serves
// them in Prometheus form).
type Metrics struct {
	JobsSeen, JobsComputed, JobsCoordinated            atomic.Uint64
	JobsDecided, JobsFailed, JobsRecorded, JobsSettled atomic.Uint64
	JobsDisputed, JobsExpired                          atomic.Uint64
	TokensGenerated                                    atomic.Uint64
	ComputeNanos, VerifyNanos                          atomic.Uint64
	Verified, Refuted                                  atomic.Uint64
	BlocksMined, Reorgs, TxSent                        atomic.Uint64
}

// New opens a node's stores and prepares it; Start brings it up.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p, _ := cfg.params()
	key, err := keys.ReadKeyFile(filepath.Join(cfg.DataDir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInitialized, err)
	}
	n := &Node{cfg: cfg, p: p, key: key, pub: key.Public().Bytes(), log: cfg.Logger,
		jobs: map[keys.Hash]*JobRecord{}, watchers: map[keys.Hash]map[chan Update]struct{}{},
		allWatch: map[chan Update]struct{}{}, pending: map[keys.Hash]*pendingMsgs{}, recheck: map[keys.Hash]bool{}, syncing: map[netq.PeerID]bool{},
		models: map[keys.Hash]*loaded{}, fetching: map[keys.Hash]chan struct{}{},
		names: map[string]keys.Hash{}, sigs: map[keys.Hash]*bundleSource{},
		computeQ: make(chan keys.Hash, 4096), sent: map[uint64]*chain.Tx{}}
	ok := false
	defer func() {
		if !ok {
			n.closeStores()
		}
	}()
	n.chain, err = chain.Open(chain.Options{Params: p, Dir: filepath.Join(cfg.DataDir, "chain", p.Name),
		Verifier: resultVerifier{n}, Logger: cfg.Logger.With("component", "chain")})
	if err != nil {
		return nil, err
	}
	n.pool = chain.NewMempool(n.chain, chain.MempoolConfig{})
	db, err := pebble.Open(filepath.Join(cfg.DataDir, "jobs", p.Name), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("node: job store: %w", err)
	}
	n.jobdb = jobDB{db}
	n.bundles = cfg.Bundles
	if n.bundles == nil {
		if n.bundles, err = bundlestore.OpenDir(filepath.Join(cfg.DataDir, "bundles")); err != nil {
			return nil, err
		}
	}
	eng, err := runtime.ParseEngine(cfg.Engine)
	if err != nil {
		return nil, err
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(cfg.DataDir, "cache")
		n.cfg.CacheDir = cfg.CacheDir
	}
	// The kernels' threads per job: jobs run Workers at a time, each on
	// Threads cores (results are bit-identical for any thread count).
	if n.kernels, err = cpu.New(cpu.Options{Threads: cfg.Threads}); err != nil {
		return nil, fmt.Errorf("node: kernels: %w", err)
	}
	n.rt, err = runtime.New(context.Background(), runtime.Config{Engine: eng, CacheDir: cfg.CacheDir, Backend: n.kernels,
		Logger: cfg.Logger.With("component", "runtime")})
	if err != nil {
		return nil, err
	}
	recs, err := n.jobdb.all()
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		n.jobs[r.ID] = r
	}
	services := netq.ServiceVerify | netq.ServiceStore | netq.ServiceChain
	if cfg.Compute {
		services |= netq.ServiceCompute
	}
	n.net, err = netq.New(netq.Config{Key: key, ListenAddr: cfg.Listen, Seeds: cfg.Seeds,
		AddressBook: filepath.Join(cfg.DataDir, "peers.json"), Services: services, Agent: "dnahost/1",
		Height: func() uint64 { return n.chain.Tip().Height }, Logger: cfg.Logger.With("component", "netq")})
	if err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// Start connects to the network and starts the node's loops. It returns
// once the node listens.
func (n *Node) Start(ctx context.Context) error {
	n.ctx, n.cancel = context.WithCancel(ctx)
	n.started = time.Now()
	n.registerNet()
	if err := n.net.Start(n.ctx); err != nil {
		return err
	}
	n.chain.Subscribe(n.onTip)
	n.loop(n.reconcileLoop)
	n.loop(n.syncLoop)
	n.loop(n.announceBundlesLoop)
	if n.cfg.Compute {
		for range n.cfg.Workers {
			n.loop(n.computeLoop)
		}
	}
	if n.cfg.Mine {
		n.loop(n.mineLoop)
	}
	n.log.Info("node started", "id", n.ID().String()[:16], "address", n.Address(n.key.Public().Address()),
		"listen", n.net.Addr().String(), "net", n.p.Name, "height", n.chain.Tip().Height,
		"compute", n.cfg.Compute, "mine", n.cfg.Mine, "jobs", len(n.jobs))
	return nil
}

func (n *Node) loop(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// Close stops the node: loops end, in-flight work is abandoned (it is
// redone from the persisted state at the next start), stores are closed.
func (n *Node) Close() error {
	if n.cancel != nil {
		n.cancel()
	}
	var errs []error
	if n.net != nil {
		errs = append(errs, n.net.Close())
	}
	n.wg.Wait()
	errs = append(errs, n.closeStores())
	return errors.Join(errs...)
}

func (n *Node) closeStores() error {
	var errs []error
	n.modelsMu.Lock()
	for _, l := range n.models {
		errs = append(errs, l.model.Close(context.Background()))
	}
	n.models = map[keys.Hash]*loaded{}
	n.modelsMu.Unlock()
	if n.rt != nil {
		errs = append(errs, n.rt.Close(context.Background()))
		n.rt = nil
	}
	if n.kernels != nil {
		errs = append(errs, n.kernels.Close())
		n.kernels = nil
	}
	if n.jobdb.db != nil {
		errs = append(errs, n.jobdb.db.Close())
		n.jobdb.db = nil
	}
	if n.chain != nil {
		errs = append(errs, n.chain.Close())
		n.chain = nil
	}
	return errors.Join(errs...)
}

// ID is the node's peer ID.
func (n *Node) ID() netq.PeerID { return n.net.ID() }

// Key is the node's public key.
func (n *Node) Key() *keys.PublicKey { return n.key.Public() }

// Account is the node's chain account.
func (n *Node) Account() keys.Address { return n.key.Public().Address() }

// Address prints a chain address for this network.
func (n *Node) Address(a keys.Address) string { return a.Encode(n.p.AddressVersion) }

// Params are the chain parameters.
func (n *Node) Params() *chain.Params { return n.p }

// Chain is the node's chain.
func (n *Node) Chain() *chain.Chain { return n.chain }

// Mempool is the node's mempool.
func (n *Node) Mempool() *chain.Mempool { return n.pool }

// Net is the node's peer-to-peer layer.
func (n *Node) Net() *netq.Node { return n.net }

// Bundles is the node's bundle store.
func (n *Node) Bundles() bundlestore.Store { return n.bundles }

// Metrics are the node's counters.
func (n *Node) Metrics() *Metrics { return &n.metrics }

// Config is the node's configuration, defaults filled in.
func (n *Node) Config() Config { return n.cfg }

// Started is when Start ran.
func (n *Node) Started() time.Time { return n.started }

// Runtime is the node's sandbox runtime.
func (n *Node) Runtime() *runtime.Runtime { return n.rt }
