package verify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/runtime"
)

// Job is what determines a completion: the bundle and the inference
// parameters. Two honest nodes given the same Job produce the same tokens.
type Job struct {
	Bundle       keys.Hash
	PromptTokens []int32
	MaxTokens    int
	Temperature  float32
	TopK         int
	Seed         uint64
}

// Limits on a job, checked before anything is allocated for it.
const (
	MaxPromptTokens = 1 << 20
	MaxOutputTokens = 1 << 20
)

// ErrJob reports job parameters that no honest generation could have.
var ErrJob = errors.New("verify: invalid job")

// Validate checks the parameters on their own.
func (j *Job) Validate() error {
	switch {
	case len(j.PromptTokens) == 0 || len(j.PromptTokens) > MaxPromptTokens:
		return fmt.Errorf("%w: %d prompt tokens", ErrJob, len(j.PromptTokens))
	case j.MaxTokens < 0 || j.MaxTokens > MaxOutputTokens:
		return fmt.Errorf("%w: max tokens %d", ErrJob, j.MaxTokens)
	case !(j.Temperature >= 0) || math.IsInf(float64(j.Temperature), 0):
		return fmt.Errorf("%w: temperature %v", ErrJob, j.Temperature)
	case j.TopK < 0:
		return fmt.Errorf("%w: top-k %d", ErrJob, j.TopK)
	}
	for i, t := range j.PromptTokens {
		if t < 0 {
			return fmt.Errorf("%w: prompt token %d at %d", ErrJob, t, i)
		}
	}
	return nil
}

// Encode is the job's canonical binary encoding:
//
//	"dna-job/1" ‖ bundle[32] ‖ u32 n ‖ n × i32 prompt tokens ‖ u32 max tokens ‖
//	u32 temperature bits ‖ u32 top-k ‖ u64 seed
func (j *Job) Encode() []byte {
	b := make([]byte, 0, 9+32+4+4*len(j.PromptTokens)+20)
	b = append(b, "dna-job/1"...)
	b = append(b, j.Bundle[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(j.PromptTokens)))
	for _, t := range j.PromptTokens {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(j.MaxTokens))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(j.Temperature))
	b = binary.LittleEndian.AppendUint32(b, uint32(j.TopK))
	return binary.LittleEndian.AppendUint64(b, j.Seed)
}

// ID is the SHA-256 of the canonical encoding.
func (j *Job) ID() keys.Hash { return keys.SHA256(j.Encode()) }

// RuntimeJob is the generation request for this job.
func (j *Job) RuntimeJob() runtime.Job {
	return runtime.Job{PromptTokens: j.PromptTokens, MaxTokens: j.MaxTokens, Temperature: j.Temperature, TopK: j.TopK, Seed: j.Seed}
}

// DecodeJob is the inverse of Encode.
func DecodeJob(b []byte) (*Job, error) {
	const fixed = 9 + 32 + 4 + 4 + 4 + 4 + 8
	if len(b) < fixed || string(b[:9]) != "dna-job/1" {
		return nil, fmt.Errorf("%w: not a job encoding", ErrJob)
	}
	j := &Job{}
	copy(j.Bundle[:], b[9:41])
	n := binary.LittleEndian.Uint32(b[41:])
	if n > MaxPromptTokens || uint64(len(b)) != fixed+4*uint64(n) {
		return nil, fmt.Errorf("%w: %d prompt tokens in %d bytes", ErrJob, n, len(b))
	}
	p := 45
	j.PromptTokens = make([]int32, n)
	for i := range j.PromptTokens {
		j.PromptTokens[i] = int32(binary.LittleEndian.Uint32(b[p:]))
		p += 4
	}
	j.MaxTokens = int(int32(binary.LittleEndian.Uint32(b[p:])))
	j.Temperature = math.Float32frombits(binary.LittleEndian.Uint32(b[p+4:]))
	j.TopK = int(int32(binary.LittleEndian.Uint32(b[p+8:])))
	j.Seed = binary.LittleEndian.Uint64(b[p+12:])
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return j, nil
}
