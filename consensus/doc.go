// Package consensus is where honest nodes' results are checked and agreed
// on. Its subpackage verify decides whether a claimed completion is what a
// bundle produces for a job — by recomputing random positions (RASTiC) or
// every position in one batched pass — and answers outsourced checks.
package consensus
