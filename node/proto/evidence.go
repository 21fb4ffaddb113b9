package proto

// Evidence is a dispute's proof that a recorded result is wrong: the job
// and the opening (tokens and digest) whose hash is the recorded result.
// Every node recomputes it with full verification before the dispute can
// enter a block.
type Evidence struct {
	Job     *Job
	Opening *Opening
}

// Encode writes u32 n ‖ job[n] ‖ u32 n ‖ opening[n].
func (e *Evidence) Encode() []byte {
	var w writer
	w.bytes(e.Job.Encode())
	w.bytes(e.Opening.Encode())
	return w
}

// DecodeEvidence parses dispute evidence.
func DecodeEvidence(b []byte) (*Evidence, error) {
	r := &reader{b: b, what: "evidence"}
	jb := r.bytes(MaxPromptBytes + 512)
	ob := r.bytes(MaxRevealBody)
	if err := r.done(); err != nil {
		return nil, err
	}
	j, err := DecodeJob(jb)
	if err != nil {
		return nil, err
	}
	o, err := DecodeOpening(ob)
	if err != nil {
		return nil, err
	}
	return &Evidence{Job: j, Opening: o}, nil
}
