package chain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
	"github.com/dnahost/dnahost/keys"
)

func TestMempool(t *testing.T) {
	e := chaintest.Open(t, nil)
	e.MineN(chaintest.Addr("alice"), 2)
	e.MineN(chaintest.Addr("bob"), 1)
	pool := chain.NewMempool(e.Chain, chain.MempoolConfig{})
	carol := chaintest.Addr("carol")

	alice := e.NewSigner("alice", 2000)
	a0, a1, a2 := alice.Transfer(carol, 1), alice.Transfer(carol, 2), alice.Transfer(carol, 3)
	for _, tx := range []*chain.Tx{a0, a1} {
		if err := pool.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := pool.Add(a0); !errors.Is(err, chain.ErrKnownTx) {
		t.Fatalf("duplicate: %v", err)
	}
	// A gap is refused; the next nonce is accepted.
	gap := e.NewSigner("alice", 2000)
	gap.Nonce = 5
	if err := pool.Add(gap.Transfer(carol, 1)); !errors.Is(err, chain.ErrNonceGap) {
		t.Fatalf("gap: %v", err)
	}
	if err := pool.Add(a2); err != nil {
		t.Fatal(err)
	}
	// Fee below the floor.
	cheap := e.NewSigner("bob", 1)
	if err := pool.Add(cheap.Transfer(carol, 1)); !errors.Is(err, chain.ErrFeeTooLow) {
		t.Fatalf("cheap: %v", err)
	}
	// Replacement needs 10% more fee.
	re := e.NewSigner("alice", 2100)
	re.Nonce = 1
	if err := pool.Add(re.Transfer(carol, 9)); !errors.Is(err, chain.ErrReplacementFee) {
		t.Fatalf("weak replacement: %v", err)
	}
	re = e.NewSigner("alice", 5000)
	re.Nonce = 1
	replacement := re.Transfer(carol, 9)
	if err := pool.Add(replacement); err != nil || pool.Has(a1.ID()) || !pool.Has(replacement.ID()) {
		t.Fatalf("replacement: %v", err)
	}
	// More than the balance across pending transactions.
	rich := e.NewSigner("bob", 2000)
	if err := pool.Add(rich.Transfer(carol, 49*chain.Coin)); err != nil {
		t.Fatal(err)
	}
	if err := pool.Add(rich.Transfer(carol, 2*chain.Coin)); chain.CodeOf(err) != chain.ErrInsufficientFunds {
		t.Fatalf("overspend: %v", err)
	}

	// Selection: the highest fee rate first, each sender in nonce order.
	sel := pool.Select(1<<20, 100)
	if len(sel) != 4 {
		t.Fatalf("selected %d", len(sel))
	}
	var aliceNonces []uint64
	for _, tx := range sel {
		if tx.Sender() == alice.Address() {
			aliceNonces = append(aliceNonces, tx.Nonce)
		}
	}
	if len(aliceNonces) != 3 || aliceNonces[0] != 0 || aliceNonces[1] != 1 || aliceNonces[2] != 2 {
		t.Fatalf("alice's order %v", aliceNonces)
	}

	// Mining the selection empties the pool.
	e.Mine(chaintest.Addr("miner"), sel...)
	if pool.Len() != 0 {
		t.Fatalf("%d left after mining", pool.Len())
	}
}

// A full pool evicts the lowest fee rate, and refuses what pays less than
// everything in it.
func TestMempoolEviction(t *testing.T) {
	e := chaintest.Open(t, nil)
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		e.MineN(chaintest.Addr(n), 1)
	}
	one := e.NewSigner("a", 2000).Transfer(chaintest.Addr("z"), 1)
	size := len(one.Encode())
	pool := chain.NewMempool(e.Chain, chain.MempoolConfig{MaxBytes: 3 * size})
	low := e.NewSigner("a", 1000).Transfer(chaintest.Addr("z"), 1)
	mid := e.NewSigner("b", 2000).Transfer(chaintest.Addr("z"), 1)
	high := e.NewSigner("c", 3000).Transfer(chaintest.Addr("z"), 1)
	for _, tx := range []*chain.Tx{low, mid, high} {
		if err := pool.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	top := e.NewSigner("d", 4000).Transfer(chaintest.Addr("z"), 1)
	if err := pool.Add(top); err != nil {
		t.Fatal(err)
	}
	if pool.Has(low.ID()) || !pool.Has(top.ID()) || pool.Len() != 3 {
		t.Fatal("the lowest fee rate was not evicted")
	}
	poor := e.NewSigner("a", 1000).Transfer(chaintest.Addr("z"), 1)
	if err := pool.Add(poor); !errors.Is(err, chain.ErrMempoolFull) {
		t.Fatalf("poor: %v", err)
	}
}

// Transactions of a detached block return to the pool; those the new
// branch confirmed leave it.
func TestMempoolFollowsReorg(t *testing.T) {
	a := chaintest.Open(t, nil)
	a.MineN(chaintest.Addr("alice"), 2)
	b := chaintest.Open(t, nil)
	b.Clock.Set(a.Clock.Now())
	b.Replay(a.Chain, 1, a.Chain.Tip().Height)
	pool := chain.NewMempool(a.Chain, chain.MempoolConfig{})

	s := a.NewSigner("alice", 2000)
	t0, t1 := s.Transfer(chaintest.Addr("x"), 5), s.Transfer(chaintest.Addr("x"), 6)
	a.Mine(chaintest.Addr("m"), t0, t1) // a: both confirmed
	if err := pool.Add(t0); err == nil {
		t.Fatal("a confirmed transaction was pooled")
	}
	// b's branch confirms only t0 and is longer: t1 must come back.
	b.Mine(chaintest.Addr("m"), t0)
	b.Mine(chaintest.Addr("m"))
	a.Clock.Set(b.Clock.Now())
	for h := uint64(3); h <= b.Chain.Tip().Height; h++ {
		blk, _ := b.Chain.BlockByHeight(h)
		if _, err := a.Chain.ProcessBlock(blk); err != nil {
			t.Fatal(err)
		}
	}
	if !pool.Has(t1.ID()) || pool.Has(t0.ID()) {
		t.Fatalf("after the reorg: t0 pooled %v, t1 pooled %v", pool.Has(t0.ID()), pool.Has(t1.ID()))
	}
}

// A stake that lost the race for a job's last place is dropped when the
// job fills, so it does not block its sender's later transactions.
func TestMempoolDropsDeadHead(t *testing.T) {
	e := chaintest.Open(t, nil)
	e.MineN(chaintest.Addr("client"), 2)
	e.MineN(chaintest.Addr("n1"), 1)
	e.MineN(chaintest.Addr("n2"), 1)
	pool := chain.NewMempool(e.Chain, chain.MempoolConfig{})
	client, n1, n2 := e.NewSigner("client", 2000), e.NewSigner("n1", 2000), e.NewSigner("n2", 2000)
	id := keys.SHA256([]byte("race"))
	deadline := e.Chain.MedianTimePast() + time.Minute.Milliseconds()
	e.Mine(chaintest.Addr("client"), client.Escrow(id, chain.JobEscrow{BundleRoot: keys.SHA256([]byte("b")), Reward: chain.Coin,
		Replication: 1, MinStake: 10, Deadline: deadline}))
	lost := n2.Stake(id, 10)
	if err := pool.Add(lost); err != nil {
		t.Fatal(err)
	}
	e.Mine(chaintest.Addr("client"), n1.Stake(id, 10)) // n1 takes the only place
	if pool.Has(lost.ID()) {
		t.Fatal("the losing stake is still pooled")
	}
	acc, _ := e.Chain.Account(n2.Address())
	if got := pool.NextNonce(n2.Address(), acc.Nonce); got != acc.Nonce {
		t.Fatalf("next nonce %d, want %d", got, acc.Nonce)
	}
	n2.Nonce = acc.Nonce
	if err := pool.Add(n2.Transfer(chaintest.Addr("carol"), 1)); err != nil {
		t.Fatalf("a later transaction: %v", err)
	}
}
