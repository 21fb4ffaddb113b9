package chain

import (
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dnahost/dnahost/keys"
)

// Index key prefixes (state prefixes are in state.go).
const (
	prefixHeader = 'h' // block hash → header ‖ u8 status
	prefixBody   = 'b' // block hash → block bytes
	prefixUndo   = 'u' // block hash → undo log (main-chain blocks)
	prefixHeight = 'n' // u64 height → block hash (main chain)
	prefixTxLoc  = 'x' // tx ID → block hash ‖ u32 index (main chain)
	keyTip       = 't' // → tip block hash
)

func headerKey(h keys.Hash) []byte { return append([]byte{prefixHeader}, h[:]...) }
func bodyKey(h keys.Hash) []byte   { return append([]byte{prefixBody}, h[:]...) }
func undoKey(h keys.Hash) []byte   { return append([]byte{prefixUndo}, h[:]...) }
func txLocKey(id keys.Hash) []byte { return append([]byte{prefixTxLoc}, id[:]...) }
func heightKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixHeight}, h)
}

// pebbleKV reads through r (a DB, snapshot or indexed batch) and writes
// to w (a batch), if any.
type pebbleKV struct {
	r pebble.Reader
	w *pebble.Batch
}

func (p pebbleKV) get(key []byte) ([]byte, bool, error) {
	v, closer, err := p.r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

func (p pebbleKV) scan(lower, upper []byte, fn func(k, v []byte) bool) error {
	it, err := p.r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return errors.Join(it.Error(), it.Close())
}

func (p pebbleKV) set(key, val []byte) error { return p.w.Set(key, val, nil) }
func (p pebbleKV) del(key []byte) error      { return p.w.Delete(key, nil) }

// readValue copies a value or reports absence.
func readValue(r pebble.Reader, key []byte) ([]byte, bool, error) {
	return pebbleKV{r: r}.get(key)
}

// StoreMetrics is a snapshot of the pebble store's metrics (write
// amplification, flushes and compactions, on-disk size), for benchmarks and
// operators; nil once the chain is closed.
func (c *Chain) StoreMetrics() *pebble.Metrics {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil
	}
	return c.db.Metrics()
}
