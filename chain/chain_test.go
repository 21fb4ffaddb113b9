package chain_test

import (
	"testing"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
)

func TestMineAndTransfer(t *testing.T) {
	e := chaintest.Open(t, nil)
	alice, bob := chaintest.Addr("alice"), chaintest.Addr("bob")
	e.MineN(alice, 5)
	acc, err := e.Chain.Account(alice)
	if err != nil || acc.Balance != 5*50*chain.Coin {
		t.Fatalf("alice %+v %v", acc, err)
	}
	s := e.NewSigner("alice", 1000)
	b := e.Mine(bob, s.Transfer(bob, 7*chain.Coin), s.Transfer(bob, 1))
	if got, _ := e.Chain.Account(bob); got.Balance != 7*chain.Coin+1+50*chain.Coin+2000 {
		t.Fatalf("bob %+v", got)
	}
	if got, _ := e.Chain.Account(alice); got.Balance != 250*chain.Coin-7*chain.Coin-1-2000 || got.Nonce != 2 {
		t.Fatalf("alice %+v", got)
	}
	tx, loc, err := e.Chain.Tx(b.Txs[1].ID())
	if err != nil || loc.Height != 6 || loc.Index != 1 || tx.ID() != b.Txs[1].ID() {
		t.Fatalf("tx lookup %+v %v", loc, err)
	}
	if err := e.Chain.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	d1, _ := e.Chain.StateDigest()
	tip := e.Chain.Tip()
	e.Reopen()
	d2, _ := e.Chain.StateDigest()
	if d1 != d2 || e.Chain.Tip().Hash != tip.Hash {
		t.Fatal("reopened chain differs")
	}
}
