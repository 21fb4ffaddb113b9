package chain

import (
	"bytes"
	"encoding/binary"
	"sort"

	"github.com/dnahost/dnahost/keys"
)

// State key prefixes. Every state record lives under one of these; the
// index keys (block headers, bodies, heights, transaction locations) use
// others (store.go).
const (
	prefixAccount = 'a' // address → Account
	prefixJob     = 'j' // job ID → Job
	prefixSettle  = 'q' // u64 time ‖ job ID → nothing: jobs to settle at chain time
	prefixExpire  = 'e' // u64 time ‖ job ID → nothing: jobs to expire at chain time
	keySupply     = 's' // Supply
)

func accountKey(a keys.Address) []byte { return append([]byte{prefixAccount}, a[:]...) }
func jobKey(id keys.Hash) []byte       { return append([]byte{prefixJob}, id[:]...) }
func queueKey(prefix byte, at int64, id keys.Hash) []byte {
	k := make([]byte, 1, 1+8+32)
	k[0] = prefix
	k = binary.BigEndian.AppendUint64(k, uint64(at))
	return append(k, id[:]...)
}

// Account is an address's balance and the nonce its next transaction
// must carry.
type Account struct {
	Balance uint64
	Nonce   uint64
}

func (a *Account) encode() []byte {
	var w writer
	w.u64(a.Balance)
	w.u64(a.Nonce)
	return w
}

func decodeAccount(b []byte) (*Account, error) {
	r := &reader{b: b, what: "account"}
	a := &Account{Balance: r.u64(), Nonce: r.u64()}
	return a, r.done()
}

// JobState is where a job is in its life (§2.4.1).
type JobState uint8

const (
	JobCreated   JobState = 1 // escrowed; taking stakes
	JobAccepted  JobState = 2 // every stake in; the result may be recorded
	JobCompleted JobState = 3 // result recorded; open to disputes
	JobSettled   JobState = 4 // paid out after the dispute window
	JobDisputed  JobState = 5 // result proven wrong; stakes slashed, client refunded
	JobExpired   JobState = 6 // deadline passed without a result
)

var jobStateNames = map[JobState]string{JobCreated: "created", JobAccepted: "accepted", JobCompleted: "completed",
	JobSettled: "settled", JobDisputed: "disputed", JobExpired: "expired"}

func (s JobState) String() string {
	if n, ok := jobStateNames[s]; ok {
		return n
	}
	return "unknown"
}

// StakeEntry is one node's bond on a job.
type StakeEntry struct {
	Node   keys.Address
	Amount uint64
}

// Job is a job's on-chain record.
type Job struct {
	ID          keys.Hash
	Client      keys.Address
	BundleRoot  keys.Hash
	Reward      uint64
	Replication uint8
	MinStake    uint64
	Deadline    int64 // unix ms
	Rule        string
	CreatedAt   int64 // chain time of the escrow's block
	State       JobState
	Stakes      []StakeEntry // in the order they were recorded
	// Set once a result is recorded.
	ResultHash  keys.Hash
	ResultRule  string
	ResultTx    keys.Hash
	Agree       []keys.Address
	CompletedAt int64
	SettleAt    int64
	// Set when the job ends (settled, disputed or expired).
	ClosedAt int64
}

// StakeOf returns a node's stake on the job.
func (j *Job) StakeOf(a keys.Address) (uint64, bool) {
	for _, s := range j.Stakes {
		if s.Node == a {
			return s.Amount, true
		}
	}
	return 0, false
}

func (j *Job) agrees(a keys.Address) bool {
	i := sort.Search(len(j.Agree), func(i int) bool { return bytes.Compare(j.Agree[i][:], a[:]) >= 0 })
	return i < len(j.Agree) && j.Agree[i] == a
}

func (j *Job) encode() []byte {
	var w writer
	w.hash(j.ID)
	w.addr(j.Client)
	w.hash(j.BundleRoot)
	w.u64(j.Reward)
	w.u8(j.Replication)
	w.u64(j.MinStake)
	w.u64(uint64(j.Deadline))
	w.bytes([]byte(j.Rule))
	w.u64(uint64(j.CreatedAt))
	w.u8(uint8(j.State))
	w.u8(uint8(len(j.Stakes)))
	for _, s := range j.Stakes {
		w.addr(s.Node)
		w.u64(s.Amount)
	}
	w.hash(j.ResultHash)
	w.bytes([]byte(j.ResultRule))
	w.hash(j.ResultTx)
	w.u8(uint8(len(j.Agree)))
	for _, a := range j.Agree {
		w.addr(a)
	}
	w.u64(uint64(j.CompletedAt))
	w.u64(uint64(j.SettleAt))
	w.u64(uint64(j.ClosedAt))
	return w
}

func decodeJob(b []byte) (*Job, error) {
	r := &reader{b: b, what: "job record"}
	j := &Job{ID: r.hash(), Client: r.addr(), BundleRoot: r.hash(), Reward: r.u64(), Replication: r.u8(),
		MinStake: r.u64(), Deadline: int64(r.u64()), Rule: string(r.bytes(maxRuleLen)), CreatedAt: int64(r.u64()),
		State: JobState(r.u8())}
	n := int(r.u8())
	if r.err == nil && n*28 > len(r.b) {
		r.fail("%d stakes", n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		j.Stakes = append(j.Stakes, StakeEntry{Node: r.addr(), Amount: r.u64()})
	}
	j.ResultHash = r.hash()
	j.ResultRule = string(r.bytes(maxRuleLen))
	j.ResultTx = r.hash()
	n = int(r.u8())
	if r.err == nil && n*20 > len(r.b) {
		r.fail("%d agreeing nodes", n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		j.Agree = append(j.Agree, r.addr())
	}
	j.CompletedAt, j.SettleAt, j.ClosedAt = int64(r.u64()), int64(r.u64()), int64(r.u64())
	return j, r.done()
}

// Supply tracks where coins came from and went, for the invariant
// minted = balances + escrowed rewards + stakes + burned.
type Supply struct {
	Minted uint64
	Burned uint64
}

func (s *Supply) encode() []byte {
	var w writer
	w.u64(s.Minted)
	w.u64(s.Burned)
	return w
}

func decodeSupply(b []byte) (*Supply, error) {
	r := &reader{b: b, what: "supply"}
	s := &Supply{Minted: r.u64(), Burned: r.u64()}
	return s, r.done()
}
