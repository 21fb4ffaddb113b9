package chaintest

import (
	"math/rand/v2"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// Workload makes realistic blocks: transfers among a few accounts, jobs
// escrowed, staked, answered (sometimes wrongly, sometimes by fewer nodes
// than staked), disputed, settled and expired, so every kind of state
// change, and its undo, is exercised. It is deterministic for a seed and
// works on any chain whose state it is given (a branch, a replay).
type Workload struct {
	Names  []string // account key names (at least 4)
	Miner  keys.Address
	Bundle keys.Hash
	rng    *rand.Rand
	jobs   int
}

// NewWorkload makes a workload over accounts named "w0".."wN-1".
func NewWorkload(seed uint64, accounts int) *Workload {
	w := &Workload{Miner: Addr("workload miner"), Bundle: keys.SHA256([]byte("workload bundle")),
		rng: rand.New(rand.NewPCG(seed, 7))}
	for i := 0; i < accounts; i++ {
		w.Names = append(w.Names, "w"+string(rune('a'+i)))
	}
	return w
}

// Fund mines a block to each account so they can pay.
func (w *Workload) Fund(e *Env) {
	for _, n := range w.Names {
		e.Mine(Addr(n))
	}
}

// Txs returns transactions that apply on e's tip (the template builder
// drops any that do not, so the block is valid either way).
func (w *Workload) Txs(e *Env) []*chain.Tx {
	c := e.Chain
	signers := map[string]*Signer{}
	signer := func(n string) *Signer {
		if s := signers[n]; s != nil {
			return s
		}
		s := e.NewSigner(n, 1000+uint64(w.rng.IntN(5000)))
		signers[n] = s
		return s
	}
	pick := func() string { return w.Names[w.rng.IntN(len(w.Names))] }
	var txs []*chain.Tx
	for i := 0; i < 1+w.rng.IntN(3); i++ {
		from, to := pick(), pick()
		if from != to {
			txs = append(txs, signer(from).Transfer(Addr(to), uint64(1+w.rng.IntN(1_000_000))))
		}
	}
	now := c.MedianTimePast()
	p := c.Params()
	if w.rng.IntN(3) == 0 {
		w.jobs++
		id := keys.SHA256([]byte("workload job"), []byte{byte(w.jobs), byte(w.jobs >> 8)}, w.Bundle[:], []byte(time.UnixMilli(now).String()))
		deadline := now + p.MinJobAge.Milliseconds() + int64(w.rng.IntN(int(4*p.MinJobAge.Milliseconds())))
		txs = append(txs, signer(pick()).Escrow(id, chain.JobEscrow{BundleRoot: w.Bundle, Reward: uint64(1 + w.rng.IntN(10_000_000)),
			Replication: uint8(1 + w.rng.IntN(3)), MinStake: 1000, Deadline: deadline}))
		return txs
	}
	// Act on an open job: stake, answer or dispute.
	if open := e.Chain.OpenJobs(16); len(open) > 0 {
		j := open[w.rng.IntN(len(open))]
		switch j.State {
		case chain.JobCreated:
			n := pick()
			if _, staked := j.StakeOf(Addr(n)); !staked {
				txs = append(txs, signer(n).Stake(j.ID, 1000+uint64(w.rng.IntN(100_000))))
			}
		case chain.JobAccepted:
			if now >= j.CreatedAt+p.MinJobAge.Milliseconds() && now < j.Deadline && w.rng.IntN(2) == 0 {
				out := ToyOutput(j.ID, j.BundleRoot)
				if w.rng.IntN(3) == 0 {
					out = []byte("wrong")
				}
				var ks []*keys.PrivateKey
				for _, s := range j.Stakes[:1+w.rng.IntN(len(j.Stakes))] {
					for _, n := range w.Names {
						if Addr(n) == s.Node {
							ks = append(ks, Key(n))
						}
					}
				}
				rh := keys.SHA256(out)
				cert, agree := ToyCertificate(j.ID, rh, ks...)
				txs = append(txs, signer(pick()).Result(j.ID, chain.Result{BundleRoot: j.BundleRoot, ResultHash: rh, Certificate: cert, Agree: agree}))
			}
		case chain.JobCompleted:
			if w.rng.IntN(3) == 0 {
				txs = append(txs, signer(pick()).Dispute(j.ID, []byte("wrong")))
			}
		}
	}
	return txs
}

// Step mines one workload block on e's tip, advancing the clock by a
// random fraction of a second so jobs age, settle and expire.
func (w *Workload) Step(e *Env) *chain.Block {
	e.Clock.Advance(time.Duration(w.rng.IntN(400)) * time.Millisecond)
	txs := w.Txs(e)
	e.Clock.Advance(e.Chain.Params().TargetBlockTime)
	b, err := e.Chain.NewBlockTemplate(w.Miner, txs, nil)
	if err != nil {
		e.TB.Fatal(err)
	}
	Solve(e.TB, b)
	if _, err := e.Chain.ProcessBlock(b); err != nil {
		e.TB.Fatalf("workload block %d: %v", b.Header.Height, err)
	}
	return b
}
