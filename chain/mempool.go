package chain

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"

	"github.com/dnahost/dnahost/keys"
)

// Mempool errors.
var (
	ErrKnownTx        = errors.New("mempool: transaction already pooled")
	ErrFeeTooLow      = errors.New("mempool: fee rate below the minimum")
	ErrReplacementFee = errors.New("mempool: replacement does not raise the fee enough")
	ErrNonceGap       = errors.New("mempool: nonce leaves a gap")
	ErrStaleNonce     = errors.New("mempool: nonce already used")
	ErrMempoolFull    = errors.New("mempool: full, and the fee rate is too low to evict anything")
	ErrSenderLimit    = errors.New("mempool: too many pending transactions from this sender")
	ErrCoinbaseTx     = errors.New("mempool: coinbases are not relayed")
)

// MempoolConfig tunes a Mempool. The zero value means the defaults.
type MempoolConfig struct {
	MaxBytes     int    // encoded bytes held (default 64 MiB)
	MinFeeRate   uint64 // fee per 1000 encoded bytes to be accepted (default 1000: 1 unit per byte)
	ReplaceBump  uint64 // a replacement must raise the fee by this percent (default 10)
	MaxPerSender int    // pending transactions per sender (default 64)
}

func (c MempoolConfig) withDefaults() MempoolConfig {
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 << 20
	}
	if c.MinFeeRate == 0 {
		c.MinFeeRate = 1000
	}
	if c.ReplaceBump == 0 {
		c.ReplaceBump = 10
	}
	if c.MaxPerSender == 0 {
		c.MaxPerSender = 64
	}
	return c
}

type poolTx struct {
	tx     *Tx
	id     keys.Hash
	sender keys.Address
	size   int
	rate   uint64 // fee per 1000 bytes
	cost   uint64 // amount spent plus fee
}

// Mempool holds valid transactions waiting for a block, ordered by fee
// rate within each sender's nonce sequence. It is safe for concurrent use.
type Mempool struct {
	c   *Chain
	cfg MempoolConfig

	mu       sync.Mutex
	byID     map[keys.Hash]*poolTx
	bySender map[keys.Address]map[uint64]*poolTx
	size     int
}

// NewMempool makes a mempool that follows c's tip.
func NewMempool(c *Chain, cfg MempoolConfig) *Mempool {
	m := &Mempool{c: c, cfg: cfg.withDefaults(), byID: map[keys.Hash]*poolTx{},
		bySender: map[keys.Address]map[uint64]*poolTx{}}
	c.Subscribe(m.onTip)
	return m
}

func txCost(tx *Tx) uint64 {
	body, err := tx.Body()
	if err != nil {
		return tx.Fee
	}
	var spend uint64
	switch b := body.(type) {
	case *Transfer:
		spend = b.Amount
	case *JobEscrow:
		spend = b.Reward
	case *Stake:
		spend = b.Amount
	}
	c, err := add(spend, tx.Fee)
	if err != nil {
		return ^uint64(0)
	}
	return c
}

// Add validates a transaction against the tip's state and the sender's
// pending ones, and pools it. A transaction with the nonce of a pending
// one replaces it if its fee is ReplaceBump percent higher.
func (m *Mempool) Add(tx *Tx) error {
	if tx.Type == TxCoinbase {
		return ErrCoinbaseTx
	}
	if err := CheckTxSanity(tx, m.c.p, m.c.genesis); err != nil {
		return err
	}
	enc := tx.Encode()
	pt := &poolTx{tx: tx, id: keys.DoubleSHA256(enc), sender: tx.Sender(), size: len(enc), cost: txCost(tx)}
	pt.rate = tx.Fee * 1000 / uint64(pt.size)
	if tx.Fee > 0 && pt.rate == 0 {
		pt.rate = 1
	}
	if pt.rate < m.cfg.MinFeeRate {
		return fmt.Errorf("%w: %d per 1000 bytes, minimum %d", ErrFeeTooLow, pt.rate, m.cfg.MinFeeRate)
	}
	acc, err := m.c.Account(pt.sender)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID[pt.id] != nil {
		return ErrKnownTx
	}
	if tx.Nonce < acc.Nonce {
		return fmt.Errorf("%w: nonce %d, account's next is %d", ErrStaleNonce, tx.Nonce, acc.Nonce)
	}
	pending := m.bySender[pt.sender]
	old := pending[tx.Nonce]
	if old == nil && tx.Nonce != acc.Nonce && pending[tx.Nonce-1] == nil {
		return fmt.Errorf("%w: nonce %d, account's next is %d and %d are pending", ErrNonceGap, tx.Nonce, acc.Nonce, len(pending))
	}
	if old == nil && len(pending) >= m.cfg.MaxPerSender {
		return ErrSenderLimit
	}
	if old != nil && tx.Fee < old.tx.Fee+old.tx.Fee*m.cfg.ReplaceBump/100+1 {
		return fmt.Errorf("%w: fee %d, pending one pays %d", ErrReplacementFee, tx.Fee, old.tx.Fee)
	}
	// The sender must afford everything pending, this one included.
	total := pt.cost
	for n, p := range pending {
		if n != tx.Nonce {
			if total, err = add(total, p.cost); err != nil {
				return err
			}
		}
	}
	if total > acc.Balance {
		return ruleErr(ErrInsufficientFunds, "balance %d, pending transactions need %d", acc.Balance, total)
	}
	for m.size+pt.size-sizeOf(old) > m.cfg.MaxBytes {
		if !m.evictBelow(pt.rate, pt.sender) {
			return ErrMempoolFull
		}
	}
	if old != nil {
		m.drop(old)
	}
	if m.bySender[pt.sender] == nil {
		m.bySender[pt.sender] = map[uint64]*poolTx{}
	}
	m.bySender[pt.sender][tx.Nonce] = pt
	m.byID[pt.id] = pt
	m.size += pt.size
	return nil
}

func sizeOf(p *poolTx) int {
	if p == nil {
		return 0
	}
	return p.size
}

// evictBelow drops the lowest-rate transaction that ends its sender's
// sequence, if its rate is below rate (and it is not from keep).
func (m *Mempool) evictBelow(rate uint64, keep keys.Address) bool {
	var worst *poolTx
	for sender, txs := range m.bySender {
		if sender == keep {
			continue
		}
		var last *poolTx
		for _, p := range txs {
			if last == nil || p.tx.Nonce > last.tx.Nonce {
				last = p
			}
		}
		if last != nil && last.rate < rate && (worst == nil || last.rate < worst.rate) {
			worst = last
		}
	}
	if worst == nil {
		return false
	}
	m.drop(worst)
	return true
}

func (m *Mempool) drop(p *poolTx) {
	delete(m.byID, p.id)
	if s := m.bySender[p.sender]; s != nil {
		delete(s, p.tx.Nonce)
		if len(s) == 0 {
			delete(m.bySender, p.sender)
		}
	}
	m.size -= p.size
}

// Len is the number of pooled transactions; Bytes their encoded size.
func (m *Mempool) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}

// NextNonce is the nonce a sender's next transaction should carry: after
// the chain's next nonce, every pooled transaction that follows it without
// a gap.
func (m *Mempool) NextNonce(a keys.Address, chainNonce uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := chainNonce
	for {
		if _, ok := m.bySender[a][n]; !ok {
			return n
		}
		n++
	}
}

// HasFrom reports whether a sender has pooled transactions.
func (m *Mempool) HasFrom(a keys.Address) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.bySender[a]) > 0
}

// Has reports whether a transaction is pooled.
func (m *Mempool) Has(id keys.Hash) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id] != nil
}

// senderQueue is one sender's pending transactions in nonce order, for the
// selection heap.
type senderQueue []*poolTx

type rateHeap []senderQueue

func (h rateHeap) Len() int { return len(h) }
func (h rateHeap) Less(i, j int) bool {
	return h[i][0].rate > h[j][0].rate || (h[i][0].rate == h[j][0].rate && lessID(h[i][0].id, h[j][0].id))
}
func (h rateHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *rateHeap) Push(x any)   { *h = append(*h, x.(senderQueue)) }
func (h *rateHeap) Pop() any     { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }
func lessID(a, b keys.Hash) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Select returns transactions for a block, highest fee rate first, each
// sender's in nonce order, within maxBytes and maxTxs.
func (m *Mempool) Select(maxBytes, maxTxs int) []*Tx {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := &rateHeap{}
	for _, txs := range m.bySender {
		q := make(senderQueue, 0, len(txs))
		for _, p := range txs {
			q = append(q, p)
		}
		sortByNonce(q)
		*h = append(*h, q)
	}
	heap.Init(h)
	var out []*Tx
	size := 0
	for h.Len() > 0 && len(out) < maxTxs {
		q := heap.Pop(h).(senderQueue)
		p := q[0]
		if size+p.size > maxBytes {
			continue // this sender's later transactions cannot come before it
		}
		out = append(out, p.tx)
		size += p.size
		if len(q) > 1 {
			heap.Push(h, q[1:])
		}
	}
	return out
}

func sortByNonce(q senderQueue) {
	for i := 1; i < len(q); i++ {
		for j := i; j > 0 && q[j].tx.Nonce < q[j-1].tx.Nonce; j-- {
			q[j], q[j-1] = q[j-1], q[j]
		}
	}
}

// onTip drops what the new tip included or made stale and offers the
// transactions of detached blocks back.
func (m *Mempool) onTip(ev TipEvent) {
	touched := map[keys.Address]bool{}
	for _, b := range ev.Attached {
		for _, tx := range b.Txs[1:] {
			touched[tx.Sender()] = true
		}
	}
	for _, b := range ev.Detached {
		for _, tx := range b.Txs[1:] {
			touched[tx.Sender()] = true
		}
	}
	m.mu.Lock()
	for sender := range touched {
		acc, err := m.c.Account(sender)
		if err != nil {
			continue
		}
		for n, p := range m.bySender[sender] {
			if n < acc.Nonce {
				m.drop(p)
			}
		}
		// A detached block may have rewound the nonce below what is
		// pooled: the gap is filled by re-adding below, or the sequence
		// is dropped.
	}
	m.mu.Unlock()
	for i := len(ev.Detached) - 1; i >= 0; i-- {
		for _, tx := range ev.Detached[i].Txs[1:] {
			m.Add(tx)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for sender := range touched {
		acc, err := m.c.Account(sender)
		if err != nil {
			continue
		}
		next := acc.Nonce
		for _, p := range sortedPending(m.bySender[sender]) {
			if p.tx.Nonce != next {
				m.drop(p)
				continue
			}
			next++
		}
	}
	m.dropDeadHeads()
}

// dropDeadHeads drops each sender's next transaction if the new state has
// made it invalid (a stake on a job that filled, a result that lost the
// race): left in the pool it would block every later transaction of its
// sender. The sender's later ones wait for a replacement at that nonce.
// Called with m.mu held; the chain's own lock is separate.
func (m *Mempool) dropDeadHeads() {
	for sender, txs := range m.bySender {
		acc, err := m.c.Account(sender)
		if err != nil {
			continue
		}
		head, ok := txs[acc.Nonce]
		if !ok {
			continue
		}
		if err := m.c.CheckTx(head.tx); CodeOf(err) != 0 {
			m.drop(head)
		}
	}
}

func sortedPending(txs map[uint64]*poolTx) senderQueue {
	q := make(senderQueue, 0, len(txs))
	for _, p := range txs {
		q = append(q, p)
	}
	sortByNonce(q)
	return q
}
