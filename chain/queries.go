package chain

import (
	"encoding/binary"
	"errors"
	"sort"

	"github.com/dnahost/dnahost/keys"
)

func sortNodesByHeight(ns []*blockNode) {
	sort.Slice(ns, func(i, j int) bool { return ns[i].height() < ns[j].height() })
}

// Account returns an address's balance and next nonce on the best chain.
func (c *Chain) Account(a keys.Address) (Account, error) {
	acc, err := readAccount(pebbleKV{r: c.db}, a)
	if err != nil {
		return Account{}, err
	}
	return *acc, nil
}

// Job returns a job's record.
func (c *Chain) Job(id keys.Hash) (*Job, error) {
	j, ok, err := readJob(pebbleKV{r: c.db}, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return j, nil
}

// Supply returns the coins minted and burned on the best chain.
func (c *Chain) Supply() (Supply, error) {
	s, err := readSupply(pebbleKV{r: c.db})
	if err != nil {
		return Supply{}, err
	}
	return *s, nil
}

// BlockByHash returns a stored block (on any branch).
func (c *Chain) BlockByHash(h keys.Hash) (*Block, error) { return c.loadBlock(c.db, h) }

// HashAtHeight returns the best chain's block hash at a height.
func (c *Chain) HashAtHeight(height uint64) (keys.Hash, error) {
	v, ok, err := readValue(c.db, heightKey(height))
	if err != nil {
		return keys.Hash{}, err
	}
	if !ok {
		return keys.Hash{}, ErrNotFound
	}
	if len(v) != keys.HashSize {
		return keys.Hash{}, errCorrupt
	}
	return keys.Hash(v), nil
}

// BlockByHeight returns the best chain's block at a height.
func (c *Chain) BlockByHeight(height uint64) (*Block, error) {
	h, err := c.HashAtHeight(height)
	if err != nil {
		return nil, err
	}
	return c.BlockByHash(h)
}

// HeaderByHash returns an indexed header.
func (c *Chain) HeaderByHash(h keys.Hash) (*Header, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[h]
	if n == nil {
		return nil, ErrNotFound
	}
	hd := n.header
	return &hd, nil
}

// TxLocation is where a transaction sits on the best chain.
type TxLocation struct {
	Block  keys.Hash
	Height uint64
	Index  int
}

// Tx returns a best-chain transaction and where it is.
func (c *Chain) Tx(id keys.Hash) (*Tx, TxLocation, error) {
	v, ok, err := readValue(c.db, txLocKey(id))
	if err != nil {
		return nil, TxLocation{}, err
	}
	if !ok || len(v) != 36 {
		return nil, TxLocation{}, ErrNotFound
	}
	loc := TxLocation{Block: keys.Hash(v[:32]), Index: int(binary.LittleEndian.Uint32(v[32:]))}
	b, err := c.BlockByHash(loc.Block)
	if err != nil {
		return nil, loc, err
	}
	if loc.Index >= len(b.Txs) {
		return nil, loc, errCorrupt
	}
	loc.Height = b.Header.Height
	return b.Txs[loc.Index], loc, nil
}

// Locator lists best-chain hashes from the tip back, densely then
// exponentially sparser, ending at genesis: what a peer needs to find the
// fork point in few hashes.
func (c *Chain) Locator() []keys.Hash {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return locatorFrom(c.tip)
}

func locatorFrom(n *blockNode) []keys.Hash {
	var out []keys.Hash
	step := uint64(1)
	for n != nil {
		out = append(out, n.hash)
		if n.height() == 0 {
			break
		}
		if len(out) >= 10 {
			step *= 2
		}
		h := uint64(0)
		if n.height() > step {
			h = n.height() - step
		}
		if len(out) == MaxLocatorHashes-1 {
			h = 0 // always end at genesis
		}
		n = n.ancestor(h)
	}
	return out
}

// HeadersAfter returns up to max best-chain headers after the first
// locator hash on the best chain (genesis if none), stopping after stop.
func (c *Chain) HeadersAfter(locator []keys.Hash, stop keys.Hash, max int) []*Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	start := uint64(0)
	for _, h := range locator {
		if n := c.index[h]; n != nil && c.tip.ancestor(n.height()) == n {
			start = n.height() + 1
			break
		}
	}
	var out []*Header
	for h := start; h <= c.tip.height() && len(out) < max; h++ {
		n := c.tip.ancestor(h)
		hd := n.header
		out = append(out, &hd)
		if n.hash == stop {
			break
		}
	}
	return out
}

// MedianTimePast is the chain time the next block is judged by.
func (c *Chain) MedianTimePast() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tip.medianTimePast(c.p.MedianTimeBlocks)
}

// Orphans is the number of blocks waiting for their parent.
func (c *Chain) Orphans() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orphans.Len()
}

// OpenJobs lists up to max jobs that are not closed: those taking stakes
// or awaiting a result (soonest deadline first), then those in their
// dispute window (soonest settlement first).
func (c *Chain) OpenJobs(max int) []*Job {
	kv := pebbleKV{r: c.db}
	var out []*Job
	for _, q := range []byte{prefixExpire, prefixSettle} {
		kv.scan([]byte{q}, []byte{q + 1}, func(k, _ []byte) bool {
			if len(out) >= max {
				return false
			}
			if j, ok, err := readJob(kv, keys.Hash(k[9:])); err == nil && ok {
				out = append(out, j)
			}
			return true
		})
	}
	return out
}

// JobCounts counts every job on the best chain by state (it reads them all).
func (c *Chain) JobCounts() (map[JobState]int, error) {
	out := map[JobState]int{}
	var err error
	kv := pebbleKV{r: c.db}
	serr := kv.scan([]byte{prefixJob}, []byte{prefixJob + 1}, func(_, v []byte) bool {
		var j *Job
		if j, err = decodeJob(v); err != nil {
			return false
		}
		out[j.State]++
		return true
	})
	return out, errors.Join(err, serr)
}
