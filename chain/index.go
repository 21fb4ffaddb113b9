package chain

import (
	"math/big"
	"sort"

	"github.com/dnahost/dnahost/keys"
)

// nodeStatus flags a block in the index.
type nodeStatus uint8

const (
	statusHaveData nodeStatus = 1 << iota // the body is stored
	statusValid                           // connected to the state at least once
	statusInvalid                         // broke a rule (it or an ancestor)
)

// blockNode is a header in the block index: every known header, on the
// main chain or not, with its cumulative work.
type blockNode struct {
	hash   keys.Hash
	header Header
	parent *blockNode
	work   *big.Int // cumulative, this block included
	status nodeStatus
}

func (n *blockNode) height() uint64 { return n.header.Height }

// ancestor walks back to the given height (nil if above n).
func (n *blockNode) ancestor(h uint64) *blockNode {
	for n != nil && n.height() > h {
		n = n.parent
	}
	return n
}

// medianTimePast is the median timestamp of the last k blocks ending at n:
// the chain time that blocks after n are judged by.
func (n *blockNode) medianTimePast(k int) int64 {
	ts := make([]int64, 0, k)
	for it := n; it != nil && len(ts) < k; it = it.parent {
		ts = append(ts, it.header.Timestamp)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[len(ts)/2]
}

func (n *blockNode) encode() []byte {
	return append(n.header.Encode(), byte(n.status))
}

// forkPoint is the last common ancestor of a and b.
func forkPoint(a, b *blockNode) *blockNode {
	for a.height() > b.height() {
		a = a.parent
	}
	for b.height() > a.height() {
		b = b.parent
	}
	for a != b {
		a, b = a.parent, b.parent
	}
	return a
}
