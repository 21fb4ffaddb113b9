package chain_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
	"github.com/dnahost/dnahost/keys"
)

// A ruleCase breaks one consensus rule through a public path (ProcessBlock,
// ProcessHeaders, CheckTx, Mempool.Add, the decoders) and returns the error.
// Each case starts from input that is valid and changes it so that only its
// rule fails: a changed transaction is signed again, a changed block gets
// its Merkle root and proof of work redone, and where the state allows the
// untouched input is shown to pass.
type ruleCase struct {
	code chain.ErrorCode
	name string
	run  func(t *testing.T) error
}

// TestRules runs every case and checks the code of the error it returns.
func TestRules(t *testing.T) {
	for _, rc := range ruleCases {
		t.Run(rc.code.String()+"/"+rc.name, func(t *testing.T) {
			t.Parallel()
			err := rc.run(t)
			if got := chain.CodeOf(err); got != rc.code {
				t.Fatalf("got %v (%v), want %v", got, err, rc.code)
			}
		})
	}
}

// TestRuleCoverage fails when a rule code has no case in ruleCases (or no
// name): adding a code means adding a test that triggers it.
func TestRuleCoverage(t *testing.T) {
	have := map[chain.ErrorCode]int{}
	for _, rc := range ruleCases {
		if rc.code <= 0 || rc.code >= chain.ErrorCodeEnd {
			t.Errorf("case %q has code %d, outside 1..%d", rc.name, rc.code, chain.ErrorCodeEnd-1)
		}
		have[rc.code]++
	}
	for c := chain.ErrorCode(1); c < chain.ErrorCodeEnd; c++ {
		if strings.HasPrefix(c.String(), "ErrorCode(") {
			t.Errorf("code %d has no name in codeNames", int(c))
		}
		if have[c] == 0 {
			t.Errorf("no case in ruleCases triggers %v", c)
		}
	}
}

// rulesEnv is a devnet chain where alice, bob, a client and three compute
// nodes hold 50 coins each, and the median time past moves with each block.
type rulesEnv struct {
	*chaintest.Env
	alice, bob, client, n1, n2, n3 *chaintest.Signer
	miner                          keys.Address
	bundle                         keys.Hash
}

const ruleFee = 2000

func newRulesEnv(t *testing.T, configure func(o *chain.Options)) *rulesEnv {
	t.Helper()
	e := &rulesEnv{Env: chaintest.OpenMem(t, configure), miner: chaintest.Addr("rules miner"),
		bundle: keys.SHA256([]byte("rules bundle"))}
	for _, name := range []string{"alice", "bob", "client", "n1", "n2", "n3"} {
		e.MineN(chaintest.Addr(name), 1)
	}
	e.MineN(e.miner, 11)
	s := func(name string) *chaintest.Signer { return e.NewSigner(name, ruleFee) }
	e.alice, e.bob, e.client, e.n1, e.n2, e.n3 = s("alice"), s("bob"), s("client"), s("n1"), s("n2"), s("n3")
	return e
}

// devSigner signs devnet transactions without a chain (for the decoders).
func devSigner(name string) *chaintest.Signer {
	return &chaintest.Signer{Key: chaintest.Key(name), Fee: ruleFee, Genesis: chain.DevNet.GenesisHash()}
}

// devBlock is a valid block on the devnet genesis holding txs.
func devBlock(t *testing.T, txs ...*chain.Tx) *chain.Block {
	g := chain.DevNet.Genesis()
	var fees uint64
	for _, tx := range txs {
		fees += tx.Fee
	}
	return chaintest.Child(t, &chain.DevNet, &g.Header, g.Header.Timestamp+1, chaintest.Addr("miner"), fees, txs...)
}

func (e *rulesEnv) process(b *chain.Block) error {
	_, err := e.Chain.ProcessBlock(b)
	return err
}

// inBlock processes a block on the tip holding txs.
func (e *rulesEnv) inBlock(txs ...*chain.Tx) error { return e.process(e.RawBlock(e.miner, txs...)) }

func (e *rulesEnv) headers(hs ...*chain.Header) error {
	_, err := e.Chain.ProcessHeaders(hs)
	return err
}

// ok fails the test unless tx would apply on the tip now.
func (e *rulesEnv) ok(tx *chain.Tx) {
	e.TB.Helper()
	if err := e.Chain.CheckTx(tx); err != nil {
		e.TB.Fatalf("the valid transaction: %v", err)
	}
}

func (e *rulesEnv) pool() *chain.Mempool { return chain.NewMempool(e.Chain, chain.MempoolConfig{}) }

// poolAdd adds bad to a fresh mempool, then good, which must be accepted.
func (e *rulesEnv) poolAdd(good, bad *chain.Tx) error {
	e.TB.Helper()
	p := e.pool()
	err := p.Add(bad)
	if gerr := p.Add(good); gerr != nil {
		e.TB.Fatalf("the valid transaction: %v", gerr)
	}
	return err
}

// tamper processes a copy of the valid block b changed by f (which redoes
// what the change needs: Merkle root, proof of work), then b itself, which
// must connect: the copy was refused for f's change alone.
func (e *rulesEnv) tamper(b *chain.Block, f func(*chain.Block)) error {
	e.TB.Helper()
	bad := cloneBlock(e.TB, b)
	f(bad)
	err := e.process(bad)
	if res, gerr := e.Chain.ProcessBlock(b); gerr != nil || !res.MainChain {
		e.TB.Fatalf("the untampered block: %v", gerr)
	}
	return err
}

// tamperHeader is tamper through ProcessHeaders.
func (e *rulesEnv) tamperHeader(b *chain.Block, f func(*chain.Header)) error {
	e.TB.Helper()
	h := b.Header
	f(&h)
	err := e.headers(&h)
	if n, gerr := e.Chain.ProcessHeaders([]*chain.Header{&b.Header}); gerr != nil || n != 1 {
		e.TB.Fatalf("the untampered header: %d added, %v", n, gerr)
	}
	return err
}

// rejected is a block on the tip that fails when connected (its coinbase
// claims one unit too many), after processing it: it is known invalid.
func (e *rulesEnv) rejected() *chain.Block {
	e.TB.Helper()
	b := e.RawBlock(e.miner)
	setCoinbase(e.TB, b, func(cb *chain.Coinbase) { cb.Amount++ })
	resolve(b)
	if err := e.process(b); chain.CodeOf(err) != chain.ErrBadCoinbaseValue {
		e.TB.Fatalf("the overpaying block: %v", err)
	}
	return b
}

func cloneBlock(tb testing.TB, b *chain.Block) *chain.Block {
	c, err := chain.DecodeBlock(b.Encode(), 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// edit returns a copy of tx changed by f (which signs it again if it should).
func edit(tb testing.TB, tx *chain.Tx, f func(*chain.Tx)) *chain.Tx {
	c, err := chain.DecodeTx(tx.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	f(c)
	return c
}

func sign(s *chaintest.Signer, tx *chain.Tx) { tx.Sign(s.Key, s.Genesis) }

func setCoinbase(tb testing.TB, b *chain.Block, f func(*chain.Coinbase)) {
	cb, err := chain.DecodeCoinbase(b.Txs[0].Payload)
	if err != nil {
		tb.Fatal(err)
	}
	f(cb)
	b.Txs[0] = &chain.Tx{Version: chain.TxVersion, Type: chain.TxCoinbase, Payload: cb.Encode()}
}

// solve finds a nonce meeting h's target.
func solve(h *chain.Header) {
	target := chain.CompactToBig(h.Bits)
	for h.Nonce = 0; chain.HashToBig(h.Hash()).Cmp(target) > 0; h.Nonce++ {
	}
}

// unsolve finds a nonce whose hash is above h's target (1 in 65,536 at the
// devnet limit).
func unsolve(h *chain.Header) {
	target := chain.CompactToBig(h.Bits)
	for h.Nonce = 0; chain.HashToBig(h.Hash()).Cmp(target) <= 0; h.Nonce++ {
	}
}

// resolve redoes b's Merkle root and proof of work after a change.
func resolve(b *chain.Block) {
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	solve(&b.Header)
}

// Jobs.

func jobID(name string) keys.Hash { return keys.SHA256([]byte("rules job " + name)) }

// spec is a job of 10 coins for replication nodes staking at least a coin,
// due in a minute of chain time.
func (e *rulesEnv) spec(replication uint8) chain.JobEscrow {
	return chain.JobEscrow{BundleRoot: e.bundle, Reward: 10 * chain.Coin, Replication: replication, MinStake: chain.Coin,
		Deadline: e.Chain.MedianTimePast() + time.Minute.Milliseconds()}
}

// escrow mines the client's escrow of job name.
func (e *rulesEnv) escrow(name string, j chain.JobEscrow) keys.Hash {
	id := jobID(name)
	e.Mine(e.miner, e.client.Escrow(id, j))
	return id
}

// stake mines a stake of a coin by each of ss.
func (e *rulesEnv) stake(id keys.Hash, ss ...*chaintest.Signer) {
	var txs []*chain.Tx
	for _, s := range ss {
		txs = append(txs, s.Stake(id, chain.Coin))
	}
	e.Mine(e.miner, txs...)
}

// openJob escrows a job for n1, n2 and n3, has them stake, and waits
// MinJobAge: the job is ready for its result.
func (e *rulesEnv) openJob(name string) keys.Hash {
	id := e.escrow(name, e.spec(3))
	e.stake(id, e.n1, e.n2, e.n3)
	e.advance(e.Chain.Params().MinJobAge)
	return id
}

// advance mines empty blocks until the chain time passes d from now.
func (e *rulesEnv) advance(d time.Duration) {
	target := e.Chain.MedianTimePast() + d.Milliseconds()
	for e.Chain.MedianTimePast() <= target {
		e.Clock.Advance(d / 8)
		e.Mine(e.miner)
	}
}

// result is n1's submission of output as job id's result, certified by by.
func (e *rulesEnv) result(id keys.Hash, output []byte, by ...*chaintest.Signer) *chain.Tx {
	return e.n1.Result(id, e.resultBody(id, output, by...))
}

func (e *rulesEnv) resultBody(id keys.Hash, output []byte, by ...*chaintest.Signer) chain.Result {
	var ks []*keys.PrivateKey
	for _, s := range by {
		ks = append(ks, s.Key)
	}
	rh := keys.SHA256(output)
	cert, agree := chaintest.ToyCertificate(id, rh, ks...)
	return chain.Result{BundleRoot: e.bundle, ResultHash: rh, Certificate: cert, Agree: agree}
}

// withResult edits a result transaction's payload and signs it again (n1).
func (e *rulesEnv) withResult(tx *chain.Tx, f func(*chain.Result)) *chain.Tx {
	return edit(e.TB, tx, func(c *chain.Tx) {
		r, err := chain.DecodeResult(c.Payload)
		if err != nil {
			e.TB.Fatal(err)
		}
		f(r)
		c.Payload = r.Encode()
		sign(e.n1, c)
	})
}

// withEscrow edits an escrow's payload and signs it again as s.
func withEscrow(tb testing.TB, s *chaintest.Signer, tx *chain.Tx, f func(*chain.JobEscrow)) *chain.Tx {
	return edit(tb, tx, func(c *chain.Tx) {
		j, err := chain.DecodeJobEscrow(c.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		f(j)
		c.Payload = j.Encode()
		sign(s, c)
	})
}

// withTransfer edits a transfer's payload and signs it again as s.
func withTransfer(tb testing.TB, s *chaintest.Signer, tx *chain.Tx, f func(*chain.Transfer)) *chain.Tx {
	return edit(tb, tx, func(c *chain.Tx) {
		tr, err := chain.DecodeTransfer(c.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		f(tr)
		c.Payload = tr.Encode()
		sign(s, c)
	})
}

// bigDispute is a chain whose MaxTxBytes is 1 KiB, where n1, n2 and n3
// recorded a wrong 1,500-byte output, and alice's dispute of it, which
// proves the output wrong but is over MaxTxBytes.
func bigDispute(t *testing.T) (*rulesEnv, *chain.Tx) {
	e := newRulesEnv(t, func(o *chain.Options) { o.Params.MaxTxBytes = 1024 })
	id := e.openJob("big")
	wrong := bytes.Repeat([]byte("wrong "), 250)
	e.Mine(e.miner, e.result(id, wrong, e.n1, e.n2, e.n3))
	if err := (chaintest.ToyVerifier{}).CheckDispute(mustJob(t, e, id), wrong); err != nil {
		t.Fatalf("the evidence does not prove the result wrong: %v", err)
	}
	d := e.alice.Dispute(id, wrong)
	if n := len(d.Encode()); n <= 1024 || len(wrong) > chain.MaxEvidence {
		t.Fatalf("dispute of %d bytes", n)
	}
	return e, d
}

func mustJob(t *testing.T, e *rulesEnv, id keys.Hash) *chain.Job {
	j, err := e.Chain.Job(id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var ruleCases = []ruleCase{
	// Encoding and size.
	{chain.ErrEncoding, "DecodeTx a trailing byte", func(t *testing.T) error {
		raw := devSigner("alice").Transfer(chaintest.Addr("bob"), 1).Encode()
		if _, err := chain.DecodeTx(raw); err != nil {
			t.Fatal(err)
		}
		_, err := chain.DecodeTx(append(raw, 0))
		return err
	}},
	{chain.ErrEncoding, "DecodeTx a 5-byte public key", func(t *testing.T) error {
		raw := devSigner("alice").Transfer(chaintest.Addr("bob"), 1).Encode()
		const pubKeyLen = 2 + 1 + 8 + 8 + 8 + 32 // offset of the key's length byte
		if raw[pubKeyLen] != keys.PublicKeySize {
			t.Fatalf("key length byte %d", raw[pubKeyLen])
		}
		raw[pubKeyLen] = 5
		_, err := chain.DecodeTx(raw)
		return err
	}},
	{chain.ErrEncoding, "DecodeBlock a byte short", func(t *testing.T) error {
		raw := devBlock(t, devSigner("alice").Transfer(chaintest.Addr("bob"), 1)).Encode()
		if _, err := chain.DecodeBlock(raw, chain.DevNet.MaxBlockBytes); err != nil {
			t.Fatal(err)
		}
		_, err := chain.DecodeBlock(raw[:len(raw)-1], chain.DevNet.MaxBlockBytes)
		return err
	}},
	{chain.ErrEncoding, "DecodeHeader a byte short", func(t *testing.T) error {
		raw := chain.DevNet.Genesis().Header.Encode()
		_, err := chain.DecodeHeader(raw[:len(raw)-1])
		return err
	}},
	{chain.ErrEncoding, "ProcessBlock a coinbase with a nonce", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Txs[0].Nonce = 1
			resolve(b)
		})
	}},
	{chain.ErrEncoding, "CheckTx a transfer with a job ID", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) {
			tx.JobID = jobID("x")
			sign(e.alice, tx)
		}))
	}},
	{chain.ErrEncoding, "Mempool.Add a stake without a job ID", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		good := e.n1.Stake(id, chain.Coin)
		return e.poolAdd(good, edit(t, good, func(tx *chain.Tx) {
			tx.JobID = keys.Hash{}
			sign(e.n1, tx)
		}))
	}},

	{chain.ErrEncoding, "DecodeTx a 63-byte signature", func(t *testing.T) error {
		raw := devSigner("alice").Transfer(chaintest.Addr("bob"), 1).Encode()
		sigLen := len(raw) - keys.SignatureSize - 1
		if raw[sigLen] != keys.SignatureSize {
			t.Fatalf("signature length byte %d", raw[sigLen])
		}
		raw[sigLen] = keys.SignatureSize - 1
		_, err := chain.DecodeTx(raw[:len(raw)-1])
		return err
	}},
	{chain.ErrEncoding, "DecodeBlock shorter than a header", func(t *testing.T) error {
		_, err := chain.DecodeBlock(chain.DevNet.Genesis().Header.Encode()[:chain.HeaderSize-1], chain.DevNet.MaxBlockBytes)
		return err
	}},
	{chain.ErrEncoding, "DecodeBlock more transactions than bytes", func(t *testing.T) error {
		raw := devBlock(t).Encode()
		raw[chain.HeaderSize] = 0xff // the count's low byte: 255 transactions in ~120 bytes
		_, err := chain.DecodeBlock(raw, chain.DevNet.MaxBlockBytes)
		return err
	}},
	{chain.ErrEncoding, "DecodeHeaders a count the bytes do not hold", func(t *testing.T) error {
		h := chain.DevNet.Genesis().Header
		raw := (&chain.Headers{Headers: []*chain.Header{&h, &h}}).Encode()
		if _, err := chain.DecodeHeaders(raw); err != nil {
			t.Fatal(err)
		}
		_, err := chain.DecodeHeaders(raw[:len(raw)-chain.HeaderSize])
		return err
	}},
	{chain.ErrEncoding, "DecodeGetBlocks over MaxBlocksPerMsg", func(t *testing.T) error {
		_, err := chain.DecodeGetBlocks((&chain.GetBlocks{Hashes: make([]keys.Hash, chain.MaxBlocksPerMsg+1)}).Encode())
		return err
	}},
	{chain.ErrEncoding, "Mempool.Add an escrow without a job ID", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.client.Escrow(jobID("j"), e.spec(3))
		return e.poolAdd(good, edit(t, good, func(tx *chain.Tx) {
			tx.JobID = keys.Hash{}
			sign(e.client, tx)
		}))
	}},
	{chain.ErrEncoding, "CheckTx a result without a job ID", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) {
			tx.JobID = keys.Hash{}
			sign(e.n1, tx)
		}))
	}},
	{chain.ErrEncoding, "CheckTx a result counting more agreeing nodes than it holds", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) {
			k := len(tx.Payload) - 3*keys.AddressSize - 1
			if tx.Payload[k] != 3 {
				t.Fatalf("agreeing count byte %d", tx.Payload[k])
			}
			tx.Payload[k] = 4
			sign(e.n1, tx)
		}))
	}},
	{chain.ErrEncoding, "ProcessBlock a dispute without a job ID", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		wrong := []byte("a wrong output")
		e.Mine(e.miner, e.result(id, wrong, e.n1, e.n2))
		good := e.alice.Dispute(id, wrong)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.JobID = keys.Hash{}
				sign(e.alice, tx)
			})
			resolve(b)
		})
	}},

	{chain.ErrBlockTooBig, "DecodeBlock over its limit", func(t *testing.T) error {
		raw := devBlock(t).Encode()
		if _, err := chain.DecodeBlock(raw, len(raw)); err != nil {
			t.Fatal(err)
		}
		_, err := chain.DecodeBlock(raw, len(raw)-1)
		return err
	}},
	{chain.ErrBlockTooBig, "ProcessBlock over MaxBlockTxs", func(t *testing.T) error {
		e := newRulesEnv(t, func(o *chain.Options) { o.Params.MaxBlockTxs = 3 })
		t1, t2, t3 := e.alice.Transfer(e.bob.Address(), 1), e.alice.Transfer(e.bob.Address(), 2), e.alice.Transfer(e.bob.Address(), 3)
		return e.tamper(e.RawBlock(e.miner, t1, t2), func(b *chain.Block) {
			b.Txs = append(b.Txs, t3)
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Amount += t3.Fee })
			resolve(b)
		})
	}},
	{chain.ErrBlockTooBig, "ProcessBlock over MaxBlockBytes", func(t *testing.T) error {
		const limit = 1024
		e := newRulesEnv(t, func(o *chain.Options) { o.Params.MaxBlockBytes = limit })
		var txs []*chain.Tx
		for i := range 6 {
			txs = append(txs, e.alice.Transfer(e.bob.Address(), uint64(i+1)))
		}
		good := e.RawBlock(e.miner, txs[:3]...)
		return e.tamper(good, func(b *chain.Block) {
			b.Txs = append(b.Txs, txs[3:]...)
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Amount += 3 * ruleFee })
			resolve(b)
			if len(good.Encode()) > limit || len(b.Encode()) <= limit {
				t.Fatalf("blocks of %d and %d bytes", len(good.Encode()), len(b.Encode()))
			}
		})
	}},

	{chain.ErrTxTooBig, "ProcessBlock a dispute over MaxTxBytes", func(t *testing.T) error {
		e, d := bigDispute(t)
		return e.inBlock(d)
	}},
	{chain.ErrTxTooBig, "CheckTx a dispute over MaxTxBytes", func(t *testing.T) error {
		e, d := bigDispute(t)
		return e.Chain.CheckTx(d)
	}},

	{chain.ErrFieldTooLarge, "ProcessBlock a coinbase extra of 101 bytes", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Extra = make([]byte, 101) })
			resolve(b)
		})
	}},
	{chain.ErrFieldTooLarge, "DecodeTx a payload over 96 KiB", func(t *testing.T) error {
		s := devSigner("alice")
		tx := &chain.Tx{Version: chain.TxVersion, Type: chain.TxDispute, Fee: ruleFee, JobID: jobID("x"),
			Payload: (&chain.Dispute{Evidence: make([]byte, 96<<10-4)}).Encode()}
		sign(s, tx)
		if _, err := chain.DecodeTx(tx.Encode()); err != nil {
			t.Fatal(err)
		}
		tx.Payload = append(tx.Payload, 0)
		sign(s, tx)
		_, err := chain.DecodeTx(tx.Encode())
		return err
	}},
	{chain.ErrFieldTooLarge, "CheckTx a result rule of 257 bytes", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.withResult(e.result(id, []byte("out"), e.n1, e.n2, e.n3), func(r *chain.Result) { r.Rule = strings.Repeat("r", 256) })
		e.ok(good)
		return e.Chain.CheckTx(e.withResult(good, func(r *chain.Result) { r.Rule += "r" }))
	}},

	{chain.ErrBadVersion, "ProcessBlock block version 2", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Version = 2
			solve(&b.Header)
		})
	}},
	{chain.ErrBadVersion, "ProcessHeaders block version 2", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamperHeader(e.RawBlock(e.miner), func(h *chain.Header) {
			h.Version = 2
			solve(h)
		})
	}},
	{chain.ErrBadVersion, "CheckTx transaction version 2", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) {
			tx.Version = 2
			sign(e.alice, tx)
		}))
	}},
	{chain.ErrBadVersion, "ProcessBlock transaction version 0", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.Version = 0
				sign(e.alice, tx)
			})
			resolve(b)
		})
	}},

	// Proof of work and headers.
	{chain.ErrHighHash, "ProcessBlock hash above the target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) { unsolve(&b.Header) })
	}},
	{chain.ErrHighHash, "ProcessHeaders hash above the target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamperHeader(e.RawBlock(e.miner), unsolve)
	}},

	{chain.ErrBadBits, "ProcessBlock target above the limit", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Bits = 0x2101ffff // canonical, 2^16 + 2^16-1 << 240
			solve(&b.Header)
		})
	}},
	{chain.ErrBadBits, "ProcessBlock zero target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) { b.Header.Bits = 0x21000000 })
	}},
	{chain.ErrBadBits, "ProcessBlock negative target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) { b.Header.Bits = 0x2080ffff })
	}},
	{chain.ErrBadBits, "ProcessBlock non-canonical target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Bits = 0x21007fff // 0x207fff00 written with a zero byte
			solve(&b.Header)
		})
	}},
	{chain.ErrBadBits, "ProcessBlock not the expected target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Bits = 0x2100fffe // within the limit, but devnet blocks carry the limit
			solve(&b.Header)
		})
	}},
	{chain.ErrBadBits, "ProcessHeaders not the expected target", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamperHeader(e.RawBlock(e.miner), func(h *chain.Header) {
			h.Bits = 0x2100fffe
			solve(h)
		})
	}},

	{chain.ErrBadMerkleRoot, "ProcessBlock a transaction changed after the root", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.Amount = 2 })
			solve(&b.Header)
		})
	}},

	{chain.ErrBadHeight, "ProcessBlock a height skipped", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Height++
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Height++ })
			resolve(b)
		})
	}},
	{chain.ErrBadHeight, "ProcessHeaders the parent's height", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamperHeader(e.RawBlock(e.miner), func(h *chain.Header) {
			h.Height--
			solve(h)
		})
	}},

	{chain.ErrTimeTooOld, "ProcessBlock at the median time past", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Timestamp = e.Chain.Tip().MedianTime
			solve(&b.Header)
		})
	}},
	{chain.ErrTimeTooOld, "ProcessHeaders at the median time past", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamperHeader(e.RawBlock(e.miner), func(h *chain.Header) {
			h.Timestamp = e.Chain.Tip().MedianTime
			solve(h)
		})
	}},

	{chain.ErrTimeTooNew, "ProcessBlock past MaxFutureTime", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Header.Timestamp = e.Clock.Now().Add(e.Chain.Params().MaxFutureTime).UnixMilli() + 1
			solve(&b.Header)
		})
	}},
	{chain.ErrTimeTooNew, "ProcessHeaders past MaxFutureTime", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamperHeader(e.RawBlock(e.miner), func(h *chain.Header) {
			h.Timestamp = e.Clock.Now().Add(e.Chain.Params().MaxFutureTime).UnixMilli() + 1
			solve(h)
		})
	}},

	{chain.ErrUnknownParent, "ProcessHeaders a header without its parent", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		b1 := e.RawBlock(e.miner)
		b2 := chaintest.Child(t, e.Chain.Params(), &b1.Header, b1.Header.Timestamp+1, e.miner, 0)
		err := e.headers(&b2.Header)
		if n, gerr := e.Chain.ProcessHeaders([]*chain.Header{&b1.Header, &b2.Header}); gerr != nil || n != 2 {
			t.Fatalf("with its parent: %d added, %v", n, gerr)
		}
		return err
	}},

	{chain.ErrInvalidAncestor, "ProcessBlock a rejected block again", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.process(e.rejected())
	}},
	{chain.ErrInvalidAncestor, "ProcessBlock a child of a rejected block", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		bad := e.rejected()
		return e.process(chaintest.Child(t, e.Chain.Params(), &bad.Header, bad.Header.Timestamp+1, e.miner, 0))
	}},
	{chain.ErrInvalidAncestor, "ProcessHeaders a rejected block's header", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.headers(&e.rejected().Header)
	}},
	{chain.ErrInvalidAncestor, "ProcessHeaders a child of a rejected block", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		bad := e.rejected()
		return e.headers(&chaintest.Child(t, e.Chain.Params(), &bad.Header, bad.Header.Timestamp+1, e.miner, 0).Header)
	}},

	{chain.ErrDuplicateBlock, "ProcessBlock a connected block again", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.process(e.Mine(e.miner))
	}},
	{chain.ErrDuplicateBlock, "ProcessBlock an orphan again", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		b1 := e.RawBlock(e.miner)
		b2 := chaintest.Child(t, e.Chain.Params(), &b1.Header, b1.Header.Timestamp+1, e.miner, 0)
		if res, err := e.Chain.ProcessBlock(b2); err != nil || !res.Orphan {
			t.Fatalf("the orphan: %+v %v", res, err)
		}
		err := e.process(b2)
		if gerr := e.process(b1); gerr != nil || e.Chain.Tip().Hash != b2.Hash() {
			t.Fatalf("the orphan's parent: %v", gerr)
		}
		return err
	}},

	// Block contents.
	{chain.ErrNoCoinbase, "ProcessBlock no transactions", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			b.Txs = nil
			resolve(b)
		})
	}},
	{chain.ErrNoCoinbase, "ProcessBlock a transfer first", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner, e.alice.Transfer(e.bob.Address(), 1)), func(b *chain.Block) {
			b.Txs = b.Txs[1:]
			resolve(b)
		})
	}},

	{chain.ErrMultipleCoinbase, "ProcessBlock a second coinbase", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			cb := &chain.Coinbase{Height: b.Header.Height, To: e.bob.Address(), Amount: 1}
			b.Txs = append(b.Txs, &chain.Tx{Version: chain.TxVersion, Type: chain.TxCoinbase, Payload: cb.Encode()})
			resolve(b)
		})
	}},
	{chain.ErrMultipleCoinbase, "CheckTx a coinbase", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.Chain.CheckTx(e.RawBlock(e.miner).Txs[0])
	}},

	{chain.ErrBadCoinbaseHeight, "ProcessBlock the parent's height in the coinbase", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner), func(b *chain.Block) {
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Height-- })
			resolve(b)
		})
	}},

	{chain.ErrBadCoinbaseValue, "ProcessBlock a unit over subsidy plus fees", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.tamper(e.RawBlock(e.miner, e.alice.Transfer(e.bob.Address(), 1)), func(b *chain.Block) {
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Amount++ })
			resolve(b)
		})
	}},
	{chain.ErrBadCoinbaseValue, "ProcessBlock a reorganisation onto an overpaying block", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		p, tip := e.Chain.Params(), e.Chain.Tip()
		top, err := e.Chain.HeaderByHash(tip.Hash)
		if err != nil {
			t.Fatal(err)
		}
		fork, err := e.Chain.HeaderByHash(top.PrevHash)
		if err != nil {
			t.Fatal(err)
		}
		side := chaintest.Addr("side")
		ts := e.Clock.Now().UnixMilli() + 1
		s1 := chaintest.Child(t, p, fork, ts, side, 0)
		if res, err := e.Chain.ProcessBlock(s1); err != nil || res.MainChain {
			t.Fatalf("the side block: %+v %v", res, err)
		}
		// s2 claims a fee no transaction pays; its branch has more work.
		_, err = e.Chain.ProcessBlock(chaintest.Child(t, p, &s1.Header, ts+1, side, 1))
		if e.Chain.Tip().Hash != tip.Hash {
			t.Fatal("the tip moved to the invalid branch")
		}
		if res, gerr := e.Chain.ProcessBlock(chaintest.Child(t, p, &s1.Header, ts+2, side, 0)); gerr != nil || !res.Reorg {
			t.Fatalf("the honest sibling: %+v %v", res, gerr)
		}
		return err
	}},

	{chain.ErrDuplicateTx, "ProcessBlock a transfer twice", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		tx := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, tx), func(b *chain.Block) {
			b.Txs = append(b.Txs, tx)
			setCoinbase(t, b, func(cb *chain.Coinbase) { cb.Amount += tx.Fee })
			resolve(b)
		})
	}},

	// Transactions.
	{chain.ErrBadTxType, "CheckTx type 9", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) {
			tx.Type = 9
			sign(e.alice, tx)
		}))
	}},
	{chain.ErrBadTxType, "ProcessBlock type 9", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.Type = 9
				sign(e.alice, tx)
			})
			resolve(b)
		})
	}},

	{chain.ErrBadSignature, "ProcessBlock a flipped signature bit", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) { tx.Sig[40] ^= 1 })
			resolve(b)
		})
	}},
	{chain.ErrBadSignature, "CheckTx signed for mainnet", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) { tx.Sign(e.alice.Key, chain.MainNet.GenesisHash()) }))
	}},
	{chain.ErrBadSignature, "Mempool.Add another sender's public key", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.client.Address(), 1)
		return e.poolAdd(good, edit(t, good, func(tx *chain.Tx) { tx.PubKey = e.bob.Key.Public().Bytes() }))
	}},
	{chain.ErrBadSignature, "CheckTx a public key off the curve", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) { tx.PubKey = append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...) }))
	}},
	{chain.ErrBadSignature, "CheckTx no signature", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) { tx.Sig = nil }))
	}},

	{chain.ErrBadNonce, "ProcessBlock a nonce skipped", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.Nonce++
				sign(e.alice, tx)
			})
			resolve(b)
		})
	}},
	{chain.ErrBadNonce, "CheckTx a nonce used", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		first := e.alice.Transfer(e.bob.Address(), 1)
		e.Mine(e.miner, first)
		return e.Chain.CheckTx(withTransfer(t, e.alice, first, func(tr *chain.Transfer) { tr.Amount = 2 }))
	}},

	{chain.ErrInsufficientFunds, "ProcessBlock the balance plus the fee", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 50*chain.Coin-ruleFee)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.Amount++ })
			resolve(b)
		})
	}},
	{chain.ErrInsufficientFunds, "Mempool.Add the balance plus the fee", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 50*chain.Coin-ruleFee)
		return e.poolAdd(good, withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.Amount++ }))
	}},
	{chain.ErrInsufficientFunds, "CheckTx an escrow of the whole balance", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		j := e.spec(1)
		j.Reward = 50*chain.Coin - ruleFee
		good := e.client.Escrow(jobID("j"), j)
		e.ok(good)
		return e.Chain.CheckTx(withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Reward++ }))
	}},

	{chain.ErrZeroAmount, "CheckTx a transfer of nothing", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.Amount = 0 }))
	}},
	{chain.ErrZeroAmount, "ProcessBlock a stake of nothing", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		good := e.n1.Stake(id, chain.Coin)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.Payload = (&chain.Stake{}).Encode()
				sign(e.n1, tx)
			})
			resolve(b)
		})
	}},
	{chain.ErrZeroAmount, "Mempool.Add a job with no reward", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.client.Escrow(jobID("j"), e.spec(3))
		return e.poolAdd(good, withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Reward = 0 }))
	}},

	{chain.ErrOverflow, "CheckTx amount plus fee over 2^64", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.Amount = math.MaxUint64 - ruleFee + 1 }))
	}},
	{chain.ErrOverflow, "ProcessBlock amount plus fee over 2^64", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.Amount = math.MaxUint64 })
			resolve(b)
		})
	}},

	{chain.ErrLockTime, "ProcessBlock locked until the block after", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		bad := edit(t, e.alice.Transfer(e.bob.Address(), 1), func(tx *chain.Tx) {
			tx.LockTime = e.Chain.Tip().Height + 2
			sign(e.alice, tx)
		})
		err := e.inBlock(bad)
		e.Mine(e.miner)
		e.ok(bad) // one block later it applies
		return err
	}},
	{chain.ErrLockTime, "CheckTx locked until the block after", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		bad := edit(t, e.alice.Transfer(e.bob.Address(), 1), func(tx *chain.Tx) {
			tx.LockTime = e.Chain.Tip().Height + 2
			sign(e.alice, tx)
		})
		err := e.Chain.CheckTx(bad)
		e.Mine(e.miner)
		e.ok(bad)
		return err
	}},

	{chain.ErrSelfTransfer, "CheckTx a transfer to the sender", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		e.ok(good)
		return e.Chain.CheckTx(withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.To = e.alice.Address() }))
	}},
	{chain.ErrSelfTransfer, "ProcessBlock a transfer to the sender", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.alice.Transfer(e.bob.Address(), 1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = withTransfer(t, e.alice, good, func(tr *chain.Transfer) { tr.To = e.alice.Address() })
			resolve(b)
		})
	}},

	// Jobs.
	{chain.ErrJobExists, "ProcessBlock an escrow of a used job ID", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		good := e.bob.Escrow(jobID("other"), e.spec(3))
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.JobID = id
				sign(e.bob, tx)
			})
			resolve(b)
		})
	}},
	{chain.ErrJobExists, "ProcessBlock one job ID twice in a block", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		first, second := e.client.Escrow(jobID("j"), e.spec(3)), e.bob.Escrow(jobID("j"), e.spec(3))
		e.ok(first)
		e.ok(second)
		return e.inBlock(first, second)
	}},

	{chain.ErrUnknownJob, "ProcessBlock a stake on no job", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		good := e.n1.Stake(id, chain.Coin)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.JobID = jobID("never escrowed")
				sign(e.n1, tx)
			})
			resolve(b)
		})
	}},
	{chain.ErrUnknownJob, "CheckTx a dispute of no job", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		return e.Chain.CheckTx(e.alice.Dispute(jobID("never escrowed"), []byte("evidence")))
	}},

	{chain.ErrJobState, "ProcessBlock a result before every stake", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(2))
		e.stake(id, e.n1)
		e.advance(e.Chain.Params().MinJobAge)
		res := e.result(id, []byte("out"), e.n1)
		err := e.inBlock(res)
		e.stake(id, e.n2)
		e.ok(res) // with the last stake in, the same result applies
		return err
	}},
	{chain.ErrJobState, "CheckTx a dispute before the result", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		return e.Chain.CheckTx(e.alice.Dispute(id, []byte("evidence")))
	}},
	{chain.ErrJobState, "ProcessBlock a stake on a completed job", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		e.Mine(e.miner, e.result(id, chaintest.ToyOutput(id, e.bundle), e.n1, e.n2, e.n3))
		return e.inBlock(e.alice.Stake(id, chain.Coin))
	}},

	{chain.ErrBadDeadline, "CheckTx deadline zero", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.client.Escrow(jobID("j"), e.spec(3))
		e.ok(good)
		return e.Chain.CheckTx(withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Deadline = 0 }))
	}},
	{chain.ErrBadDeadline, "ProcessBlock deadline MinJobAge away", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		j := e.spec(3)
		j.Deadline = e.Chain.MedianTimePast() + e.Chain.Params().MinJobAge.Milliseconds() + 1
		good := e.client.Escrow(jobID("j"), j)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Deadline-- })
			resolve(b)
		})
	}},
	{chain.ErrBadDeadline, "ProcessBlock deadline past MaxJobDuration", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		j := e.spec(3)
		j.Deadline = e.Chain.MedianTimePast() + e.Chain.Params().MaxJobDuration.Milliseconds()
		good := e.client.Escrow(jobID("j"), j)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Deadline++ })
			resolve(b)
		})
	}},

	{chain.ErrBadReplication, "CheckTx replication 0", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		good := e.client.Escrow(jobID("j"), e.spec(1))
		e.ok(good)
		return e.Chain.CheckTx(withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Replication = 0 }))
	}},
	{chain.ErrBadReplication, "Mempool.Add replication over MaxReplication", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		maxRep := uint8(e.Chain.Params().MaxReplication)
		good := e.client.Escrow(jobID("j"), e.spec(maxRep))
		return e.poolAdd(good, withEscrow(t, e.client, good, func(j *chain.JobEscrow) { j.Replication = maxRep + 1 }))
	}},

	{chain.ErrStakeTooLow, "ProcessBlock a unit under the minimum", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		good := e.n1.Stake(id, chain.Coin)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.Payload = (&chain.Stake{Amount: chain.Coin - 1}).Encode()
				sign(e.n1, tx)
			})
			resolve(b)
		})
	}},

	{chain.ErrAlreadyStaked, "ProcessBlock a second stake", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		e.stake(id, e.n1)
		e.ok(e.n2.Stake(id, chain.Coin))
		return e.inBlock(e.n1.Stake(id, chain.Coin))
	}},
	{chain.ErrAlreadyStaked, "ProcessBlock two stakes in one block", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(3))
		first := e.n1.Stake(id, chain.Coin)
		e.ok(first)
		return e.inBlock(first, e.n1.Stake(id, chain.Coin))
	}},

	{chain.ErrJobFull, "ProcessBlock a stake after the last", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(2))
		e.stake(id, e.n1)
		late := e.n3.Stake(id, chain.Coin)
		e.ok(late)
		e.stake(id, e.n2)
		return e.inBlock(late)
	}},

	{chain.ErrJobTooYoung, "ProcessBlock a result right after the stakes", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.escrow("j", e.spec(1))
		e.stake(id, e.n1)
		res := e.result(id, []byte("out"), e.n1)
		err := e.inBlock(res)
		e.advance(e.Chain.Params().MinJobAge)
		e.ok(res) // MinJobAge later the same result applies
		return err
	}},

	{chain.ErrJobExpired, "ProcessBlock a stake after the deadline", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		j := e.spec(2)
		j.Deadline = e.Chain.MedianTimePast() + (e.Chain.Params().MinJobAge + time.Second).Milliseconds()
		id := e.escrow("j", j)
		late := e.n1.Stake(id, chain.Coin)
		e.ok(late)
		e.advance(e.Chain.Params().MinJobAge + 2*time.Second)
		return e.inBlock(late)
	}},
	{chain.ErrJobExpired, "CheckTx a stake after the deadline", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		j := e.spec(2)
		j.Deadline = e.Chain.MedianTimePast() + (e.Chain.Params().MinJobAge + time.Second).Milliseconds()
		id := e.escrow("j", j)
		e.stake(id, e.n1) // some stakes, not all
		late := e.n2.Stake(id, chain.Coin)
		e.ok(late)
		e.advance(e.Chain.Params().MinJobAge + 2*time.Second)
		return e.Chain.CheckTx(late)
	}},
	{chain.ErrJobExpired, "ProcessBlock a result after the deadline", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		j := e.spec(1)
		j.Deadline = e.Chain.MedianTimePast() + (e.Chain.Params().MinJobAge + 3*time.Second).Milliseconds()
		id := e.escrow("j", j)
		e.stake(id, e.n1)
		e.advance(e.Chain.Params().MinJobAge)
		res := e.result(id, []byte("out"), e.n1)
		e.ok(res)
		e.advance(3 * time.Second)
		return e.inBlock(res)
	}},

	{chain.ErrNotStaker, "ProcessBlock an agreeing node that did not stake", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2)
		e.ok(good)
		e.n1.Nonce--
		return e.inBlock(e.result(id, []byte("out"), e.n1, e.alice))
	}},

	{chain.ErrBadAgreement, "CheckTx nobody agrees", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		e.ok(good)
		return e.Chain.CheckTx(e.withResult(good, func(r *chain.Result) { r.Agree, r.Certificate = nil, nil }))
	}},
	{chain.ErrBadAgreement, "CheckTx agreeing nodes out of order", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		e.ok(good)
		return e.Chain.CheckTx(e.withResult(good, func(r *chain.Result) {
			const entry = keys.PublicKeySize + keys.SignatureSize
			r.Agree[0], r.Agree[2] = r.Agree[2], r.Agree[0]
			c := r.Certificate
			r.Certificate = append(append(append([]byte(nil), c[2*entry:]...), c[entry:2*entry]...), c[:entry]...)
		}))
	}},
	{chain.ErrBadAgreement, "ProcessBlock an agreeing node twice", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = e.withResult(good, func(r *chain.Result) {
				r.Agree = append(r.Agree, r.Agree[0])
				r.Certificate = append(r.Certificate, r.Certificate...)
			})
			resolve(b)
		})
	}},

	{chain.ErrBundleMismatch, "ProcessBlock a result for another bundle", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = e.withResult(good, func(r *chain.Result) { r.BundleRoot = keys.SHA256([]byte("another bundle")) })
			resolve(b)
		})
	}},

	{chain.ErrBadCertificate, "ProcessBlock a certificate of another result", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = e.withResult(good, func(r *chain.Result) { r.ResultHash = keys.SHA256([]byte("other")) })
			resolve(b)
		})
	}},
	{chain.ErrBadCertificate, "CheckTx a signature missing", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		good := e.result(id, []byte("out"), e.n1, e.n2, e.n3)
		e.ok(good)
		return e.Chain.CheckTx(e.withResult(good, func(r *chain.Result) {
			r.Certificate = r.Certificate[:len(r.Certificate)-keys.PublicKeySize-keys.SignatureSize]
		}))
	}},

	{chain.ErrDisputeWindow, "ProcessBlock a dispute after settlement", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		wrong := []byte("a wrong output")
		e.Mine(e.miner, e.result(id, wrong, e.n1, e.n2))
		d := e.alice.Dispute(id, wrong)
		e.ok(d) // in the window it would be upheld
		e.advance(e.Chain.Params().DisputeWindow)
		if j := mustJob(t, e, id); j.State != chain.JobSettled {
			t.Fatalf("job %s after its window", j.State)
		}
		return e.inBlock(d)
	}},
	{chain.ErrDisputeWindow, "CheckTx a dispute after settlement", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		wrong := []byte("a wrong output")
		e.Mine(e.miner, e.result(id, wrong, e.n1, e.n2, e.n3))
		d := e.alice.Dispute(id, wrong)
		e.ok(d)
		e.advance(e.Chain.Params().DisputeWindow)
		return e.Chain.CheckTx(d)
	}},

	{chain.ErrDisputeRejected, "CheckTx no evidence", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		wrong := []byte("a wrong output")
		e.Mine(e.miner, e.result(id, wrong, e.n1, e.n2))
		good := e.alice.Dispute(id, wrong)
		e.ok(good)
		return e.Chain.CheckTx(edit(t, good, func(tx *chain.Tx) {
			tx.Payload = (&chain.Dispute{}).Encode()
			sign(e.alice, tx)
		}))
	}},
	{chain.ErrDisputeRejected, "ProcessBlock evidence that is not the recorded output", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		wrong := []byte("a wrong output")
		e.Mine(e.miner, e.result(id, wrong, e.n1, e.n2))
		good := e.alice.Dispute(id, wrong)
		return e.tamper(e.RawBlock(e.miner, good), func(b *chain.Block) {
			b.Txs[1] = edit(t, good, func(tx *chain.Tx) {
				tx.Payload = (&chain.Dispute{Evidence: chaintest.ToyOutput(id, e.bundle)}).Encode()
				sign(e.alice, tx)
			})
			resolve(b)
		})
	}},
	{chain.ErrDisputeRejected, "ProcessBlock a dispute of a correct result", func(t *testing.T) error {
		e := newRulesEnv(t, nil)
		id := e.openJob("j")
		right := chaintest.ToyOutput(id, e.bundle)
		e.Mine(e.miner, e.result(id, right, e.n1, e.n2, e.n3))
		return e.inBlock(e.alice.Dispute(id, right))
	}},
}
