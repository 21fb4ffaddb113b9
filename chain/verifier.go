package chain

import "errors"

// ResultVerifier judges what the chain cannot check from its own state:
// whether a result's certificate proves the agreeing nodes decided it, and
// whether a dispute's evidence proves a recorded result wrong. Both must be
// deterministic: every node's verifier must give the same answer on the
// same inputs, or the network forks. The node supplies one built on
// consensus certificates and verification; tests use small in-memory ones.
type ResultVerifier interface {
	// CheckResult returns nil if res is a valid result for job.
	CheckResult(job *Job, res *Result) error
	// CheckDispute returns nil if evidence proves job's recorded result
	// (job.ResultHash, job.Agree) wrong.
	CheckDispute(job *Job, evidence []byte) error
}

// OpaqueVerifier accepts any result with a certificate and no dispute: the
// chain records results as opaque, size-capped fields and cannot slash.
// It is the default when Options.Verifier is nil.
type OpaqueVerifier struct{}

// CheckResult implements ResultVerifier.
func (OpaqueVerifier) CheckResult(_ *Job, res *Result) error {
	if len(res.Certificate) == 0 {
		return errors.New("no certificate")
	}
	return nil
}

// CheckDispute implements ResultVerifier.
func (OpaqueVerifier) CheckDispute(*Job, []byte) error {
	return errors.New("this chain has no dispute verifier")
}
