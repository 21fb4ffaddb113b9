//go:build !chaininvariants

package chain

const checkEveryBlock = false
