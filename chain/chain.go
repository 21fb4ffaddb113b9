package chain

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dnahost/dnahost/keys"
)

var (
	// ErrWrongNetwork reports a store made for other Params.
	ErrWrongNetwork = errors.New("chain: store belongs to another network")
	// ErrNotFound reports a block, transaction or job the chain does not have.
	ErrNotFound = errors.New("chain: not found")
	// ErrClosed reports use of a closed chain.
	ErrClosed = errors.New("chain: closed")
)

// Options configure a Chain. The zero value of every field but Params and
// Dir means its default.
type Options struct {
	Params *Params
	// Dir holds the pebble store.
	Dir string
	// FS is the file system pebble uses (nil: the OS). Tests pass
	// vfs.NewMem() or a fault-injecting FS.
	FS vfs.FS
	// Verifier judges result certificates and disputes (nil: OpaqueVerifier).
	Verifier ResultVerifier
	// Clock reads the time for the future-timestamp rule (nil: time.Now).
	Clock func() time.Time
	// MaxOrphans bounds blocks kept while their parent is missing (default 64).
	MaxOrphans int
	// CacheBytes is pebble's block cache (default 64 MiB).
	CacheBytes int64
	Logger     *slog.Logger
}

// Validate reports options that cannot be used.
func (o Options) Validate() error {
	if o.Params == nil {
		return errors.New("chain: options need Params")
	}
	if o.Dir == "" {
		return errors.New("chain: options need a Dir")
	}
	if o.Params.RetargetInterval == 1 {
		return errors.New("chain: a retarget interval must be 0 or at least 2")
	}
	return nil
}

// Chain is a node's view of the ledger: the block index, the best chain and
// its state, in pebble. Its methods are safe for concurrent use.
type Chain struct {
	o       Options
	p       *Params
	genesis keys.Hash
	db      *pebble.DB

	mu      sync.RWMutex
	index   map[keys.Hash]*blockNode
	tip     *blockNode
	orphans *orphanPool
	closed  bool

	subMu sync.Mutex
	subs  []func(TipEvent)
	tipCh chan struct{}
}

// TipEvent tells subscribers the tip moved: the blocks detached (newest
// first) and attached (oldest first).
type TipEvent struct {
	Tip      TipInfo
	Detached []*Block
	Attached []*Block
}

// TipInfo summarises the best chain's last block.
type TipInfo struct {
	Hash       keys.Hash
	Height     uint64
	Timestamp  int64
	MedianTime int64 // chain time for the next block
	Bits       uint32
	Work       *big.Int
}

// Open opens (or creates) the chain store.
func Open(o Options) (*Chain, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Verifier == nil {
		o.Verifier = OpaqueVerifier{}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxOrphans == 0 {
		o.MaxOrphans = 64
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	po := &pebble.Options{FS: o.FS, Cache: cache, Logger: pebbleLogger{o.Logger}}
	db, err := pebble.Open(o.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("chain: opening %s: %w", o.Dir, err)
	}
	c := &Chain{o: o, p: o.Params, db: db, index: map[keys.Hash]*blockNode{},
		orphans: newOrphanPool(o.MaxOrphans), tipCh: make(chan struct{})}
	g := o.Params.Genesis()
	c.genesis = g.Hash()
	if err := c.load(g); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// load reads the block index, or writes genesis into an empty store.
func (c *Chain) load(g *Block) error {
	tipHash, ok, err := readValue(c.db, []byte{keyTip})
	if err != nil {
		return err
	}
	if !ok {
		b := c.db.NewBatch()
		n := &blockNode{hash: c.genesis, header: g.Header, work: WorkOf(g.Header.Bits),
			status: statusHaveData | statusValid}
		b.Set(headerKey(n.hash), n.encode(), nil)
		b.Set(bodyKey(n.hash), g.Encode(), nil)
		b.Set(heightKey(0), n.hash[:], nil)
		b.Set(txLocKey(g.Txs[0].ID()), append(n.hash[:], 0, 0, 0, 0), nil)
		b.Set(undoKey(n.hash), encodeUndo(nil), nil)
		b.Set([]byte{keyTip}, n.hash[:], nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
		c.index[n.hash] = n
		c.tip = n
		return nil
	}
	var nodes []*blockNode
	err = pebbleKV{r: c.db}.scan([]byte{prefixHeader}, []byte{prefixHeader + 1}, func(k, v []byte) bool {
		if len(v) != HeaderSize+1 {
			err = fmt.Errorf("%w: header record of %d bytes", errCorrupt, len(v))
			return false
		}
		h, derr := DecodeHeader(v[:HeaderSize])
		if derr != nil {
			err = errors.Join(errCorrupt, derr)
			return false
		}
		n := &blockNode{header: *h, status: nodeStatus(v[HeaderSize])}
		copy(n.hash[:], k[1:])
		nodes = append(nodes, n)
		return true
	})
	if err != nil {
		return err
	}
	if _, ok := c.index[c.genesis]; !ok {
		found := false
		for _, n := range nodes {
			if n.hash == c.genesis {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%w (no %s genesis block)", ErrWrongNetwork, c.p.Name)
		}
	}
	// Link parents in height order so cumulative work accumulates.
	sortNodesByHeight(nodes)
	for _, n := range nodes {
		c.index[n.hash] = n
	}
	for _, n := range nodes {
		if n.height() == 0 {
			if n.hash != c.genesis {
				return fmt.Errorf("%w: a second genesis block", ErrWrongNetwork)
			}
			n.work = WorkOf(n.header.Bits)
			continue
		}
		p := c.index[n.header.PrevHash]
		if p == nil || p.work == nil {
			return fmt.Errorf("%w: header %s without its parent", errCorrupt, n.hash)
		}
		n.parent = p
		n.work = new(big.Int).Add(p.work, WorkOf(n.header.Bits))
	}
	var th keys.Hash
	copy(th[:], tipHash)
	c.tip = c.index[th]
	if c.tip == nil {
		return fmt.Errorf("%w: tip %s not in the index", errCorrupt, th)
	}
	// A block that makes another branch heavier is stored, then the switch
	// to it committed: a crash between the two leaves the tip short of the
	// best branch the store has. Finish the switch.
	if best := c.bestCandidate(); best != nil && best.work.Cmp(c.tip.work) > 0 {
		if _, err := c.reorganize(best); err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				return err
			}
			c.o.Logger.Info("stored branch rejected on opening", "err", err)
		}
	}
	return nil
}

// Close closes the store.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.db.Close()
}

// Params are the chain's parameters.
func (c *Chain) Params() *Params { return c.p }

// GenesisHash is the network's genesis block hash.
func (c *Chain) GenesisHash() keys.Hash { return c.genesis }

// Tip describes the best chain's last block.
func (c *Chain) Tip() TipInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tipInfo(c.tip)
}

func (c *Chain) tipInfo(n *blockNode) TipInfo {
	return TipInfo{Hash: n.hash, Height: n.height(), Timestamp: n.header.Timestamp,
		MedianTime: n.medianTimePast(c.p.MedianTimeBlocks), Bits: n.header.Bits, Work: new(big.Int).Set(n.work)}
}

// TipChanged returns a channel closed the next time the tip moves.
func (c *Chain) TipChanged() <-chan struct{} {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	return c.tipCh
}

// Subscribe calls fn after every tip change, in order, outside the chain's
// lock (fn may query the chain).
func (c *Chain) Subscribe(fn func(TipEvent)) {
	c.subMu.Lock()
	c.subs = append(c.subs, fn)
	c.subMu.Unlock()
}

func (c *Chain) notify(ev TipEvent) {
	c.subMu.Lock()
	close(c.tipCh)
	c.tipCh = make(chan struct{})
	subs := append([]func(TipEvent){}, c.subs...)
	c.subMu.Unlock()
	for _, fn := range subs {
		fn(ev)
	}
}

// ProcessResult says what became of a block.
type ProcessResult struct {
	Hash      keys.Hash
	Height    uint64
	Orphan    bool // parent unknown: kept until it arrives
	MainChain bool // the block is on the best chain now
	Reorg     bool // the best chain switched branches
	Detached  int
	Attached  int
}

// ProcessBlock validates a block and, if it makes the best chain, connects
// it (or reorganises to its branch). A block breaking a rule returns a
// *RuleError and is remembered as invalid.
func (c *Chain) ProcessBlock(b *Block) (*ProcessResult, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	res, ev, err := c.processBlock(b)
	var events []TipEvent
	if ev != nil {
		events = append(events, *ev)
	}
	if err == nil && !res.Orphan {
		events = append(events, c.processOrphans(res.Hash)...)
	}
	c.mu.Unlock()
	for _, ev := range events {
		c.notify(ev)
	}
	return res, err
}

func (c *Chain) processBlock(b *Block) (*ProcessResult, *TipEvent, error) {
	hash := b.Hash()
	res := &ProcessResult{Hash: hash, Height: b.Header.Height}
	if n := c.index[hash]; n != nil {
		if n.status&statusInvalid != 0 {
			return res, nil, ruleErr(ErrInvalidAncestor, "block %s is known invalid", hash.String()[:16])
		}
		if n.status&statusHaveData != 0 {
			return res, nil, ruleErr(ErrDuplicateBlock, "block %s already known", hash.String()[:16])
		}
	}
	if c.orphans.has(hash) {
		return res, nil, ruleErr(ErrDuplicateBlock, "block %s already an orphan", hash.String()[:16])
	}
	if err := CheckBlockSanity(b, c.p, c.genesis, c.o.Clock()); err != nil {
		return res, nil, err
	}
	parent := c.index[b.Header.PrevHash]
	if parent == nil {
		c.orphans.add(hash, b)
		res.Orphan = true
		return res, nil, nil
	}
	if parent.status&statusInvalid != 0 {
		return res, nil, ruleErr(ErrInvalidAncestor, "parent %s is invalid", parent.hash.String()[:16])
	}
	if err := c.checkHeaderContext(&b.Header, parent); err != nil {
		return res, nil, err
	}
	n := c.index[hash]
	if n == nil {
		n = &blockNode{hash: hash, header: b.Header, parent: parent,
			work: new(big.Int).Add(parent.work, WorkOf(b.Header.Bits))}
	}
	n.status |= statusHaveData
	store := c.db.NewBatch()
	store.Set(headerKey(hash), n.encode(), nil)
	store.Set(bodyKey(hash), b.Encode(), nil)

	if parent == c.tip {
		// The common case: extend the best chain, in one synced batch with
		// the block itself.
		batch := c.db.NewIndexedBatch()
		defer batch.Close()
		if err := batch.Apply(store, nil); err != nil {
			return res, nil, err
		}
		store.Close()
		if err := c.connect(batch, n, b); err != nil {
			return res, nil, c.rejectBlock(n, err)
		}
		if err := batch.Commit(pebble.Sync); err != nil {
			return res, nil, err
		}
		c.index[hash] = n
		n.status |= statusValid
		c.tip = n
		res.MainChain, res.Attached = true, 1
		return res, &TipEvent{Tip: c.tipInfo(n), Attached: []*Block{b}}, nil
	}
	if err := store.Commit(pebble.Sync); err != nil {
		return res, nil, err
	}
	c.index[hash] = n
	if n.work.Cmp(c.tip.work) <= 0 {
		return res, nil, nil // a side chain, kept in case it grows
	}
	ev, err := c.reorganize(n)
	if err != nil {
		return res, nil, err
	}
	res.MainChain = c.tip == n
	res.Reorg = len(ev.Detached) > 0
	res.Detached, res.Attached = len(ev.Detached), len(ev.Attached)
	return res, ev, nil
}

// rejectBlock marks a block invalid (persistently, so it is never
// connected again) and returns the rule error.
func (c *Chain) rejectBlock(n *blockNode, err error) error {
	var re *RuleError
	if !errors.As(err, &re) {
		return err // an I/O failure says nothing about the block
	}
	n.status |= statusInvalid
	c.index[n.hash] = n
	b := c.db.NewBatch()
	b.Set(headerKey(n.hash), n.encode(), nil)
	if werr := b.Commit(pebble.Sync); werr != nil {
		return errors.Join(err, werr)
	}
	c.o.Logger.Info("block rejected", "hash", n.hash.String()[:16], "height", n.height(), "err", err)
	return err
}

// checkHeaderContext applies the rules that need the parent: height,
// target, and a timestamp after the median time past.
func (c *Chain) checkHeaderContext(h *Header, parent *blockNode) error {
	if h.Height != parent.height()+1 {
		return ruleErr(ErrBadHeight, "height %d after %d", h.Height, parent.height())
	}
	if want := c.expectedBits(parent); h.Bits != want {
		return ruleErr(ErrBadBits, "target %08x, expected %08x", h.Bits, want)
	}
	if mtp := parent.medianTimePast(c.p.MedianTimeBlocks); h.Timestamp <= mtp {
		return ruleErr(ErrTimeTooOld, "timestamp %d not after the median time past %d", h.Timestamp, mtp)
	}
	return nil
}

// expectedBits is the target of the block after parent.
func (c *Chain) expectedBits(parent *blockNode) uint32 {
	height := parent.height() + 1
	if c.p.RetargetInterval == 0 || height%c.p.RetargetInterval != 0 {
		if c.p.RetargetInterval == 0 {
			return c.p.PowLimitBits
		}
		return parent.header.Bits
	}
	first := parent.ancestor(height - c.p.RetargetInterval)
	return nextBits(c.p, height, parent.header.Bits, first.header.Timestamp, parent.header.Timestamp)
}

// NextBits is the target the next block on the tip must carry.
func (c *Chain) NextBits() uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.expectedBits(c.tip)
}

// connect applies block n to the state in batch, with its undo log and
// index entries.
func (c *Chain) connect(batch *pebble.Batch, n *blockNode, b *Block) error {
	kv := pebbleKV{r: batch, w: batch}
	sw := newStateWriter(kv)
	bc := blockContext{p: c.p, height: n.height(), time: n.parent.medianTimePast(c.p.MedianTimeBlocks), verifier: c.o.Verifier}
	if err := connectState(sw, b, bc); err != nil {
		return err
	}
	batch.Set(undoKey(n.hash), encodeUndo(sw.undo), nil)
	batch.Set(heightKey(n.height()), n.hash[:], nil)
	for i, tx := range b.Txs {
		var loc [36]byte
		copy(loc[:], n.hash[:])
		loc[32], loc[33], loc[34], loc[35] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		batch.Set(txLocKey(tx.ID()), loc[:], nil)
	}
	n.status |= statusValid
	batch.Set(headerKey(n.hash), n.encode(), nil)
	batch.Set([]byte{keyTip}, n.hash[:], nil)
	if checkEveryBlock {
		if err := checkInvariants(kv); err != nil {
			panic(fmt.Sprintf("chain: invariant broken after block %d: %v", n.height(), err))
		}
	}
	return nil
}

// disconnect reverts block n (the tip of the state in batch).
func (c *Chain) disconnect(batch *pebble.Batch, n *blockNode, b *Block) error {
	raw, ok, err := readValue(batch, undoKey(n.hash))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: no undo log for main-chain block %s", errCorrupt, n.hash)
	}
	undo, err := decodeUndo(raw)
	if err != nil {
		return err
	}
	if err := applyUndo(pebbleKV{r: batch, w: batch}, undo); err != nil {
		return err
	}
	batch.Delete(undoKey(n.hash), nil)
	batch.Delete(heightKey(n.height()), nil)
	for _, tx := range b.Txs {
		batch.Delete(txLocKey(tx.ID()), nil)
	}
	batch.Set([]byte{keyTip}, n.parent.hash[:], nil)
	return nil
}

func (c *Chain) loadBlock(r pebble.Reader, hash keys.Hash) (*Block, error) {
	raw, ok, err := readValue(r, bodyKey(hash))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: block %s", ErrNotFound, hash)
	}
	b, err := DecodeBlock(raw, 1<<62)
	if err != nil {
		return nil, errors.Join(errCorrupt, err)
	}
	return b, nil
}

// reorganize switches the best chain to end at target, if every block on
// its branch connects: the plan (fork point, blocks to detach and attach)
// is checked in one indexed batch on top of the current state and
// committed atomically. If a block fails, it and its descendants are
// marked invalid and the best remaining branch is tried.
func (c *Chain) reorganize(target *blockNode) (*TipEvent, error) {
	var firstErr error
	for target != nil && target.work.Cmp(c.tip.work) > 0 {
		ev, bad, err := c.tryReorg(target)
		if err == nil {
			return ev, firstErr
		}
		if bad == nil {
			return nil, err // storage failure: nothing was changed
		}
		if firstErr == nil {
			firstErr = err
		}
		c.markInvalid(bad)
		target = c.bestCandidate()
	}
	return &TipEvent{Tip: c.tipInfo(c.tip)}, firstErr
}

// tryReorg attempts one plan. On a rule failure it returns the failing
// block.
func (c *Chain) tryReorg(target *blockNode) (*TipEvent, *blockNode, error) {
	fork := forkPoint(c.tip, target)
	var detach, attach []*blockNode
	for n := c.tip; n != fork; n = n.parent {
		detach = append(detach, n)
	}
	for n := target; n != fork; n = n.parent {
		attach = append([]*blockNode{n}, attach...)
	}
	batch := c.db.NewIndexedBatch()
	defer batch.Close()
	ev := &TipEvent{}
	for _, n := range detach {
		b, err := c.loadBlock(batch, n.hash)
		if err != nil {
			return nil, nil, err
		}
		if err := c.disconnect(batch, n, b); err != nil {
			return nil, nil, err
		}
		ev.Detached = append(ev.Detached, b)
	}
	for _, n := range attach {
		b, err := c.loadBlock(batch, n.hash)
		if err != nil {
			return nil, nil, err
		}
		if err := c.connect(batch, n, b); err != nil {
			var re *RuleError
			if errors.As(err, &re) {
				return nil, n, err
			}
			return nil, nil, err
		}
		ev.Attached = append(ev.Attached, b)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return nil, nil, err
	}
	for _, n := range attach {
		n.status |= statusValid
	}
	c.tip = target
	ev.Tip = c.tipInfo(target)
	if len(detach) > 0 {
		c.o.Logger.Info("reorganised", "fork", fork.height(), "detached", len(detach), "attached", len(attach),
			"tip", target.hash.String()[:16])
	}
	return ev, nil, nil
}

// markInvalid flags n and every indexed descendant invalid.
func (c *Chain) markInvalid(bad *blockNode) {
	b := c.db.NewBatch()
	for _, n := range c.index {
		for it := n; it != nil && it.height() >= bad.height(); it = it.parent {
			if it == bad {
				n.status |= statusInvalid
				b.Set(headerKey(n.hash), n.encode(), nil)
				break
			}
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		c.o.Logger.Error("recording invalid blocks", "err", err)
	}
}

// bestCandidate is the indexed block with the most work whose whole branch
// has data and none of it is invalid.
func (c *Chain) bestCandidate() *blockNode {
	var best *blockNode
	for _, n := range c.index {
		if best != nil && n.work.Cmp(best.work) <= 0 {
			continue
		}
		ok := true
		for it := n; it != nil && it.status&statusValid == 0; it = it.parent {
			if it.status&statusInvalid != 0 || it.status&statusHaveData == 0 {
				ok = false
				break
			}
		}
		if ok && n.status&statusInvalid == 0 {
			best = n
		}
	}
	return best
}

// processOrphans connects orphans waiting for hash, recursively.
func (c *Chain) processOrphans(hash keys.Hash) []TipEvent {
	var events []TipEvent
	queue := []keys.Hash{hash}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, b := range c.orphans.children(h) {
			res, ev, err := c.processBlock(b)
			if err != nil {
				c.o.Logger.Debug("orphan rejected", "hash", res.Hash.String()[:16], "err", err)
				continue
			}
			if ev != nil {
				events = append(events, *ev)
			}
			queue = append(queue, res.Hash)
		}
	}
	return events
}

// pebbleLogger sends pebble's logs to the chain's logger.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any)  { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Error(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf("pebble: "+format, args...))
}
