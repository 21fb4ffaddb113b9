package chain_test

// Chain benchmarks: header validation, a 5,000-transfer block, a reorg of
// depth 100, and pebble's write amplification over 10,000 blocks. Each
// reports its own figures (headers/s, ms/block, tx/s, ms/reorg, write-amp,
// ...) besides ns/op. Setup (solving headers, funding senders, building
// branches, copying stores) runs outside the timer and only under -bench,
// so `go test ./chain/` never pays for it. `make bench` runs them as
//
//	go test -run '^$' -bench 'ProcessHeaders|CheckHeader' ./chain/
//	go test -run '^$' -bench 'Block5000Tx|Reorg100' -benchtime 5x ./chain/
//	go test -run '^$' -bench WriteAmp10000 -benchtime 1x -timeout 60m ./chain/

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
	"github.com/dnahost/dnahost/keys"
)

// benchHeaders solves a devnet branch of n headers on genesis, a block
// spacing apart, and returns them with the time of the last.
func benchHeaders(b *testing.B, n int) ([]*chain.Header, time.Time) {
	b.Helper()
	p := chain.DevNet
	parent := p.Genesis().Header
	miner := chaintest.Addr("bench header miner")
	hs := make([]*chain.Header, 0, n)
	for i := 1; i <= n; i++ {
		ts := p.GenesisTime + int64(i)*p.TargetBlockTime.Milliseconds()
		blk := chaintest.Child(b, &p, &parent, ts, miner, 0)
		h := blk.Header
		hs = append(hs, &h)
		parent = h
	}
	return hs, time.UnixMilli(parent.Timestamp)
}

// BenchmarkProcessHeaders times headers-first sync's first half: 2,000
// solved devnet headers added to a fresh in-memory chain's index in one
// ProcessHeaders call (context-free checks with proof of work, then height,
// target and median-time-past against the parent, and one synced batch).
func BenchmarkProcessHeaders(b *testing.B) {
	const n = 2000
	hs, last := benchHeaders(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := chaintest.OpenMem(b, nil)
		e.Clock.Set(last)
		b.StartTimer()
		added, err := e.Chain.ProcessHeaders(hs)
		b.StopTimer()
		if err != nil || added != n {
			b.Fatalf("added %d of %d headers: %v", added, n, err)
		}
		e.Chain.Close()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "headers/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/header")
}

// BenchmarkCheckHeader times CheckHeaderSanity alone, the context-free
// rules (version, target, proof of work, future timestamp): one header per
// op.
func BenchmarkCheckHeader(b *testing.B) {
	hs, last := benchHeaders(b, 256)
	p := chain.DevNet
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := chain.CheckHeaderSanity(hs[i%len(hs)], &p, last); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "headers/s")
}

// copyStore copies a closed chain's store to a fresh directory (outside
// the timer: the caller stops it).
func copyStore(b *testing.B, src string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "chain")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	return dst
}

// dirSize is the bytes of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkBlock5000Tx times ProcessBlock on a block of 5,000 signed
// transfers (1,000 funded senders, five each, to 5,000 new accounts):
// sanity checks with every signature verified (on GOMAXPROCS goroutines,
// see checkTxsParallel), then the state transition and its synced commit
// on disk. Each op starts from a fresh copy of the on-disk pre-state,
// reopened outside the timer (so pebble's block cache is cold, as on a
// node that has not yet read those accounts). sanity-ms/block is
// CheckBlockSanity alone on the same block, measured separately: the
// signature share of ms/block.
func BenchmarkBlock5000Tx(b *testing.B) {
	const senders, perSender = 1000, 5
	const n = senders * perSender
	e := chaintest.Open(b, nil)
	funder, miner := chaintest.Addr("bench funder"), chaintest.Addr("bench miner")
	e.MineN(funder, 21) // 1,050 coins: a coin to each sender and the fees
	payer := e.NewSigner("bench funder", 1000)
	fund := make([]*chain.Tx, 0, senders)
	names := make([]string, senders)
	for i := range names {
		names[i] = fmt.Sprintf("bench sender %d", i)
		fund = append(fund, payer.Transfer(chaintest.Addr(names[i]), chain.Coin))
	}
	e.Mine(miner, fund...)
	ss := make([]*chaintest.Signer, senders)
	for i, name := range names {
		ss[i] = e.NewSigner(name, 1000)
	}
	txs := make([]*chain.Tx, 0, n)
	for r := range perSender {
		for i, s := range ss {
			var to keys.Address
			binary.BigEndian.PutUint32(to[:], uint32(r*senders+i))
			to[19] = 0xb5
			txs = append(txs, s.Transfer(to, 1000+uint64(i)))
		}
	}
	blk := e.Block(miner, txs...)
	size := len(blk.Encode())
	if err := e.Chain.Close(); err != nil {
		b.Fatal(err)
	}
	p, genesis := e.Chain.Params(), e.Chain.GenesisHash()

	var sanity time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		o := e.Options
		o.Dir = copyStore(b, e.Dir)
		c, err := chain.Open(o)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := chain.CheckBlockSanity(blk, p, genesis, e.Clock.Now()); err != nil {
			b.Fatal(err)
		}
		sanity += time.Since(t0)
		b.StartTimer()
		res, err := c.ProcessBlock(blk)
		b.StopTimer()
		if err != nil || !res.MainChain {
			b.Fatalf("the 5,000-transfer block: %+v %v", res, err)
		}
		c.Close()
		os.RemoveAll(o.Dir)
	}
	el := b.Elapsed().Seconds()
	b.ReportMetric(el*1e3/float64(b.N), "ms/block")
	b.ReportMetric(float64(n*b.N)/el, "tx/s")
	b.ReportMetric(sanity.Seconds()*1e3/float64(b.N), "sanity-ms/block")
	b.ReportMetric(float64(size), "block-bytes")
}

// BenchmarkReorg100 times the ProcessBlock call that switches branches: the
// chain's best branch has 100 workload blocks (transfers, jobs, stakes,
// results, disputes) after the fork, a side branch 100 others; the side
// branch's 101st block gives it more work, and the chain disconnects 100
// blocks and connects 101 in one synced batch. Each op starts from a fresh
// on-disk copy of that state.
func BenchmarkReorg100(b *testing.B) {
	const depth = 100
	a := chaintest.Open(b, nil)
	common := chaintest.NewWorkload(1, 6)
	common.Fund(a)
	for range 20 {
		common.Step(a)
	}
	fork := a.Chain.Tip().Height
	side := chaintest.Open(b, nil)
	side.Clock.Set(a.Clock.Now())
	side.Replay(a.Chain, 1, fork)
	wa, wb := chaintest.NewWorkload(2, 6), chaintest.NewWorkload(3, 6)
	for range depth {
		wa.Step(a)
	}
	for range depth + 1 {
		wb.Step(side)
	}
	if side.Clock.Now().After(a.Clock.Now()) {
		a.Clock.Set(side.Clock.Now())
	}
	for h := fork + 1; h <= fork+depth; h++ {
		blk, err := side.Chain.BlockByHeight(h)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := a.Chain.ProcessBlock(blk); err != nil || res.MainChain {
			b.Fatalf("side block %d: %+v %v", h, res, err)
		}
	}
	trigger, err := side.Chain.BlockByHeight(fork + depth + 1)
	if err != nil {
		b.Fatal(err)
	}
	txs := 0
	for h := fork + 1; h <= fork+depth; h++ {
		blk, _ := a.Chain.BlockByHeight(h)
		txs += len(blk.Txs)
	}
	for h := fork + 1; h <= fork+depth+1; h++ {
		blk, _ := side.Chain.BlockByHeight(h)
		txs += len(blk.Txs)
	}
	if err := a.Chain.Close(); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		o := a.Options
		o.Dir = copyStore(b, a.Dir)
		c, err := chain.Open(o)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := c.ProcessBlock(trigger)
		b.StopTimer()
		if err != nil || !res.Reorg || res.Detached != depth || res.Attached != depth+1 {
			b.Fatalf("reorg: %+v %v", res, err)
		}
		c.Close()
		os.RemoveAll(o.Dir)
	}
	el := b.Elapsed().Seconds()
	b.ReportMetric(el*1e3/float64(b.N), "ms/reorg")
	b.ReportMetric(float64((2*depth+1)*b.N)/el, "blocks/s")
	b.ReportMetric(float64(txs), "txs-moved")
}

// BenchmarkWriteAmp10000 processes 10,000 workload blocks (a few
// transactions each, every kind) into a fresh on-disk chain per op and
// reports pebble's write amplification: write-amp is pebble's own
// (WAL + flush + compaction bytes over WAL bytes); lsm-amp leaves out the
// WAL (flush + compaction bytes over the logical bytes ingested). The
// blocks are built once in memory, outside the timer; only ProcessBlock is
// timed. One op is 10,000 blocks: run it with -benchtime 1x.
func BenchmarkWriteAmp10000(b *testing.B) {
	const n = 10_000
	src := chaintest.OpenMem(b, nil)
	w := chaintest.NewWorkload(5, 8)
	w.Fund(src)
	for src.Chain.Tip().Height < n {
		w.Step(src)
	}
	blocks := make([]*chain.Block, 0, n)
	txs := 0
	for h := uint64(1); h <= n; h++ {
		blk, err := src.Chain.BlockByHeight(h)
		if err != nil {
			b.Fatal(err)
		}
		blocks = append(blocks, blk)
		txs += len(blk.Txs) - 1
	}
	src.Chain.Close()

	var walIn, walOut, flushed, compacted, disk uint64
	var amp float64
	var flushes, compactions int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		clock := chaintest.NewClock()
		dir := filepath.Join(b.TempDir(), "chain")
		p := chain.DevNet
		c, err := chain.Open(chain.Options{Params: &p, Dir: dir, Clock: clock.Now, Verifier: chaintest.ToyVerifier{}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, blk := range blocks {
			if t := time.UnixMilli(blk.Header.Timestamp); clock.Now().Before(t) {
				clock.Set(t)
			}
			if res, err := c.ProcessBlock(blk); err != nil || !res.MainChain {
				b.Fatalf("block %d: %+v %v", blk.Header.Height, res, err)
			}
		}
		b.StopTimer()
		m := c.StoreMetrics()
		walIn += m.WAL.BytesIn
		walOut += m.WAL.BytesWritten
		for _, l := range m.Levels {
			flushed += l.TableBytesFlushed + l.BlobBytesFlushed
			compacted += l.TableBytesCompacted + l.BlobBytesCompacted
		}
		tot := m.Total()
		amp += tot.WriteAmp()
		flushes += m.Flush.Count
		compactions += m.Compact.Count
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		disk += uint64(dirSize(b, dir))
		os.RemoveAll(dir)
	}
	N := float64(b.N)
	const mb = 1e6
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "blocks/s")
	b.ReportMetric(float64(txs*b.N)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(amp/N, "write-amp")
	b.ReportMetric(float64(flushed+compacted)/float64(walIn), "lsm-amp")
	b.ReportMetric(float64(walIn)/N/mb, "logical-MB")
	b.ReportMetric(float64(walOut)/N/mb, "wal-MB")
	b.ReportMetric(float64(flushed)/N/mb, "flushed-MB")
	b.ReportMetric(float64(compacted)/N/mb, "compacted-MB")
	b.ReportMetric(float64(flushes)/N, "flushes")
	b.ReportMetric(float64(compactions)/N, "compactions")
	b.ReportMetric(float64(disk)/N/mb, "disk-MB")
}
