package chain_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
)

// A new node catches up headers first; a node on a shorter fork switches.
func TestSync(t *testing.T) {
	src := chaintest.Open(t, nil)
	w := chaintest.NewWorkload(9, 5)
	w.Fund(src)
	for i := 0; i < 2100; i++ { // more than one Headers message
		if i%10 == 0 {
			w.Step(src)
		} else {
			src.Mine(w.Miner)
		}
	}
	dst := chaintest.Open(t, nil)
	dst.Clock.Set(src.Clock.Now())
	st, err := dst.Chain.Sync(context.Background(), chain.LocalPeer{Chain: src.Chain})
	if err != nil {
		t.Fatal(err)
	}
	if dst.Chain.Tip().Hash != src.Chain.Tip().Hash || dst.Digest() != src.Digest() {
		t.Fatal("synced chain differs")
	}
	if st.Headers != int(src.Chain.Tip().Height) || st.Blocks != st.Headers {
		t.Fatalf("stats %+v at height %d", st, src.Chain.Tip().Height)
	}
	t.Logf("synced %d headers and %d blocks", st.Headers, st.Blocks)

	// dst mines its own short fork; src grows further: the next sync
	// reorganises dst onto src's chain.
	dst.MineN(chaintest.Addr("forker"), 3)
	src.MineN(w.Miner, 6)
	dst.Clock.Set(src.Clock.Now())
	if _, err := dst.Chain.Sync(context.Background(), chain.LocalPeer{Chain: src.Chain}); err != nil {
		t.Fatal(err)
	}
	if dst.Chain.Tip().Hash != src.Chain.Tip().Hash || dst.Digest() != src.Digest() {
		t.Fatal("fork not resolved by sync")
	}
}

// liarPeer serves honest headers but blocks that break a rule.
type liarPeer struct {
	honest chain.LocalPeer
	bad    *chain.Block
}

func (l liarPeer) GetHeaders(ctx context.Context, m *chain.GetHeaders) (*chain.Headers, error) {
	return &chain.Headers{Headers: []*chain.Header{&l.bad.Header}}, nil
}

func (l liarPeer) GetBlocks(ctx context.Context, m *chain.GetBlocks) (*chain.Blocks, error) {
	return &chain.Blocks{Blocks: [][]byte{l.bad.Encode()}}, nil
}

// A peer whose blocks do not match their headers, or break the rules, is
// reported as misbehaving and the chain is unchanged.
func TestSyncFromLiar(t *testing.T) {
	e := chaintest.Open(t, nil)
	e.MineN(chaintest.Addr("m"), 3)
	before := e.Digest()
	// A block whose coinbase overpays: valid header, invalid body.
	tip, _ := e.Chain.HeaderByHash(e.Chain.Tip().Hash)
	e.Clock.Advance(e.Chain.Params().TargetBlockTime)
	bad := chaintest.Child(t, e.Chain.Params(), tip, e.Clock.Now().UnixMilli(), chaintest.Addr("liar"), 1)
	_, err := e.Chain.Sync(context.Background(), liarPeer{bad: bad})
	if !errors.Is(err, chain.ErrSyncPeer) {
		t.Fatalf("sync from a liar: %v", err)
	}
	// The block is remembered as invalid.
	if _, err := e.Chain.ProcessBlock(bad); chain.CodeOf(err) != chain.ErrInvalidAncestor {
		t.Fatalf("the bad block again: %v", err)
	}
	if e.Digest() != before || e.Chain.Tip().Height != 3 {
		t.Fatal("the liar changed the chain")
	}
}
