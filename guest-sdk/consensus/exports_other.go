//go:build !wasip1

package consensus

var rule func(*Input) Decision

// Register installs the module's rule (natively: for tests of the rule).
func Register(f func(*Input) Decision) { rule = f }

// Registered returns the rule passed to Register.
func Registered() func(*Input) Decision { return rule }
