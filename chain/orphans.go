package chain

import (
	"github.com/dnahost/dnahost/keys"
)

// orphanPool keeps blocks whose parent has not arrived, at most max, the
// oldest evicted first.
type orphanPool struct {
	max      int
	byHash   map[keys.Hash]*Block
	byParent map[keys.Hash][]keys.Hash
	order    []keys.Hash
}

func newOrphanPool(max int) *orphanPool {
	return &orphanPool{max: max, byHash: map[keys.Hash]*Block{}, byParent: map[keys.Hash][]keys.Hash{}}
}

func (o *orphanPool) has(h keys.Hash) bool { _, ok := o.byHash[h]; return ok }

func (o *orphanPool) add(h keys.Hash, b *Block) {
	if o.has(h) {
		return
	}
	for len(o.order) >= o.max {
		o.remove(o.order[0])
	}
	o.byHash[h] = b
	o.byParent[b.Header.PrevHash] = append(o.byParent[b.Header.PrevHash], h)
	o.order = append(o.order, h)
}

func (o *orphanPool) remove(h keys.Hash) {
	b := o.byHash[h]
	if b == nil {
		return
	}
	delete(o.byHash, h)
	sib := o.byParent[b.Header.PrevHash]
	for i, s := range sib {
		if s == h {
			sib = append(sib[:i], sib[i+1:]...)
			break
		}
	}
	if len(sib) == 0 {
		delete(o.byParent, b.Header.PrevHash)
	} else {
		o.byParent[b.Header.PrevHash] = sib
	}
	for i, s := range o.order {
		if s == h {
			o.order = append(o.order[:i], o.order[i+1:]...)
			break
		}
	}
}

// children removes and returns the orphans whose parent is h.
func (o *orphanPool) children(h keys.Hash) []*Block {
	var out []*Block
	for _, c := range append([]keys.Hash(nil), o.byParent[h]...) {
		out = append(out, o.byHash[c])
		o.remove(c)
	}
	return out
}

// Len is the number of orphans held.
func (o *orphanPool) Len() int { return len(o.order) }
