package chain

import (
	"math/big"

	"github.com/cockroachdb/pebble/v2"
)

// ProcessHeaders adds headers (in order, each after a known one) to the
// block index without their bodies: the first half of headers-first sync.
// It returns how many were new. Bodies follow through ProcessBlock.
func (c *Chain) ProcessHeaders(hs []*Header) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	batch := c.db.NewBatch()
	defer batch.Close()
	added := 0
	var fresh []*blockNode
	now := c.o.Clock()
	for _, h := range hs {
		hash := h.Hash()
		if n := c.index[hash]; n != nil {
			if n.status&statusInvalid != 0 {
				return added, ruleErr(ErrInvalidAncestor, "header %s is known invalid", hash.String()[:16])
			}
			continue
		}
		if err := CheckHeaderSanity(h, c.p, now); err != nil {
			return added, err
		}
		parent := c.index[h.PrevHash]
		if parent == nil {
			return added, ruleErr(ErrUnknownParent, "header %s follows an unknown block", hash.String()[:16])
		}
		if parent.status&statusInvalid != 0 {
			return added, ruleErr(ErrInvalidAncestor, "header %s follows an invalid block", hash.String()[:16])
		}
		if err := c.checkHeaderContext(h, parent); err != nil {
			return added, err
		}
		n := &blockNode{hash: hash, header: *h, parent: parent, work: new(big.Int).Add(parent.work, WorkOf(h.Bits))}
		c.index[hash] = n
		fresh = append(fresh, n)
		batch.Set(headerKey(hash), n.encode(), nil)
		added++
	}
	if added > 0 {
		if err := batch.Commit(pebble.Sync); err != nil {
			for _, n := range fresh {
				delete(c.index, n.hash)
			}
			return 0, err
		}
	}
	return added, nil
}

// MissingBodies lists, oldest first, up to max blocks on the branch with
// the most work whose headers are known but bodies are not: what a
// headers-first sync fetches next.
func (c *Chain) MissingBodies(max int) []*Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var best *blockNode
	for _, n := range c.index {
		if n.status&statusInvalid == 0 && (best == nil || n.work.Cmp(best.work) > 0) {
			best = n
		}
	}
	if best == nil || best.work.Cmp(c.tip.work) <= 0 {
		return nil
	}
	var path []*blockNode
	for n := best; n != nil && n.status&statusHaveData == 0; n = n.parent {
		path = append(path, n)
	}
	var out []*Header
	for i := len(path) - 1; i >= 0 && len(out) < max; i-- {
		h := path[i].header
		out = append(out, &h)
	}
	return out
}
