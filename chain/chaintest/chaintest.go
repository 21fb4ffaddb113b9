package chaintest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// Key is the deterministic key named name.
func Key(name string) *keys.PrivateKey {
	for j := 0; ; j++ {
		seed := sha256.Sum256([]byte(fmt.Sprintf("chaintest %s %d", name, j)))
		if k, err := keys.ParsePrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

// Addr is the address of Key(name).
func Addr(name string) keys.Address { return Key(name).Public().Address() }

// Clock is a settable clock for chains under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at the devnet genesis time plus one second.
func NewClock() *Clock {
	return &Clock{t: time.UnixMilli(chain.DevNet.GenesisTime).Add(time.Second)}
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Env is a devnet chain under test.
type Env struct {
	TB      testing.TB
	Chain   *chain.Chain
	Clock   *Clock
	Dir     string
	Options chain.Options
}

// Open opens a devnet chain in a fresh temporary directory (configure may
// change the options; Params default to a copy of DevNet).
func Open(tb testing.TB, configure func(o *chain.Options)) *Env {
	tb.Helper()
	p := chain.DevNet
	clock := NewClock()
	o := chain.Options{Params: &p, Dir: tb.TempDir(), Clock: clock.Now, Verifier: ToyVerifier{}}
	if configure != nil {
		configure(&o)
	}
	c, err := chain.Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &Env{TB: tb, Chain: c, Clock: clock, Dir: o.Dir, Options: o}
}

// OpenMem is Open on an in-memory file system.
func OpenMem(tb testing.TB, configure func(o *chain.Options)) *Env {
	return Open(tb, func(o *chain.Options) {
		o.FS = vfs.NewMem()
		o.Dir = "/chain"
		if configure != nil {
			configure(o)
		}
	})
}

// Reopen closes the chain and opens its store again.
func (e *Env) Reopen() {
	e.TB.Helper()
	e.Chain.Close()
	c, err := chain.Open(e.Options)
	if err != nil {
		e.TB.Fatal(err)
	}
	e.Chain = c
	e.TB.Cleanup(func() { c.Close() })
}

// Block builds and solves a block on the tip holding exactly txs, paying
// the coinbase to miner. The clock advances by the devnet spacing first.
// It fails the test if a transaction does not apply.
func (e *Env) Block(miner keys.Address, txs ...*chain.Tx) *chain.Block {
	e.TB.Helper()
	e.Clock.Advance(e.Chain.Params().TargetBlockTime)
	b, err := e.Chain.NewBlockTemplate(miner, txs, nil)
	if err != nil {
		e.TB.Fatal(err)
	}
	if len(b.Txs) != len(txs)+1 {
		e.TB.Fatalf("only %d of %d transactions apply at height %d", len(b.Txs)-1, len(txs), b.Header.Height)
	}
	Solve(e.TB, b)
	return b
}

// Replay processes src's best-chain blocks at heights from..to (inclusive)
// in order; each must join e's best chain.
func (e *Env) Replay(src *chain.Chain, from, to uint64) {
	e.TB.Helper()
	for h := from; h <= to; h++ {
		b, err := src.BlockByHeight(h)
		if err != nil {
			e.TB.Fatal(err)
		}
		if t := time.UnixMilli(b.Header.Timestamp); e.Clock.Now().Before(t) {
			e.Clock.Set(t)
		}
		if _, err := e.Chain.ProcessBlock(b); err != nil {
			e.TB.Fatalf("replaying block %d: %v", h, err)
		}
	}
}

// Digest is the chain's state digest (failing the test on error).
func (e *Env) Digest() keys.Hash {
	e.TB.Helper()
	d, err := e.Chain.StateDigest()
	if err != nil {
		e.TB.Fatal(err)
	}
	return d
}

// RawBlock builds and solves a block on the tip holding txs without
// checking they apply (for tests of rules that must reject it); the
// coinbase claims the subsidy plus all their fees.
func (e *Env) RawBlock(miner keys.Address, txs ...*chain.Tx) *chain.Block {
	e.TB.Helper()
	e.Clock.Advance(e.Chain.Params().TargetBlockTime)
	tip := e.Chain.Tip()
	parent, err := e.Chain.HeaderByHash(tip.Hash)
	if err != nil {
		e.TB.Fatal(err)
	}
	var fees uint64
	for _, tx := range txs {
		fees += tx.Fee
	}
	ts := max(e.Clock.Now().UnixMilli(), tip.MedianTime+1)
	return Child(e.TB, e.Chain.Params(), parent, ts, miner, fees, txs...)
}

// Mine builds a block (as Block) and processes it; it must join the best
// chain.
func (e *Env) Mine(miner keys.Address, txs ...*chain.Tx) *chain.Block {
	e.TB.Helper()
	b := e.Block(miner, txs...)
	res, err := e.Chain.ProcessBlock(b)
	if err != nil {
		e.TB.Fatalf("block %d: %v", b.Header.Height, err)
	}
	if !res.MainChain {
		e.TB.Fatalf("block %d did not join the best chain", b.Header.Height)
	}
	return b
}

// MineN mines n empty blocks to miner.
func (e *Env) MineN(miner keys.Address, n int) {
	e.TB.Helper()
	for i := 0; i < n; i++ {
		e.Mine(miner)
	}
}

// Solve finds a nonce for b's own target on one thread (devnet targets
// take a try or two).
func Solve(tb testing.TB, b *chain.Block) {
	tb.Helper()
	target := chain.CompactToBig(b.Header.Bits)
	for n := uint64(0); ; n++ {
		b.Header.Nonce = n
		if chain.HashToBig(b.Header.Hash()).Cmp(target) <= 0 {
			return
		}
	}
}

// Child builds a solved block on parent (any branch) with the given
// transactions (coinbase paying miner exactly the subsidy plus fees given),
// at timestamp ts. It does not check the transactions apply.
func Child(tb testing.TB, p *chain.Params, parent *chain.Header, ts int64, miner keys.Address, fees uint64, txs ...*chain.Tx) *chain.Block {
	tb.Helper()
	h := parent.Height + 1
	cb := &chain.Coinbase{Height: h, To: miner, Amount: p.Subsidy(h) + fees}
	b := &chain.Block{Header: chain.Header{Version: chain.BlockVersion, Height: h, PrevHash: parent.Hash(),
		Timestamp: ts, Bits: p.PowLimitBits}}
	b.Txs = append([]*chain.Tx{{Version: chain.TxVersion, Type: chain.TxCoinbase, Payload: cb.Encode()}}, txs...)
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	Solve(tb, b)
	return b
}

// Signer builds signed transactions for one key, tracking its nonce.
type Signer struct {
	Key     *keys.PrivateKey
	Nonce   uint64
	Fee     uint64
	Genesis keys.Hash
}

// NewSigner makes a signer for Key(name) on env's chain, starting at the
// account's current nonce, paying fee per transaction.
func (e *Env) NewSigner(name string, fee uint64) *Signer {
	k := Key(name)
	acc, err := e.Chain.Account(k.Public().Address())
	if err != nil {
		e.TB.Fatal(err)
	}
	return &Signer{Key: k, Nonce: acc.Nonce, Fee: fee, Genesis: e.Chain.GenesisHash()}
}

// Address is the signer's address.
func (s *Signer) Address() keys.Address { return s.Key.Public().Address() }

func (s *Signer) sign(t chain.TxType, job keys.Hash, body chain.TxBody) *chain.Tx {
	tx := &chain.Tx{Version: chain.TxVersion, Type: t, Nonce: s.Nonce, Fee: s.Fee, JobID: job, Payload: body.Encode()}
	tx.Sign(s.Key, s.Genesis)
	s.Nonce++
	return tx
}

// Transfer pays amount to to.
func (s *Signer) Transfer(to keys.Address, amount uint64) *chain.Tx {
	return s.sign(chain.TxTransfer, keys.Hash{}, &chain.Transfer{To: to, Amount: amount})
}

// Escrow creates a job.
func (s *Signer) Escrow(job keys.Hash, j chain.JobEscrow) *chain.Tx {
	return s.sign(chain.TxJobEscrow, job, &j)
}

// Stake bonds amount to a job.
func (s *Signer) Stake(job keys.Hash, amount uint64) *chain.Tx {
	return s.sign(chain.TxStake, job, &chain.Stake{Amount: amount})
}

// Result records a job's result.
func (s *Signer) Result(job keys.Hash, r chain.Result) *chain.Tx {
	return s.sign(chain.TxResult, job, &r)
}

// Dispute disputes a job's result.
func (s *Signer) Dispute(job keys.Hash, evidence []byte) *chain.Tx {
	return s.sign(chain.TxDispute, job, &chain.Dispute{Evidence: evidence})
}

// ToyVerifier is a ResultVerifier over a toy model: the correct output of
// a job is ToyOutput(job); a certificate is the agreeing nodes' signatures
// (each 33-byte key then 64-byte signature, in Agree order) over
// ToyCertDigest(job, result hash); dispute evidence is the recorded output
// itself, proven wrong when it hashes to the recorded result yet differs
// from the recomputed correct output.
type ToyVerifier struct{}

// ToyOutput is the correct output of a job in the toy model.
func ToyOutput(job keys.Hash, bundle keys.Hash) []byte {
	h := keys.SHA256([]byte("toy model"), job[:], bundle[:])
	return h[:]
}

// ToyCertDigest is what agreeing nodes sign.
func ToyCertDigest(job, result keys.Hash) keys.Hash {
	return keys.DomainHash("toy-result", append(job[:], result[:]...))
}

// ToyCertificate signs a result with the agreeing nodes' keys (in the
// order of their addresses, as Result.Agree must be).
func ToyCertificate(job, result keys.Hash, nodes ...*keys.PrivateKey) ([]byte, []keys.Address) {
	sortKeys(nodes)
	var cert []byte
	var agree []keys.Address
	for _, k := range nodes {
		cert = append(cert, k.Public().Bytes()...)
		cert = append(cert, k.Sign(ToyCertDigest(job, result))...)
		agree = append(agree, k.Public().Address())
	}
	return cert, agree
}

func sortKeys(ks []*keys.PrivateKey) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && lessAddr(ks[j].Public().Address(), ks[j-1].Public().Address()); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

func lessAddr(a, b keys.Address) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// CheckResult implements chain.ResultVerifier.
func (ToyVerifier) CheckResult(job *chain.Job, res *chain.Result) error {
	const entry = keys.PublicKeySize + keys.SignatureSize
	if len(res.Certificate) != entry*len(res.Agree) {
		return fmt.Errorf("certificate of %d bytes for %d nodes", len(res.Certificate), len(res.Agree))
	}
	d := ToyCertDigest(job.ID, res.ResultHash)
	for i, a := range res.Agree {
		e := res.Certificate[i*entry : (i+1)*entry]
		pub, err := keys.ParsePublicKey(e[:keys.PublicKeySize])
		if err != nil {
			return err
		}
		if pub.Address() != a {
			return fmt.Errorf("signature %d is not by agreeing node %d", i, i)
		}
		if err := pub.Verify(d, e[keys.PublicKeySize:]); err != nil {
			return fmt.Errorf("signature %d: %v", i, err)
		}
	}
	return nil
}

// CheckDispute implements chain.ResultVerifier.
func (ToyVerifier) CheckDispute(job *chain.Job, evidence []byte) error {
	if keys.SHA256(evidence) != job.ResultHash {
		return errors.New("evidence is not the recorded output")
	}
	if string(evidence) == string(ToyOutput(job.ID, job.BundleRoot)) {
		return errors.New("the recorded output is correct")
	}
	return nil
}
