package verify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// OutsourceAnswer is a verifier's reply to an OutsourceRequest: only a hash
// binding the job, the claimed output, the index and the token the bundle
// gives there — never the token itself. The requester compares it with the
// binding of the claimed token.
//
// Wire form: "dna-vans/1" ‖ job ID[32] ‖ claim hash[32] ‖ u32 index ‖ binding[32].
type OutsourceAnswer struct {
	JobID     keys.Hash
	ClaimHash keys.Hash
	Index     int
	Binding   keys.Hash
}

// ErrAnswer reports a malformed outsourced answer.
var ErrAnswer = errors.New("verify: malformed outsourced answer")

const (
	answerMagic = "dna-vans/1"
	answerSize  = len(answerMagic) + 32 + 32 + 4 + 32
)

// Binding is SHA-256 over the domain, job ID, claim hash, index and token.
// Binding the claim hash ties an answer to one whole claimed output, so it
// cannot be replayed for another.
func Binding(jobID, claimHash keys.Hash, index int, token int32) keys.Hash {
	b := make([]byte, 0, 72)
	b = append(b, jobID[:]...)
	b = append(b, claimHash[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(index))
	b = binary.LittleEndian.AppendUint32(b, uint32(token))
	return keys.DomainHash("outsourced-verification", b)
}

// Answer recomputes the requested token and returns its binding. The prefix
// up to the index is computed in one batched pass.
func (v *Verifier) Answer(ctx context.Context, q *OutsourceRequest) (*OutsourceAnswer, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Job.Bundle != v.md.Bundle().ID() {
		return nil, fmt.Errorf("%w: request names %s", ErrBundle, q.Job.Bundle)
	}
	c := &Claim{Bundle: q.Job.Bundle.String(), PromptTokens: q.Job.PromptTokens, MaxTokens: q.Job.MaxTokens,
		Temperature: q.Job.Temperature, TopK: q.Job.TopK, Seed: q.Job.Seed, Tokens: q.Tokens}
	r := &Report{Valid: true, Position: -1, Index: -1}
	if bad := v.structure(c, &q.Job, r); bad != nil && bad.Failed == CheckFormat {
		return nil, fmt.Errorf("%w: %s", ErrRequest, bad.Detail)
	}
	s, err := v.session(ctx, &q.Job, len(q.Tokens), Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	r = &Report{Valid: true, Position: -1, Index: -1}
	if err := v.recompute(s, &q.Job, c, []int{q.Index}, Options{Mode: RASTiC}, r); err != nil {
		return nil, err
	}
	token := q.Tokens[q.Index]
	if !r.Valid {
		token = r.Recomputed
	}
	return &OutsourceAnswer{JobID: q.Job.ID(), ClaimHash: ClaimHash(q.Tokens), Index: q.Index,
		Binding: Binding(q.Job.ID(), ClaimHash(q.Tokens), q.Index, token)}, nil
}

// Confirms reports whether the answer says the claimed token at the index
// is the one the bundle gives.
func (a *OutsourceAnswer) Confirms(q *OutsourceRequest) bool {
	if q.Index < 0 || q.Index >= len(q.Tokens) {
		return false
	}
	id, ch := q.Job.ID(), ClaimHash(q.Tokens)
	return a.JobID == id && a.ClaimHash == ch && a.Index == q.Index &&
		a.Binding == Binding(id, ch, q.Index, q.Tokens[q.Index])
}

// Encode writes the wire form.
func (a *OutsourceAnswer) Encode() []byte {
	b := make([]byte, 0, answerSize)
	b = append(b, answerMagic...)
	b = append(b, a.JobID[:]...)
	b = append(b, a.ClaimHash[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(a.Index))
	return append(b, a.Binding[:]...)
}

// DecodeOutsourceAnswer parses the wire form.
func DecodeOutsourceAnswer(b []byte) (*OutsourceAnswer, error) {
	if len(b) != answerSize || string(b[:len(answerMagic)]) != answerMagic {
		return nil, fmt.Errorf("%w: %d bytes", ErrAnswer, len(b))
	}
	p := len(answerMagic)
	a := &OutsourceAnswer{}
	copy(a.JobID[:], b[p:])
	copy(a.ClaimHash[:], b[p+32:])
	idx := binary.LittleEndian.Uint32(b[p+64:])
	if idx > MaxOutputTokens {
		return nil, fmt.Errorf("%w: index %d", ErrAnswer, idx)
	}
	a.Index = int(idx)
	copy(a.Binding[:], b[p+68:])
	return a, nil
}
