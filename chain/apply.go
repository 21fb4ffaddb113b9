package chain

import (
	"math/bits"

	"github.com/dnahost/dnahost/keys"
)

// blockContext is what contextual rules need besides the state.
type blockContext struct {
	p        *Params
	height   uint64
	time     int64 // chain time: the median time past of the parent chain, unix ms
	verifier ResultVerifier
}

func add(a, b uint64) (uint64, error) {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return 0, ruleErr(ErrOverflow, "%d + %d overflows", a, b)
	}
	return s, nil
}

// credit adds to an account.
func (s *stateWriter) credit(a keys.Address, amount uint64) error {
	if amount == 0 {
		return nil
	}
	acc, err := s.account(a)
	if err != nil {
		return err
	}
	if acc.Balance, err = add(acc.Balance, amount); err != nil {
		return err
	}
	return s.putAccount(a, acc)
}

// burn records coins leaving circulation.
func (s *stateWriter) burn(amount uint64) error {
	if amount == 0 {
		return nil
	}
	sp, err := readSupply(s.kv)
	if err != nil {
		return err
	}
	sp.Burned += amount
	return s.putSupply(sp)
}

// connectState applies a block to the state: first the jobs the chain time
// settles or expires, then the transactions, then the coinbase. It returns
// a *RuleError for any rule the block breaks; the caller discards the
// writes then.
func connectState(s *stateWriter, blk *Block, bc blockContext) error {
	if err := settleDue(s, bc); err != nil {
		return err
	}
	var fees uint64
	for i, tx := range blk.Txs[1:] {
		fee, err := applyTx(s, tx, bc)
		if err != nil {
			if re, ok := err.(*RuleError); ok {
				re.Desc = "tx " + itoa(i+1) + " (" + tx.ID().String()[:16] + "): " + re.Desc
			}
			return err
		}
		if fees, err = add(fees, fee); err != nil {
			return err
		}
	}
	cb, err := DecodeCoinbase(blk.Txs[0].Payload)
	if err != nil {
		return err
	}
	limit, err := add(bc.p.Subsidy(bc.height), fees)
	if err != nil {
		return err
	}
	if cb.Amount > limit {
		return ruleErr(ErrBadCoinbaseValue, "coinbase pays %d, subsidy and fees are %d", cb.Amount, limit)
	}
	sp, err := readSupply(s.kv)
	if err != nil {
		return err
	}
	// Fees move coins; only the subsidy is new. A miner may claim less than
	// it could: the rest of the subsidy is never minted, unclaimed fees burn.
	minted := min(cb.Amount, bc.p.Subsidy(bc.height))
	if sp.Minted, err = add(sp.Minted, minted); err != nil {
		return err
	}
	sp.Burned += fees - (cb.Amount - minted)
	if err := s.putSupply(sp); err != nil {
		return err
	}
	return s.credit(cb.To, cb.Amount)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// applyTx checks a transaction against the state and applies it, returning
// its fee. Context-free checks (CheckTxSanity) must have passed.
func applyTx(s *stateWriter, tx *Tx, bc blockContext) (uint64, error) {
	if tx.LockTime > bc.height {
		return 0, ruleErr(ErrLockTime, "locked until height %d", tx.LockTime)
	}
	body, err := tx.Body()
	if err != nil {
		return 0, err
	}
	from := tx.Sender()
	acc, err := s.account(from)
	if err != nil {
		return 0, err
	}
	if tx.Nonce != acc.Nonce {
		return 0, ruleErr(ErrBadNonce, "nonce %d, account's next is %d", tx.Nonce, acc.Nonce)
	}
	// What the sender pays besides the fee.
	var spend uint64
	switch b := body.(type) {
	case *Transfer:
		spend = b.Amount
	case *JobEscrow:
		spend = b.Reward
	case *Stake:
		spend = b.Amount
	}
	cost, err := add(spend, tx.Fee)
	if err != nil {
		return 0, err
	}
	if acc.Balance < cost {
		return 0, ruleErr(ErrInsufficientFunds, "balance %d, needs %d", acc.Balance, cost)
	}
	acc.Balance -= cost
	acc.Nonce++
	if err := s.putAccount(from, acc); err != nil {
		return 0, err
	}
	switch b := body.(type) {
	case *Transfer:
		err = s.credit(b.To, b.Amount)
	case *JobEscrow:
		err = applyJobEscrow(s, tx, b, bc)
	case *Stake:
		err = applyStake(s, tx, b, bc)
	case *Result:
		err = applyResult(s, tx, b, bc)
	case *Dispute:
		err = applyDispute(s, tx, b, bc)
	}
	return tx.Fee, err
}

func applyJobEscrow(s *stateWriter, tx *Tx, b *JobEscrow, bc blockContext) error {
	if _, exists, err := readJob(s.kv, tx.JobID); err != nil || exists {
		if err != nil {
			return err
		}
		return ruleErr(ErrJobExists, "job %s exists", tx.JobID.String()[:16])
	}
	earliest := bc.time + bc.p.MinJobAge.Milliseconds()
	latest := bc.time + bc.p.MaxJobDuration.Milliseconds()
	if b.Deadline <= earliest || b.Deadline > latest {
		return ruleErr(ErrBadDeadline, "deadline %d outside (%d, %d]", b.Deadline, earliest, latest)
	}
	j := &Job{ID: tx.JobID, Client: tx.Sender(), BundleRoot: b.BundleRoot, Reward: b.Reward,
		Replication: b.Replication, MinStake: b.MinStake, Deadline: b.Deadline, Rule: b.Rule,
		CreatedAt: bc.time, State: JobCreated}
	if err := s.putJob(j); err != nil {
		return err
	}
	return s.put(queueKey(prefixExpire, j.Deadline, j.ID), nil)
}

func (s *stateWriter) openJob(id keys.Hash) (*Job, error) {
	j, ok, err := readJob(s.kv, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ruleErr(ErrUnknownJob, "no job %s (unpaid jobs get no stakes and no results)", id.String()[:16])
	}
	return j, nil
}

func applyStake(s *stateWriter, tx *Tx, b *Stake, bc blockContext) error {
	j, err := s.openJob(tx.JobID)
	if err != nil {
		return err
	}
	switch {
	case j.State == JobAccepted:
		return ruleErr(ErrJobFull, "job has its %d stakes", j.Replication)
	case j.State == JobExpired: // settleDue expires a job at its deadline, before any transaction
		return ruleErr(ErrJobExpired, "job's deadline passed")
	case j.State != JobCreated:
		return ruleErr(ErrJobState, "job is %s", j.State)
	case bc.time >= j.Deadline:
		return ruleErr(ErrJobExpired, "job's deadline passed")
	case b.Amount < j.MinStake:
		return ruleErr(ErrStakeTooLow, "stake %d, job needs %d", b.Amount, j.MinStake)
	}
	node := tx.Sender()
	if _, staked := j.StakeOf(node); staked {
		return ruleErr(ErrAlreadyStaked, "node staked already")
	}
	j.Stakes = append(j.Stakes, StakeEntry{Node: node, Amount: b.Amount})
	if len(j.Stakes) == int(j.Replication) {
		j.State = JobAccepted
	}
	return s.putJob(j)
}

func applyResult(s *stateWriter, tx *Tx, b *Result, bc blockContext) error {
	j, err := s.openJob(tx.JobID)
	if err != nil {
		return err
	}
	switch {
	case j.State == JobExpired:
		return ruleErr(ErrJobExpired, "job's deadline passed")
	case j.State != JobAccepted:
		return ruleErr(ErrJobState, "job is %s, a result needs it accepted", j.State)
	case bc.time < j.CreatedAt+bc.p.MinJobAge.Milliseconds():
		return ruleErr(ErrJobTooYoung, "result %d ms after the job, minimum %v", bc.time-j.CreatedAt, bc.p.MinJobAge)
	case bc.time >= j.Deadline:
		return ruleErr(ErrJobExpired, "job's deadline passed")
	case b.BundleRoot != j.BundleRoot:
		return ruleErr(ErrBundleMismatch, "result for bundle %s, job's is %s", b.BundleRoot.String()[:16], j.BundleRoot.String()[:16])
	}
	for _, a := range b.Agree {
		if _, ok := j.StakeOf(a); !ok {
			return ruleErr(ErrNotStaker, "agreeing node %x did not stake", a[:8])
		}
	}
	if err := bc.verifier.CheckResult(j, b); err != nil {
		return ruleErr(ErrBadCertificate, "%v", err)
	}
	j.State = JobCompleted
	j.ResultHash, j.ResultRule, j.ResultTx, j.Agree = b.ResultHash, b.Rule, tx.ID(), b.Agree
	j.CompletedAt = bc.time
	j.SettleAt = bc.time + bc.p.DisputeWindow.Milliseconds()
	if err := s.putJob(j); err != nil {
		return err
	}
	if err := s.remove(queueKey(prefixExpire, j.Deadline, j.ID)); err != nil {
		return err
	}
	return s.put(queueKey(prefixSettle, j.SettleAt, j.ID), nil)
}

// applyDispute: a proven dispute slashes the agreeing nodes (the bounty to
// the disputer, the rest burned), refunds the client's reward, and returns
// the other stakers' bonds (their outputs were not the one proven wrong).
func applyDispute(s *stateWriter, tx *Tx, b *Dispute, bc blockContext) error {
	j, err := s.openJob(tx.JobID)
	if err != nil {
		return err
	}
	switch {
	case j.State == JobSettled: // settleDue settles a job when its window closes, before any transaction
		return ruleErr(ErrDisputeWindow, "dispute window closed")
	case j.State != JobCompleted:
		return ruleErr(ErrJobState, "job is %s, a dispute needs a recorded result", j.State)
	case bc.time >= j.SettleAt:
		return ruleErr(ErrDisputeWindow, "dispute window closed")
	}
	if err := bc.verifier.CheckDispute(j, b.Evidence); err != nil {
		return ruleErr(ErrDisputeRejected, "%v", err)
	}
	var slashed uint64
	for _, st := range j.Stakes {
		if j.agrees(st.Node) {
			slashed += st.Amount
		} else if err := s.credit(st.Node, st.Amount); err != nil {
			return err
		}
	}
	bounty := slashed / 100 * bc.p.DisputeBounty
	bounty += slashed % 100 * bc.p.DisputeBounty / 100
	if err := s.credit(tx.Sender(), bounty); err != nil {
		return err
	}
	if err := s.burn(slashed - bounty); err != nil {
		return err
	}
	if err := s.credit(j.Client, j.Reward); err != nil {
		return err
	}
	j.State, j.ClosedAt = JobDisputed, bc.time
	if err := s.putJob(j); err != nil {
		return err
	}
	return s.remove(queueKey(prefixSettle, j.SettleAt, j.ID))
}

// settleDue ends the jobs whose time has come, in queue order: completed
// jobs past their dispute window are paid out; jobs past their deadline
// without a result expire.
func settleDue(s *stateWriter, bc blockContext) error {
	for _, q := range []byte{prefixSettle, prefixExpire} {
		ids, err := due(s.kv, q, bc.time)
		if err != nil {
			return err
		}
		for _, id := range ids {
			j, ok, err := readJob(s.kv, id)
			if err != nil {
				return err
			}
			if !ok {
				return errCorrupt
			}
			at := j.SettleAt
			if q == prefixSettle {
				err = settle(s, j)
			} else {
				at = j.Deadline
				err = expire(s, j)
			}
			if err != nil {
				return err
			}
			j.ClosedAt = bc.time
			if err := s.putJob(j); err != nil {
				return err
			}
			if err := s.remove(queueKey(q, at, id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle pays a completed job: the reward shared by the agreeing nodes
// (the remainder of the division to the first), their stakes returned; a
// staker not among them delivered no output or a losing one, and its stake
// goes to the client (§2.4, "missing output → slashed").
func settle(s *stateWriter, j *Job) error {
	share := j.Reward / uint64(len(j.Agree))
	rest := j.Reward - share*uint64(len(j.Agree))
	for i, a := range j.Agree {
		pay := share
		if i == 0 {
			pay += rest
		}
		if err := s.credit(a, pay); err != nil {
			return err
		}
	}
	for _, st := range j.Stakes {
		to := st.Node
		if !j.agrees(st.Node) {
			to = j.Client
		}
		if err := s.credit(to, st.Amount); err != nil {
			return err
		}
	}
	j.State = JobSettled
	return nil
}

// expire ends a job that got no result by its deadline: the client gets
// the reward back; if every stake was in (the nodes had taken the job)
// their stakes go to the client too, else they are returned.
func expire(s *stateWriter, j *Job) error {
	if err := s.credit(j.Client, j.Reward); err != nil {
		return err
	}
	for _, st := range j.Stakes {
		to := st.Node
		if j.State == JobAccepted {
			to = j.Client
		}
		if err := s.credit(to, st.Amount); err != nil {
			return err
		}
	}
	j.State = JobExpired
	return nil
}
