package chain

import (
	"runtime"
	"sync"
	"time"

	"github.com/dnahost/dnahost/keys"
)

// CheckHeaderSanity applies the header rules that need no context: version,
// proof of work, and a timestamp not too far past now.
func CheckHeaderSanity(h *Header, p *Params, now time.Time) error {
	if h.Version != BlockVersion {
		return ruleErr(ErrBadVersion, "block version %d", h.Version)
	}
	if err := CheckProofOfWork(h, p); err != nil {
		return err
	}
	if limit := now.Add(p.MaxFutureTime).UnixMilli(); h.Timestamp > limit {
		return ruleErr(ErrTimeTooNew, "timestamp %d more than %v ahead of the clock", h.Timestamp, p.MaxFutureTime)
	}
	return nil
}

// CheckBlockSanity applies every rule that needs only the block itself:
// the header's, sizes, the coinbase first and only first and at the
// block's height, no duplicate transactions, the Merkle root, and each
// transaction's sanity including its signature (checked in parallel).
func CheckBlockSanity(b *Block, p *Params, genesis keys.Hash, now time.Time) error {
	if err := CheckHeaderSanity(&b.Header, p, now); err != nil {
		return err
	}
	if len(b.Txs) == 0 {
		return ruleErr(ErrNoCoinbase, "block without transactions")
	}
	if len(b.Txs) > p.MaxBlockTxs {
		return ruleErr(ErrBlockTooBig, "%d transactions, limit %d", len(b.Txs), p.MaxBlockTxs)
	}
	if size := len(b.Encode()); size > p.MaxBlockBytes {
		return ruleErr(ErrBlockTooBig, "block of %d bytes, limit %d", size, p.MaxBlockBytes)
	}
	if b.Txs[0].Type != TxCoinbase {
		return ruleErr(ErrNoCoinbase, "first transaction is a %s", b.Txs[0].Type)
	}
	for _, tx := range b.Txs[1:] {
		if tx.Type == TxCoinbase {
			return ruleErr(ErrMultipleCoinbase, "a second coinbase")
		}
	}
	cb, err := DecodeCoinbase(b.Txs[0].Payload)
	if err != nil {
		return err
	}
	if cb.Height != b.Header.Height {
		return ruleErr(ErrBadCoinbaseHeight, "coinbase height %d in block %d", cb.Height, b.Header.Height)
	}
	ids := b.TxIDs()
	seen := make(map[keys.Hash]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return ruleErr(ErrDuplicateTx, "transaction %s twice", id.String()[:16])
		}
		seen[id] = true
	}
	if merkleRootOf(ids) != b.Header.MerkleRoot {
		return ruleErr(ErrBadMerkleRoot, "merkle root does not match the transactions")
	}
	return checkTxsParallel(b.Txs, p, genesis)
}

// checkTxsParallel runs CheckTxSanity on every core; the error reported is
// the first in block order, so the result does not depend on scheduling.
func checkTxsParallel(txs []*Tx, p *Params, genesis keys.Hash) error {
	errs := make([]error, len(txs))
	workers := min(runtime.GOMAXPROCS(0), (len(txs)+63)/64)
	if workers <= 1 {
		for _, tx := range txs {
			if err := CheckTxSanity(tx, p, genesis); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	next := make(chan int, len(txs))
	for i := range txs {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = CheckTxSanity(txs[i], p, genesis)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
