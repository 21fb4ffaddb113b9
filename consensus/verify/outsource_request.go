package verify

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// OutsourceRequest asks another node to recompute one output token of a
// claim (CamelidCoin §2.5.3): the job, the whole claimed output, and the
// index to check. Its wire encoding:
//
//	"dna-vreq/1" ‖ u32 job length ‖ job (Job.Encode) ‖ u32 n ‖ n × i32 tokens ‖ u32 index
type OutsourceRequest struct {
	Job    Job
	Tokens []int32
	Index  int
}

// ErrRequest reports a malformed outsourced request.
var ErrRequest = errors.New("verify: malformed outsourced request")

const requestMagic = "dna-vreq/1"

// MaxRequestBytes bounds an encoded request.
const MaxRequestBytes = 16 + 4 + (9 + 32 + 4 + 4*MaxPromptTokens + 20) + 4 + 4*MaxOutputTokens + 4

// Validate checks a request on its own.
func (q *OutsourceRequest) Validate() error {
	if err := q.Job.Validate(); err != nil {
		return err
	}
	if len(q.Tokens) == 0 || len(q.Tokens) > MaxOutputTokens || len(q.Tokens) > q.Job.MaxTokens {
		return fmt.Errorf("%w: %d output tokens (limit %d)", ErrRequest, len(q.Tokens), q.Job.MaxTokens)
	}
	if q.Index < 0 || q.Index >= len(q.Tokens) {
		return fmt.Errorf("%w: index %d of %d tokens", ErrRequest, q.Index, len(q.Tokens))
	}
	return nil
}

// Encode writes the wire form.
func (q *OutsourceRequest) Encode() []byte {
	job := q.Job.Encode()
	b := make([]byte, 0, len(requestMagic)+8+len(job)+4*len(q.Tokens)+4)
	b = append(b, requestMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(job)))
	b = append(b, job...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(q.Tokens)))
	for _, t := range q.Tokens {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	return binary.LittleEndian.AppendUint32(b, uint32(q.Index))
}

// DecodeOutsourceRequest parses and validates the wire form, checking each
// length against the bytes present before allocating.
func DecodeOutsourceRequest(b []byte) (*OutsourceRequest, error) {
	if len(b) > MaxRequestBytes || len(b) < len(requestMagic)+12 || string(b[:len(requestMagic)]) != requestMagic {
		return nil, fmt.Errorf("%w: bad magic or size %d", ErrRequest, len(b))
	}
	p := len(requestMagic)
	jl := int(binary.LittleEndian.Uint32(b[p:]))
	p += 4
	if jl > len(b)-p-8 {
		return nil, fmt.Errorf("%w: job of %d bytes", ErrRequest, jl)
	}
	job, err := DecodeJob(b[p : p+jl])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	p += jl
	n := binary.LittleEndian.Uint32(b[p:])
	p += 4
	if n > MaxOutputTokens || uint64(len(b)-p) != 4*uint64(n)+4 {
		return nil, fmt.Errorf("%w: %d tokens in %d bytes", ErrRequest, n, len(b)-p)
	}
	q := &OutsourceRequest{Job: *job, Tokens: make([]int32, n)}
	for i := range q.Tokens {
		q.Tokens[i] = int32(binary.LittleEndian.Uint32(b[p:]))
		p += 4
	}
	q.Index = int(binary.LittleEndian.Uint32(b[p:]))
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return q, nil
}
