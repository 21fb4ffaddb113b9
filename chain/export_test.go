package chain

// ErrorCodeEnd is one past the last ErrorCode, for the test that every code
// has a case in rules_test.go.
const ErrorCodeEnd = errorCodeEnd
