package chain_test

import (
	"testing"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
	"github.com/dnahost/dnahost/keys"
)

// economy is a devnet chain with a client and three compute nodes funded,
// and a miner that collects fees elsewhere.
type economy struct {
	*chaintest.Env
	client, n1, n2, n3, disputer *chaintest.Signer
	miner                        keys.Address
	bundle                       keys.Hash
}

const fee = 1000

func newEconomy(t *testing.T) *economy {
	e := &economy{Env: chaintest.Open(t, nil), miner: chaintest.Addr("miner"), bundle: keys.SHA256([]byte("bundle"))}
	for _, name := range []string{"client", "n1", "n2", "n3", "disputer"} {
		e.MineN(chaintest.Addr(name), 1)
	}
	e.MineN(chaintest.Addr("client"), 2) // 150 coins: enough for two jobs
	// 11 blocks so the median time past moves with new blocks.
	e.MineN(e.miner, 11)
	e.client, e.n1, e.n2, e.n3 = e.NewSigner("client", fee), e.NewSigner("n1", fee), e.NewSigner("n2", fee), e.NewSigner("n3", fee)
	e.disputer = e.NewSigner("disputer", fee)
	return e
}

func (e *economy) balance(s *chaintest.Signer) uint64 {
	acc, err := e.Chain.Account(s.Address())
	if err != nil {
		e.TB.Fatal(err)
	}
	return acc.Balance
}

func (e *economy) job(id keys.Hash) *chain.Job {
	j, err := e.Chain.Job(id)
	if err != nil {
		e.TB.Fatal(err)
	}
	return j
}

// advance mines empty blocks until the chain time passes d from now.
func (e *economy) advance(d time.Duration) {
	target := e.Chain.MedianTimePast() + d.Milliseconds()
	for e.Chain.MedianTimePast() <= target {
		e.Clock.Advance(d / 8)
		e.Mine(e.miner)
	}
}

// openJob escrows a job of reward with replication 3 and min stake, and
// has all three nodes stake.
func (e *economy) openJob(name string, reward, stake uint64) keys.Hash {
	id := keys.SHA256([]byte(name))
	deadline := e.Chain.MedianTimePast() + time.Minute.Milliseconds()
	e.Mine(e.miner, e.client.Escrow(id, chain.JobEscrow{BundleRoot: e.bundle, Reward: reward, Replication: 3, MinStake: stake, Deadline: deadline}))
	if j := e.job(id); j.State != chain.JobCreated {
		e.TB.Fatalf("job %s", j.State)
	}
	e.Mine(e.miner, e.n1.Stake(id, stake), e.n2.Stake(id, stake), e.n3.Stake(id, stake))
	if j := e.job(id); j.State != chain.JobAccepted || len(j.Stakes) != 3 {
		e.TB.Fatalf("job %s with %d stakes", j.State, len(j.Stakes))
	}
	e.advance(e.Chain.Params().MinJobAge)
	return id
}

func (e *economy) record(id keys.Hash, output []byte, by ...*chaintest.Signer) {
	var ks []*keys.PrivateKey
	for _, s := range by {
		ks = append(ks, s.Key)
	}
	rh := keys.SHA256(output)
	cert, agree := chaintest.ToyCertificate(id, rh, ks...)
	e.Mine(e.miner, e.n1.Result(id, chain.Result{BundleRoot: e.bundle, ResultHash: rh, Certificate: cert, Agree: agree}))
	if j := e.job(id); j.State != chain.JobCompleted {
		e.TB.Fatalf("job %s after its result", j.State)
	}
}

func (e *economy) checkSupply() {
	if err := e.Chain.CheckInvariants(); err != nil {
		e.TB.Fatal(err)
	}
}

// The paper's dispute table, row by row.
func TestDisputeTable(t *testing.T) {
	const reward, stake = 30 * chain.Coin, 5 * chain.Coin

	t.Run("honest result pays out", func(t *testing.T) {
		e := newEconomy(t)
		c0, a0, b0, d0 := e.balance(e.client), e.balance(e.n1), e.balance(e.n2), e.balance(e.n3)
		id := e.openJob("honest", reward, stake)
		e.record(id, chaintest.ToyOutput(id, e.bundle), e.n1, e.n2, e.n3)
		e.advance(e.Chain.Params().DisputeWindow)
		if j := e.job(id); j.State != chain.JobSettled {
			t.Fatalf("job %s after the window", j.State)
		}
		// Each node: +reward/3, its stake back, minus fees (stake; n1 also the result).
		if got := e.balance(e.n1); got != a0+reward/3-2*fee {
			t.Fatalf("n1 %d, want %d", got, a0+reward/3-2*fee)
		}
		if got := e.balance(e.n2); got != b0+reward/3-fee {
			t.Fatalf("n2 %d", got)
		}
		if got := e.balance(e.n3); got != d0+reward/3-fee {
			t.Fatalf("n3 %d", got)
		}
		if got := e.balance(e.client); got != c0-reward-fee {
			t.Fatalf("client %d", got)
		}
		e.checkSupply()
	})

	t.Run("invalid output proven by a dispute", func(t *testing.T) {
		e := newEconomy(t)
		c0, d0, n30 := e.balance(e.client), e.balance(e.disputer), e.balance(e.n3)
		id := e.openJob("invalid", reward, stake)
		wrong := []byte("a wrong output")
		e.record(id, wrong, e.n1, e.n2) // n3 disagreed
		// Evidence that is not the recorded output is refused.
		if _, err := e.Chain.ProcessBlock(e.RawBlock(e.miner, e.disputer.Dispute(id, chaintest.ToyOutput(id, e.bundle)))); chain.CodeOf(err) != chain.ErrDisputeRejected {
			t.Fatalf("a dispute of a correct claim: %v", err)
		}
		e.disputer.Nonce--
		e.Mine(e.miner, e.disputer.Dispute(id, wrong))
		j := e.job(id)
		if j.State != chain.JobDisputed {
			t.Fatalf("job %s", j.State)
		}
		// The client gets the reward back; n1 and n2 lose their stakes,
		// half to the disputer and half burned; n3 gets its stake back.
		if got := e.balance(e.client); got != c0-fee {
			t.Fatalf("client %d, want %d", got, c0-fee)
		}
		bounty := 2 * stake * e.Chain.Params().DisputeBounty / 100
		if got := e.balance(e.disputer); got != d0+bounty-fee {
			t.Fatalf("disputer %d, want %d", got, d0+bounty-fee)
		}
		if got := e.balance(e.n3); got != n30-fee {
			t.Fatalf("n3 %d, want %d", got, n30-fee)
		}
		sp, _ := e.Chain.Supply()
		if sp.Burned < 2*stake-bounty {
			t.Fatalf("burned %d", sp.Burned)
		}
		// Settled jobs cannot be disputed again, and nothing pays later.
		e.advance(e.Chain.Params().DisputeWindow)
		if j := e.job(id); j.State != chain.JobDisputed {
			t.Fatalf("job %s after the window", j.State)
		}
		e.checkSupply()
	})

	t.Run("missing output after payment slashes", func(t *testing.T) {
		e := newEconomy(t)
		c0, n30 := e.balance(e.client), e.balance(e.n3)
		id := e.openJob("missing", reward, stake)
		e.record(id, chaintest.ToyOutput(id, e.bundle), e.n1, e.n2) // n3 delivered nothing
		e.advance(e.Chain.Params().DisputeWindow)
		if got := e.balance(e.n3); got != n30-stake-fee {
			t.Fatalf("n3 %d, want its stake gone: %d", got, n30-stake-fee)
		}
		if got := e.balance(e.client); got != c0-reward-fee+stake {
			t.Fatalf("client %d, want the slashed stake: %d", got, c0-reward-fee+stake)
		}
		e.checkSupply()

		// Nobody delivers at all: at the deadline the client is refunded and
		// every stake is slashed to it.
		c1 := e.balance(e.client)
		id2 := keys.SHA256([]byte("nobody"))
		deadline := e.Chain.MedianTimePast() + (e.Chain.Params().MinJobAge + 5*time.Second).Milliseconds()
		e.Mine(e.miner, e.client.Escrow(id2, chain.JobEscrow{BundleRoot: e.bundle, Reward: reward, Replication: 2, MinStake: stake, Deadline: deadline}))
		e.Mine(e.miner, e.n1.Stake(id2, stake), e.n2.Stake(id2, stake))
		e.advance(e.Chain.Params().MinJobAge + 10*time.Second)
		if j := e.job(id2); j.State != chain.JobExpired {
			t.Fatalf("job %s after its deadline", j.State)
		}
		if got := e.balance(e.client); got != c1-fee+2*stake {
			t.Fatalf("client %d, want %d", got, c1-fee+2*stake)
		}
		e.checkSupply()
	})

	t.Run("client who never pays gets no output", func(t *testing.T) {
		e := newEconomy(t)
		id := keys.SHA256([]byte("unpaid"))
		if _, err := e.Chain.ProcessBlock(e.RawBlock(e.miner, e.n1.Stake(id, stake))); chain.CodeOf(err) != chain.ErrUnknownJob {
			t.Fatalf("stake on an unpaid job: %v", err)
		}
		e.n1.Nonce--
		rh := keys.SHA256([]byte("output"))
		cert, agree := chaintest.ToyCertificate(id, rh, e.n1.Key)
		if _, err := e.Chain.ProcessBlock(e.RawBlock(e.miner, e.n1.Result(id, chain.Result{BundleRoot: e.bundle, ResultHash: rh, Certificate: cert, Agree: agree}))); chain.CodeOf(err) != chain.ErrUnknownJob {
			t.Fatalf("result of an unpaid job: %v", err)
		}
	})
}
