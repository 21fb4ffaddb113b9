package chain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
)

// The miner takes the pool's transactions, and abandons its search when
// another block takes the tip.
func TestMiner(t *testing.T) {
	e := chaintest.Open(t, nil)
	e.MineN(chaintest.Addr("alice"), 1)
	pool := chain.NewMempool(e.Chain, chain.MempoolConfig{})
	tx := e.NewSigner("alice", 2000).Transfer(chaintest.Addr("bob"), 42)
	if err := pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	m := &chain.Miner{Chain: e.Chain, Pool: pool, To: chaintest.Addr("miner")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.Clock.Advance(time.Second)
	b, err := m.MineBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Txs) != 2 || b.Txs[1].ID() != tx.ID() || pool.Len() != 0 {
		t.Fatalf("mined %d transactions, pool %d", len(b.Txs), pool.Len())
	}
	if acc, _ := e.Chain.Account(chaintest.Addr("miner")); acc.Balance != 50*chain.Coin+2000 {
		t.Fatalf("miner got %d", acc.Balance)
	}
}

// Solve gives up when the stop channel closes (a new tip) and honours ctx.
func TestSolveStops(t *testing.T) {
	h := &chain.Header{Version: chain.BlockVersion, Bits: 0x03000001} // target 1: never found
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := chain.Solve(context.Background(), h, 2, stop)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	select {
	case err := <-done:
		if !errors.Is(err, chain.ErrStale) {
			t.Fatalf("stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Solve ignored the new tip")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if ok, err := chain.Solve(ctx, h, 0, nil); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx: %v %v", ok, err)
	}
}

// Solve on every core finds the mainnet genesis nonce (about 65,000
// hashes), and its solution verifies.
func TestSolveFindsBlocks(t *testing.T) {
	h := chain.MainNet.Genesis().Header
	h.Nonce = 0
	ok, err := chain.Solve(context.Background(), &h, 0, nil)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := chain.CheckProofOfWork(&h, &chain.MainNet); err != nil {
		t.Fatal(err)
	}
}
