//go:build chaininvariants

package chain

// With the chaininvariants tag, every connected block is followed by a
// full-state check (expensive: it reads every record).
const checkEveryBlock = true
