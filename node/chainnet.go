package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/netq"
)

// Message kinds inside the commitments and results topics (the first
// byte of each gossip payload).
const (
	kindCommit   byte = 1
	kindCertSig  byte = 2
	kindReveal   byte = 3
	kindDecision byte = 4
)

func tagged(kind byte, b []byte) []byte { return append([]byte{kind}, b...) }

// registerNet subscribes the gossip topics and serves requests.
func (n *Node) registerNet() {
	n.net.Subscribe(netq.TopicTransactions, n.validateTx, n.deliverTx)
	n.net.Subscribe(netq.TopicBlocks, n.validateBlock, func(from netq.PeerID, b []byte) {})
	n.net.Subscribe(netq.TopicJobs, n.validateAnnounce, func(_ netq.PeerID, b []byte) { n.onAnnounce(b) })
	n.net.Subscribe(netq.TopicCommitments, nil, func(_ netq.PeerID, b []byte) { n.onJobMessage(b) })
	n.net.Subscribe(netq.TopicResults, nil, func(_ netq.PeerID, b []byte) { n.onJobMessage(b) })
	n.net.Subscribe(netq.TopicBundles, nil, func(from netq.PeerID, b []byte) { n.onBundleAnnounce(from, b) })
	n.net.ServeObjects(objectsOf(n))
	n.net.Handle(netq.KindGetHeaders, func(_ context.Context, _ netq.PeerID, p []byte) (netq.Status, []byte) {
		m, err := chain.DecodeGetHeaders(p)
		if err != nil {
			return netq.StatusBadInput, []byte(err.Error())
		}
		return netq.StatusOK, n.chain.ServeGetHeaders(m).Encode()
	})
	n.net.Handle(netq.KindGetBlocks, func(_ context.Context, _ netq.PeerID, p []byte) (netq.Status, []byte) {
		m, err := chain.DecodeGetBlocks(p)
		if err != nil {
			return netq.StatusBadInput, []byte(err.Error())
		}
		return netq.StatusOK, n.chain.ServeGetBlocks(m).Encode()
	})
	n.net.Handle(netq.KindVerify, n.serveVerify)
}

func (n *Node) validateTx(_ netq.PeerID, b []byte) error {
	tx, err := chain.DecodeTx(b)
	if err != nil {
		return err
	}
	if n.pool.Has(tx.ID()) {
		return nil
	}
	err = n.pool.Add(tx)
	// A transaction that does not apply here yet (its job's escrow not in a
	// block, a nonce gap) is not the relayer's fault; only malformed ones
	// are.
	if chain.CodeOf(err) == chain.ErrBadSignature || chain.CodeOf(err) == chain.ErrEncoding {
		return err
	}
	return nil
}

func (n *Node) deliverTx(netq.PeerID, []byte) {}

func (n *Node) validateBlock(from netq.PeerID, b []byte) error {
	blk, err := chain.DecodeBlock(b, n.p.MaxBlockBytes)
	if err != nil {
		return err
	}
	res, err := n.chain.ProcessBlock(blk)
	if chain.CodeOf(err) == chain.ErrDuplicateBlock {
		return nil
	}
	if err != nil {
		if chain.CodeOf(err) != 0 {
			return err
		}
		n.log.Warn("block not processed", "err", err)
		return nil
	}
	// The relayer holds this block: its height, not the one it said in its
	// Hello, is what syncLoop compares with.
	n.net.SetPeerHeight(from, blk.Header.Height)
	if res.Orphan {
		n.requestSync(from)
	}
	return nil
}

// onTip records reorgs for the metrics and nudges the job reconciler.
func (n *Node) onTip(ev chain.TipEvent) {
	if len(ev.Detached) > 0 {
		n.metrics.Reorgs.Add(1)
		n.log.Info("reorganised", "detached", len(ev.Detached), "attached", len(ev.Attached), "height", ev.Tip.Height)
		// Jobs closed since the fork may have been closed by a detached
		// block: the reconciler checks them against the new chain. (Block
		// times and ClosedAt are both wall-clock ms; a minute covers
		// miners' clocks that differ.)
		since := ev.Detached[0].Header.Timestamp
		for _, b := range ev.Detached {
			since = min(since, b.Header.Timestamp)
		}
		since -= time.Minute.Milliseconds()
		n.mu.Lock()
		for id, r := range n.jobs {
			if r.Stage.Final() && r.ClosedAt >= since {
				n.recheck[id] = true
			}
		}
		n.mu.Unlock()
	}
}

// syncPeer adapts a netq peer to chain.SyncPeer.
type syncPeer struct {
	n  *netq.Node
	id netq.PeerID
}

func (s syncPeer) GetHeaders(ctx context.Context, m *chain.GetHeaders) (*chain.Headers, error) {
	b, err := s.n.Request(ctx, s.id, netq.KindGetHeaders, m.Encode())
	if err != nil {
		return nil, err
	}
	return chain.DecodeHeaders(b)
}

func (s syncPeer) GetBlocks(ctx context.Context, m *chain.GetBlocks) (*chain.Blocks, error) {
	b, err := s.n.Request(ctx, s.id, netq.KindGetBlocks, m.Encode())
	if err != nil {
		return nil, err
	}
	return chain.DecodeBlocks(b, chain.MainNet.MaxBlockBytes)
}

// requestSync syncs with a peer that sent a block whose parent is not
// here: one sync per peer at a time (orphans from a peer arrive in bursts,
// and a hostile one must not start a goroutine per block), tracked by wg so
// that Close waits for it.
func (n *Node) requestSync(from netq.PeerID) {
	n.syncMu.Lock()
	if n.syncing[from] {
		n.syncMu.Unlock()
		return
	}
	n.syncing[from] = true
	n.syncMu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			n.syncMu.Lock()
			delete(n.syncing, from)
			n.syncMu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
		defer cancel()
		if _, err := n.chain.Sync(ctx, syncPeer{n.net, from}); err != nil {
			if errors.Is(err, chain.ErrSyncPeer) {
				n.net.Penalize(from, -20, "bad chain data")
			}
			n.log.Debug("sync", "peer", from.String()[:12], "err", err)
		}
	}()
}

// syncLoop catches up with any peer that reports a higher chain.
func (n *Node) syncLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		h := n.chain.Tip().Height
		for _, p := range n.net.Peers() {
			if p.Height > h {
				ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
				_, err := n.chain.Sync(ctx, syncPeer{n.net, p.ID})
				cancel()
				if errors.Is(err, chain.ErrSyncPeer) {
					n.net.Penalize(p.ID, -20, "bad chain data")
				}
				break
			}
		}
	}
}

// mineLoop mines blocks. On devnet, where a block costs no work, it waits
// an exponentially distributed time (mean MineInterval) between blocks so
// that several miners make a chain rather than a storm of forks.
func (n *Node) mineLoop() {
	m := &chain.Miner{Chain: n.chain, Pool: n.pool, To: n.Account(), Threads: n.cfg.MinerThreads,
		Extra: []byte("dnahost"), Refresh: 2 * time.Second}
	dev := n.p.RetargetInterval == 0
	for {
		if dev {
			wait := time.Duration(rand.ExpFloat64() * float64(n.cfg.MineInterval))
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		b, err := m.MineBlock(n.ctx)
		if n.ctx.Err() != nil {
			return
		}
		if err != nil {
			if !errors.Is(err, chain.ErrStale) {
				n.log.Warn("mining", "err", err)
				time.Sleep(time.Second)
			}
			continue
		}
		n.metrics.BlocksMined.Add(1)
		if err := n.net.Publish(netq.TopicBlocks, b.Encode()); err != nil {
			n.log.Warn("publish block", "err", err)
		}
		n.log.Debug("mined", "height", b.Header.Height, "txs", len(b.Txs))
	}
}

// sendTx signs a transaction of the node's account with the next nonce,
// pools and gossips it.
func (n *Node) sendTx(t chain.TxType, job keys.Hash, body chain.TxBody) (*chain.Tx, error) {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	acct, err := n.chain.Account(n.Account())
	if err != nil {
		return nil, err
	}
	nonce := n.pool.NextNonce(n.Account(), acct.Nonce)
	tx := &chain.Tx{Version: chain.TxVersion, Type: t, Nonce: nonce, Fee: n.cfg.Fee, JobID: job, Payload: body.Encode()}
	tx.Sign(n.key, n.chain.GenesisHash())
	if err := n.pool.Add(tx); err != nil {
		return nil, err
	}
	n.metrics.TxSent.Add(1)
	n.sent[nonce] = tx
	if err := n.net.Publish(netq.TopicTransactions, tx.Encode()); err != nil {
		return nil, fmt.Errorf("node: gossip tx: %w", err)
	}
	return tx, nil
}

// releaseDeadTxs keeps the node's account moving. Transactions of an
// account apply in nonce order, and one the chain can no longer take (a
// stake that lost the race for a job's last place, a result or dispute
// whose job ended) would hold every later one back for good: the pool
// drops such a transaction when it is next in line, leaving a gap, and
// keeps the later ones. The chain has no cancel transaction, so the node
// fills the gap, and replaces each of its dead transactions further down
// the line in place, with a filler: a transfer of one base unit to the zero
// address, with the higher fee a replacement needs. A gap left by a
// transaction that may still apply (a result too young, an escrow waiting
// for funds) is filled only after a second, so that the node's own resend
// (next reconciliation) comes first.
func (n *Node) releaseDeadTxs(now time.Time) {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	me := n.Account()
	acct, err := n.chain.Account(me)
	if err != nil {
		return
	}
	for nonce := range n.sent {
		// Kept a while after they are in: a reorganisation may put them
		// back in the pool.
		if nonce+256 < acct.Nonce {
			delete(n.sent, nonce)
		}
	}
	if !n.pool.HasFrom(me) {
		n.gapSince = time.Time{}
		return
	}
	if n.pool.NextNonce(me, acct.Nonce) == acct.Nonce {
		// A gap at the head.
		old := n.sent[acct.Nonce]
		dead := old != nil && n.deadTx(old)
		if !dead {
			if n.gapSince.IsZero() || n.gapNonce != acct.Nonce {
				n.gapSince, n.gapNonce = now, acct.Nonce
				return
			}
			if now.Sub(n.gapSince) < time.Second {
				return
			}
		}
		n.gapSince = time.Time{}
		n.sendFiller(acct.Nonce, old, "a gap")
		return
	}
	n.gapSince = time.Time{}
	if tip := n.chain.Tip().Hash; tip != n.deadScan {
		// Dead transactions further down the line (checked once per tip:
		// only the chain's state and time make a transaction dead).
		n.deadScan = tip
		for nonce, tx := range n.sent {
			if nonce > acct.Nonce && tx.Type != chain.TxTransfer && n.pool.Has(tx.ID()) && n.deadTx(tx) {
				n.sendFiller(nonce, tx, "a dead transaction")
			}
		}
	}
}

// sendFiller pools and gossips a filler transaction at nonce, in place of
// old (nil when unknown). Called with txMu held.
func (n *Node) sendFiller(nonce uint64, old *chain.Tx, what string) {
	fee := n.cfg.Fee
	if old != nil {
		fee = max(fee, old.Fee)
	}
	tx := &chain.Tx{Version: chain.TxVersion, Type: chain.TxTransfer, Nonce: nonce,
		Fee: fee + fee/5 + 1, Payload: (&chain.Transfer{Amount: 1}).Encode()}
	tx.Sign(n.key, n.chain.GenesisHash())
	if err := n.pool.Add(tx); err != nil {
		n.log.Debug("filler transaction", "nonce", nonce, "err", err)
		return
	}
	n.sent[nonce] = tx
	n.metrics.TxSent.Add(1)
	args := []any{"nonce", nonce, "tx", tx.ID().String()[:12]}
	if old != nil {
		args = append(args, "replaces", old.Type.String(), "job", shortHash(old.JobID))
	}
	n.log.Info("filler transaction for "+what, args...)
	if err := n.net.Publish(netq.TopicTransactions, tx.Encode()); err != nil {
		n.log.Debug("gossip tx", "err", err)
	}
}

// deadTx reports a transaction the chain can no longer take whatever comes:
// its job is full, over, or past the time it allowed.
func (n *Node) deadTx(tx *chain.Tx) bool {
	body, err := tx.Body()
	if err != nil {
		return false
	}
	now := n.chain.Tip().MedianTime // the next block's chain time
	cj, err := n.chain.Job(tx.JobID)
	if err != nil {
		if e, ok := body.(*chain.JobEscrow); ok && errors.Is(err, chain.ErrNotFound) {
			return e.Deadline <= now+n.p.MinJobAge.Milliseconds()
		}
		return false
	}
	switch body.(type) {
	case *chain.JobEscrow:
		return true // the job exists: its ID is taken
	case *chain.Stake:
		_, staked := cj.StakeOf(n.Account())
		return staked || cj.State != chain.JobCreated || now >= cj.Deadline
	case *chain.Result:
		return cj.State > chain.JobAccepted || now >= cj.Deadline
	case *chain.Dispute:
		return cj.State != chain.JobCompleted || now >= cj.SettleAt
	}
	return false
}

func shortHash(h keys.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()[:12]
}

// submitTx pools and gossips someone else's signed transaction.
func (n *Node) submitTx(tx *chain.Tx) error {
	if !n.pool.Has(tx.ID()) {
		if err := n.pool.Add(tx); err != nil {
			return err
		}
		if tx.Sender() == n.Account() {
			n.txMu.Lock()
			n.sent[tx.Nonce] = tx
			n.txMu.Unlock()
		}
	}
	return n.net.Publish(netq.TopicTransactions, tx.Encode())
}
