package chain

import (
	"errors"
	"fmt"
)

// ErrorCode names a consensus rule. Codes are stable: they appear in logs,
// peer scores and tests.
type ErrorCode int

const (
	// Encoding and size.
	ErrEncoding      ErrorCode = iota + 1 // bytes do not decode canonically
	ErrBlockTooBig                        // block over MaxBlockBytes or MaxBlockTxs
	ErrTxTooBig                           // transaction over MaxTxBytes
	ErrFieldTooLarge                      // a capped field over its cap
	ErrBadVersion                         // unknown block or transaction version

	// Proof of work and headers.
	ErrHighHash        // header hash above its target
	ErrBadBits         // target above the limit, or not the expected target
	ErrBadMerkleRoot   // merkle root does not match the transactions
	ErrBadHeight       // height is not parent's + 1
	ErrTimeTooOld      // timestamp not after the median time past
	ErrTimeTooNew      // timestamp too far ahead of the clock
	ErrUnknownParent   // parent not known (an orphan)
	ErrInvalidAncestor // an ancestor failed validation
	ErrDuplicateBlock  // block already known

	// Block contents.
	ErrNoCoinbase        // first transaction is not a coinbase
	ErrMultipleCoinbase  // a coinbase after the first transaction
	ErrBadCoinbaseHeight // coinbase height differs from the block's
	ErrBadCoinbaseValue  // coinbase pays more than subsidy plus fees
	ErrDuplicateTx       // the same transaction twice in a block

	// Transactions.
	ErrBadTxType         // unknown transaction type
	ErrBadSignature      // signature does not verify
	ErrBadNonce          // nonce is not the sender's next
	ErrInsufficientFunds // balance below amount plus fee
	ErrZeroAmount        // an amount that must be positive is zero
	ErrOverflow          // amounts overflow 64 bits
	ErrLockTime          // lock time not reached
	ErrSelfTransfer      // transfer to the sender

	// Jobs.
	ErrJobExists       // escrow for a job ID already used
	ErrUnknownJob      // no escrow for the job
	ErrJobState        // the job is not in a state that allows this
	ErrBadDeadline     // deadline too soon or too far
	ErrBadReplication  // replication outside 1..MaxReplication
	ErrStakeTooLow     // stake below the job's minimum
	ErrAlreadyStaked   // the node staked on this job already
	ErrJobFull         // the job has all its stakes
	ErrJobTooYoung     // result before MinJobAge
	ErrJobExpired      // deadline passed
	ErrNotStaker       // an agreeing node did not stake
	ErrBadAgreement    // agreeing nodes not sorted, repeated or empty
	ErrBundleMismatch  // result's bundle root is not the job's
	ErrBadCertificate  // the result verifier refused the certificate
	ErrDisputeWindow   // dispute after the window closed
	ErrDisputeRejected // the evidence does not prove the result wrong

	errorCodeEnd
)

var codeNames = map[ErrorCode]string{
	ErrEncoding: "ErrEncoding", ErrBlockTooBig: "ErrBlockTooBig", ErrTxTooBig: "ErrTxTooBig",
	ErrFieldTooLarge: "ErrFieldTooLarge", ErrBadVersion: "ErrBadVersion", ErrHighHash: "ErrHighHash",
	ErrBadBits: "ErrBadBits", ErrBadMerkleRoot: "ErrBadMerkleRoot", ErrBadHeight: "ErrBadHeight",
	ErrTimeTooOld: "ErrTimeTooOld", ErrTimeTooNew: "ErrTimeTooNew", ErrUnknownParent: "ErrUnknownParent",
	ErrInvalidAncestor: "ErrInvalidAncestor", ErrDuplicateBlock: "ErrDuplicateBlock",
	ErrNoCoinbase: "ErrNoCoinbase", ErrMultipleCoinbase: "ErrMultipleCoinbase",
	ErrBadCoinbaseHeight: "ErrBadCoinbaseHeight", ErrBadCoinbaseValue: "ErrBadCoinbaseValue",
	ErrDuplicateTx: "ErrDuplicateTx", ErrBadTxType: "ErrBadTxType", ErrBadSignature: "ErrBadSignature",
	ErrBadNonce: "ErrBadNonce", ErrInsufficientFunds: "ErrInsufficientFunds", ErrZeroAmount: "ErrZeroAmount",
	ErrOverflow: "ErrOverflow", ErrLockTime: "ErrLockTime", ErrSelfTransfer: "ErrSelfTransfer",
	ErrJobExists: "ErrJobExists", ErrUnknownJob: "ErrUnknownJob", ErrJobState: "ErrJobState",
	ErrBadDeadline: "ErrBadDeadline", ErrBadReplication: "ErrBadReplication", ErrStakeTooLow: "ErrStakeTooLow",
	ErrAlreadyStaked: "ErrAlreadyStaked", ErrJobFull: "ErrJobFull", ErrJobTooYoung: "ErrJobTooYoung",
	ErrJobExpired: "ErrJobExpired", ErrNotStaker: "ErrNotStaker", ErrBadAgreement: "ErrBadAgreement",
	ErrBundleMismatch: "ErrBundleMismatch", ErrBadCertificate: "ErrBadCertificate",
	ErrDisputeWindow: "ErrDisputeWindow", ErrDisputeRejected: "ErrDisputeRejected",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// RuleError is a violated consensus rule.
type RuleError struct {
	Code ErrorCode
	Desc string
}

func (e *RuleError) Error() string { return e.Code.String() + ": " + e.Desc }

// Is makes errors.Is(err, &RuleError{Code: c}) match by code.
func (e *RuleError) Is(target error) bool {
	t, ok := target.(*RuleError)
	return ok && t.Code == e.Code
}

func ruleErr(c ErrorCode, format string, args ...any) *RuleError {
	return &RuleError{Code: c, Desc: fmt.Sprintf(format, args...)}
}

// CodeOf returns the rule code of err, or 0 if it is not a rule error.
func CodeOf(err error) ErrorCode {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}
