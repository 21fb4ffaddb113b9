package proto

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// Caps on a job.
const (
	MaxPromptBytes = 64 << 10
	MaxJobTokens   = 4096
	MaxRuleLen     = 256
)

// Verification modes a job may ask for.
const (
	VerifyRASTiC uint8 = 0
	VerifyFull   uint8 = 1
)

// Job is a client's signed request for a completion (CamelidCoin §2.4):
// what to run, how many nodes run it, what it pays and until when. Its ID
// is the chain job ID that the client's escrow transaction names.
type Job struct {
	Bundle      keys.Hash
	Prompt      string
	MaxTokens   uint32
	Temperature float32
	TopK        uint32
	Seed        uint64
	Replication uint8
	Reward      uint64 // paid to the agreeing nodes, shared
	MinStake    uint64 // each node bonds at least this
	Deadline    int64  // unix ms; the result must be recorded by then
	Verify      uint8  // VerifyRASTiC or VerifyFull
	Samples     uint8  // RASTiC interior positions (0: the default)
	Private     bool   // reveals are encrypted to the client's key
	Created     int64  // unix ms, makes equal requests distinct
	Client      []byte // compressed public key; pays and signs
	Sig         []byte
}

const jobDomain = "dna-job-spec"

func (j *Job) encode(withSig bool) []byte {
	w := make(writer, 0, 160+len(j.Prompt))
	w.u8(1) // version
	w.hash(j.Bundle)
	w.bytes([]byte(j.Prompt))
	w.u32(j.MaxTokens)
	w.u32(math.Float32bits(j.Temperature))
	w.u32(j.TopK)
	w.u64(j.Seed)
	w.u8(j.Replication)
	w.u64(j.Reward)
	w.u64(j.MinStake)
	w.u64(uint64(j.Deadline))
	w.u8(j.Verify)
	w.u8(j.Samples)
	if j.Private {
		w.u8(1)
	} else {
		w.u8(0)
	}
	w.u64(uint64(j.Created))
	w.raw(j.Client)
	if withSig {
		w.raw(j.Sig)
	}
	return w
}

// Encode is the signed job's canonical bytes.
func (j *Job) Encode() []byte { return j.encode(true) }

// ID is the job's identity: the hash of its unsigned encoding. It is the
// JobID of the escrow, stake and result transactions.
func (j *Job) ID() keys.Hash { return keys.DomainHash(jobDomain, j.encode(false)) }

// Sign sets Client and Sig.
func (j *Job) Sign(k *keys.PrivateKey) {
	j.Client = k.Public().Bytes()
	j.Sig = k.SignDomain(jobDomain, j.encode(false))
}

// ClientKey is the client's public key.
func (j *Job) ClientKey() (*keys.PublicKey, error) { return keys.ParsePublicKey(j.Client) }

// ClientAddress is the account that pays.
func (j *Job) ClientAddress() keys.Address { return keys.Address(keys.Hash160(j.Client)) }

// Check validates the job's fields and signature.
func (j *Job) Check() error {
	switch {
	case len(j.Prompt) == 0:
		return fmt.Errorf("%w: empty prompt", ErrMessage)
	case len(j.Prompt) > MaxPromptBytes:
		return fmt.Errorf("%w: prompt of %d bytes", ErrMessage, len(j.Prompt))
	case j.MaxTokens == 0 || j.MaxTokens > MaxJobTokens:
		return fmt.Errorf("%w: max tokens %d outside 1..%d", ErrMessage, j.MaxTokens, MaxJobTokens)
	case !(j.Temperature >= 0 && j.Temperature <= 100):
		return fmt.Errorf("%w: temperature %v", ErrMessage, j.Temperature)
	case j.Replication == 0:
		return fmt.Errorf("%w: replication 0", ErrMessage)
	case j.Reward == 0:
		return fmt.Errorf("%w: no reward", ErrMessage)
	case j.Verify > VerifyFull:
		return fmt.Errorf("%w: verification mode %d", ErrMessage, j.Verify)
	}
	pub, err := j.ClientKey()
	if err != nil {
		return fmt.Errorf("%w: client key: %v", ErrMessage, err)
	}
	if err := pub.VerifyDomain(jobDomain, j.encode(false), j.Sig); err != nil {
		return fmt.Errorf("%w: job signature: %v", ErrMessage, err)
	}
	return nil
}

// DeadlineTime is the deadline as a time.
func (j *Job) DeadlineTime() time.Time { return time.UnixMilli(j.Deadline) }

// Escrow is the escrow payload the client's transaction must carry.
func (j *Job) Escrow() chain.JobEscrow {
	return chain.JobEscrow{BundleRoot: j.Bundle, Reward: j.Reward, Replication: j.Replication,
		MinStake: j.MinStake, Deadline: j.Deadline}
}

// ErrEscrow reports an escrow transaction that does not fund its job.
var ErrEscrow = errors.New("proto: escrow does not match the job")

// CheckEscrow checks that tx is the client's escrow for this job.
func (j *Job) CheckEscrow(tx *chain.Tx) error {
	if tx.Type != chain.TxJobEscrow || tx.JobID != j.ID() {
		return fmt.Errorf("%w: not an escrow of job %s", ErrEscrow, j.ID().String()[:16])
	}
	if tx.Sender() != j.ClientAddress() {
		return fmt.Errorf("%w: escrow from another account", ErrEscrow)
	}
	body, err := tx.Body()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEscrow, err)
	}
	e, ok := body.(*chain.JobEscrow)
	if !ok || *e != j.Escrow() {
		return fmt.Errorf("%w: escrow terms differ from the job's", ErrEscrow)
	}
	return nil
}

// DecodeJob parses a signed job (it does not check the signature; Check does).
func DecodeJob(b []byte) (*Job, error) {
	r := &reader{b: b, what: "job"}
	if v := r.u8(); r.err == nil && v != 1 {
		r.fail("version %d", v)
	}
	j := &Job{Bundle: r.hash(), Prompt: r.str(MaxPromptBytes), MaxTokens: r.u32(), Temperature: r.f32(),
		TopK: r.u32(), Seed: r.u64(), Replication: r.u8(), Reward: r.u64(), MinStake: r.u64(),
		Deadline: int64(r.u64()), Verify: r.u8(), Samples: r.u8()}
	switch p := r.u8(); {
	case r.err != nil:
	case p > 1:
		r.fail("private flag %d", p)
	default:
		j.Private = p == 1
	}
	j.Created = int64(r.u64())
	j.Client = r.pubKey()
	j.Sig = r.sig()
	return j, r.done()
}
