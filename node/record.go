package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/node/proto"
)

// Stage is where a job is in its life, as this node has seen it.
type Stage string

const (
	StageSubmitted Stage = "submitted" // announced; escrow waiting for a block
	StageEscrowed  Stage = "escrowed"  // escrow in a block; taking stakes
	StageAccepted  Stage = "accepted"  // every stake in; computing
	StageCommitted Stage = "committed" // commit phase over
	StageRevealed  Stage = "revealed"  // reveals in; verifying
	StageDecided   Stage = "decided"   // the consensus rule accepted a result
	StageRecorded  Stage = "recorded"  // the result transaction is in a block
	StageSettled   Stage = "settled"   // paid out after the dispute window
	StageDisputed  Stage = "disputed"  // the recorded result was proven wrong
	StageExpired   Stage = "expired"   // no result by the deadline; client refunded
	StageFailed    Stage = "failed"    // undecided; the chain will expire it
)

// Final reports a stage after which nothing changes.
func (s Stage) Final() bool { return s == StageSettled || s == StageDisputed || s == StageExpired }

// Event is one entry of a job's history.
type Event struct {
	Time   time.Time `json:"time"`
	Stage  Stage     `json:"stage,omitempty"`
	What   string    `json:"what"`
	Height uint64    `json:"height,omitempty"`
}

// NodeView is one compute node's part in a job.
type NodeView struct {
	Node         string `json:"node"`    // public key, hex
	Address      string `json:"address"` // chain account
	Stake        uint64 `json:"stake"`
	Committed    bool   `json:"committed"`
	Revealed     bool   `json:"revealed"`
	Verification string `json:"verification,omitempty"`
	Failed       string `json:"failed,omitempty"`
	Position     int32  `json:"position,omitempty"`
	Agree        bool   `json:"agree"`
	Signed       bool   `json:"signed"`
	Paid         int64  `json:"paid"` // net change at settlement: reward share, or −stake when slashed
}

// LocalWork is this node's own computation of a job.
type LocalWork struct {
	StakeTx    keys.Hash     `json:"stake_tx"`
	Staked     bool          `json:"staked"` // stake recorded on chain
	Computed   bool          `json:"computed"`
	Tokens     []int32       `json:"tokens,omitempty"`
	Digest     keys.Hash     `json:"digest"`
	Text       string        `json:"text,omitempty"`
	Compute    time.Duration `json:"compute_ns"`
	WorkUnits  uint64        `json:"work_units"`
	Committed  bool          `json:"committed"`
	Revealed   bool          `json:"revealed"`
	CertSigned bool          `json:"cert_signed"`
	Dropped    bool          `json:"dropped"` // the job filled without us
	Error      string        `json:"error,omitempty"`
}

// JobRecord is everything a node knows about a job. It is persisted after
// every change.
type JobRecord struct {
	ID           keys.Hash  `json:"id"`
	JobBytes     []byte     `json:"job"` // proto.Job, signed
	EscrowTx     []byte     `json:"escrow_tx"`
	Coordinator  string     `json:"coordinator"` // public key, hex
	Coordinating bool       `json:"coordinating"`
	Bundle       string     `json:"bundle"`
	Model        string     `json:"model,omitempty"`
	Prompt       string     `json:"prompt"`
	Stage        Stage      `json:"stage"`
	History      []Event    `json:"history"`
	Nodes        []NodeView `json:"nodes"`

	// Timings, unix ms on this node's clock.
	Received   int64 `json:"received"`
	AcceptedAt int64 `json:"accepted_at,omitempty"`
	RevealAt   int64 `json:"reveal_at,omitempty"` // when the commit phase ends
	DecideAt   int64 `json:"decide_at,omitempty"` // when the reveal phase ends
	DecidedAt  int64 `json:"decided_at,omitempty"`
	RecordAt   int64 `json:"record_at,omitempty"` // when the signing phase ends
	RecordedAt int64 `json:"recorded_at,omitempty"`
	ClosedAt   int64 `json:"closed_at,omitempty"`

	// Protocol messages, as received (encoded).
	Commits  map[string][]byte `json:"commits,omitempty"`
	Reveals  map[string][]byte `json:"reveals,omitempty"`
	Decision []byte            `json:"decision,omitempty"`
	CertSigs map[string][]byte `json:"cert_sigs,omitempty"`

	// The outcome.
	Rule        string    `json:"rule,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Result      keys.Hash `json:"result"`
	Tokens      []int32   `json:"tokens,omitempty"`
	Text        string    `json:"text,omitempty"`
	ResultTx    keys.Hash `json:"result_tx"`
	BlockHash   keys.Hash `json:"block_hash"`
	BlockHeight uint64    `json:"block_height,omitempty"`

	Local *LocalWork `json:"local,omitempty"`
}

// Job decodes the signed job.
func (r *JobRecord) Job() (*proto.Job, error) { return proto.DecodeJob(r.JobBytes) }

func (r *JobRecord) node(pub []byte) *NodeView {
	h := fmt.Sprintf("%x", pub)
	for i := range r.Nodes {
		if r.Nodes[i].Node == h {
			return &r.Nodes[i]
		}
	}
	return nil
}

func (r *JobRecord) event(stage Stage, height uint64, format string, args ...any) {
	if r.Stage.Final() && stage != "" && !stage.Final() {
		// A closed job stays closed (a decision gossiped late must not
		// reopen it); only a reorganisation reopens one (reopen).
		stage = ""
	}
	if stage != "" {
		r.Stage = stage
	}
	r.History = append(r.History, Event{Time: time.Now(), Stage: stage, What: fmt.Sprintf(format, args...), Height: height})
}

// reopen moves a record back to an earlier stage (the chain reorganised).
func (r *JobRecord) reopen(stage Stage, height uint64, format string, args ...any) {
	r.Stage = stage
	r.History = append(r.History, Event{Time: time.Now(), Stage: stage, What: fmt.Sprintf(format, args...), Height: height})
}

func (r *JobRecord) clone() *JobRecord {
	b, _ := json.Marshal(r)
	var c JobRecord
	_ = json.Unmarshal(b, &c)
	return &c
}

// jobDB persists job records in pebble: "j" ‖ id → JSON.
type jobDB struct{ db *pebble.DB }

func jobKey(id keys.Hash) []byte { return append([]byte{'j'}, id[:]...) }

func (d jobDB) put(r *JobRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return d.db.Set(jobKey(r.ID), b, pebble.Sync)
}

func (d jobDB) all() ([]*JobRecord, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'j'}, UpperBound: []byte{'k'}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*JobRecord
	for it.First(); it.Valid(); it.Next() {
		var r JobRecord
		if err := json.Unmarshal(it.Value(), &r); err != nil {
			return nil, fmt.Errorf("node: job record %x: %w", it.Key()[1:], err)
		}
		// Empty message maps are left out of the JSON: a record read back
		// must take messages as one just announced does.
		if r.Commits == nil {
			r.Commits = map[string][]byte{}
		}
		if r.Reveals == nil {
			r.Reveals = map[string][]byte{}
		}
		if r.CertSigs == nil {
			r.CertSigs = map[string][]byte{}
		}
		out = append(out, &r)
	}
	return out, it.Error()
}

var errNoJob = errors.New("node: no such job")
