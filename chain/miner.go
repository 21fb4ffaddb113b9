package chain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnahost/dnahost/keys"
)

// NewBlockTemplate builds an unsolved block on the tip: a coinbase paying
// to (subsidy plus the fees of the transactions that apply), then those of
// txs that apply in order to the tip's state, within the size limits.
// Transactions that fail are left out, not reported.
func (c *Chain) NewBlockTemplate(to keys.Address, txs []*Tx, extra []byte) (*Block, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	tip := c.tip
	height := tip.height() + 1
	mtp := tip.medianTimePast(c.p.MedianTimeBlocks)
	ts := max(c.o.Clock().UnixMilli(), mtp+1)
	bc := blockContext{p: c.p, height: height, time: mtp, verifier: c.o.Verifier}

	batch := c.db.NewIndexedBatch()
	defer batch.Close()
	kv := pebbleKV{r: batch, w: batch}
	if err := settleDue(newStateWriter(kv), bc); err != nil {
		return nil, err
	}
	cb := &Coinbase{Height: height, To: to, Extra: extra}
	size := HeaderSize + 4 + 4 + len((&Tx{Version: TxVersion, Type: TxCoinbase, Payload: cb.Encode()}).Encode()) + 16
	var included []*Tx
	var fees uint64
	for _, tx := range txs {
		if len(included)+1 >= c.p.MaxBlockTxs {
			break
		}
		n := len(tx.Encode()) + 4
		if size+n > c.p.MaxBlockBytes {
			continue
		}
		// A transaction that fails is rolled back by its own undo log.
		tsw := newStateWriter(kv)
		fee, err := applyTx(tsw, tx, bc)
		if err != nil {
			if uerr := applyUndo(kv, tsw.undo); uerr != nil {
				return nil, uerr
			}
			continue
		}
		included = append(included, tx)
		fees += fee
		size += n
	}
	cb.Amount = c.p.Subsidy(height) + fees
	b := &Block{Header: Header{Version: BlockVersion, Height: height, PrevHash: tip.hash, Timestamp: ts,
		Bits: c.expectedBits(tip)}}
	b.Txs = append([]*Tx{{Version: TxVersion, Type: TxCoinbase, Payload: cb.Encode()}}, included...)
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	return b, nil
}

// ErrStale reports a search abandoned because the tip moved.
var ErrStale = errors.New("chain: tip moved while mining")

// Solve searches nonces for h on threads goroutines (0: every core) until
// the hash meets the target, ctx ends, or stop is closed.
func Solve(ctx context.Context, h *Header, threads int, stop <-chan struct{}) (bool, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	target := CompactToBig(h.Bits)
	var tb [32]byte
	target.FillBytes(tb[:])
	prefix := h.Encode()[:HeaderSize-8]
	var found atomic.Bool
	var winner atomic.Uint64
	var wg sync.WaitGroup
	start := h.Nonce
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, HeaderSize)
			copy(buf, prefix)
			for nonce, i := start+uint64(w), 0; ; nonce, i = nonce+uint64(threads), i+1 {
				if i&0x3fff == 0 {
					if found.Load() || ctx.Err() != nil || closed(stop) {
						return
					}
				}
				binary.LittleEndian.PutUint64(buf[HeaderSize-8:], nonce)
				first := sha256.Sum256(buf)
				hash := sha256.Sum256(first[:])
				if !aboveTarget(hash, tb) {
					if found.CompareAndSwap(false, true) {
						winner.Store(nonce)
					}
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if found.Load() {
		h.Nonce = winner.Load()
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return false, ErrStale
}

func aboveTarget(hash [32]byte, target [32]byte) bool {
	for i := range hash {
		if hash[i] != target[i] {
			return hash[i] > target[i]
		}
	}
	return false
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Miner mines blocks on a chain's tip from a mempool's transactions,
// starting over whenever the tip moves.
type Miner struct {
	Chain   *Chain
	Pool    *Mempool // nil: empty blocks
	To      keys.Address
	Threads int    // 0: every core
	Extra   []byte // coinbase tag
	// Refresh rebuilds the template this often to take in new
	// transactions and time (default 10 s).
	Refresh time.Duration
}

// MineBlock mines and processes one block.
func (m *Miner) MineBlock(ctx context.Context) (*Block, error) {
	refresh := m.Refresh
	if refresh == 0 {
		refresh = 10 * time.Second
	}
	for {
		stop := m.Chain.TipChanged()
		var txs []*Tx
		if m.Pool != nil {
			txs = m.Pool.Select(m.Chain.p.MaxBlockBytes, m.Chain.p.MaxBlockTxs)
		}
		b, err := m.Chain.NewBlockTemplate(m.To, txs, m.Extra)
		if err != nil {
			return nil, err
		}
		tctx, cancel := context.WithTimeout(ctx, refresh)
		ok, _ := Solve(tctx, &b.Header, m.Threads, stop)
		cancel()
		if ok {
			if _, err := m.Chain.ProcessBlock(b); err != nil {
				if CodeOf(err) == ErrTimeTooOld || CodeOf(err) == ErrBadBits {
					continue // raced with a new tip
				}
				return nil, err
			}
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// Stale or refreshed: build again on the new tip or clock.
	}
}

// Run mines until ctx ends.
func (m *Miner) Run(ctx context.Context) error {
	for {
		if _, err := m.MineBlock(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// CheckTx reports whether a transaction would apply on the tip now: its
// sanity, then its contextual rules against the state (nothing is
// written). Pending transactions of the same sender are not considered.
func (c *Chain) CheckTx(tx *Tx) error {
	if tx.Type == TxCoinbase {
		return ruleErr(ErrMultipleCoinbase, "a coinbase outside a block")
	}
	if err := CheckTxSanity(tx, c.p, c.genesis); err != nil {
		return err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	batch := c.db.NewIndexedBatch()
	defer batch.Close()
	kv := pebbleKV{r: batch, w: batch}
	bc := blockContext{p: c.p, height: c.tip.height() + 1, time: c.tip.medianTimePast(c.p.MedianTimeBlocks), verifier: c.o.Verifier}
	if err := settleDue(newStateWriter(kv), bc); err != nil {
		return err
	}
	_, err := applyTx(newStateWriter(kv), tx, bc)
	return err
}
