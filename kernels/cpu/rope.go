package cpu

import (
	"math"
	"sync"
)

// ropeCachedPositions bounds the per-(θ, head size) table; positions beyond
// it are computed on the fly, so a guest cannot make the host cache grow
// without limit.
const (
	ropeCachedPositions = 1 << 16
	ropeCachedTables    = 16
)

// ropeAngles fills cs with (cos, sin) pairs for one position: angle
// pos·θ^(−2j/hs), computed in binary64 with the package's own Exp, Log and
// SinCos, then rounded to binary32.
func ropeAngles(cs []float32, pos int, hs int, theta float32) {
	lt := Log(float64(theta))
	for j := 0; j < hs/2; j++ {
		e := float64(2*j) / float64(hs)
		freq := Exp(-float64(e * lt))
		s, c := SinCos(float64(float64(pos) * freq))
		cs[2*j], cs[2*j+1] = float32(c), float32(s)
	}
}

type ropeKey struct {
	theta uint32
	hs    int
}

type ropeTable struct {
	key  ropeKey
	mu   sync.RWMutex
	rows [][]float32
}

type ropeCache struct {
	mu     sync.Mutex
	tables map[ropeKey]*ropeTable
}

func (c *ropeCache) get(theta float32, hs int) *ropeTable {
	k := ropeKey{math.Float32bits(theta), hs}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tables[k]; ok {
		return t
	}
	t := &ropeTable{key: k}
	if c.tables == nil {
		c.tables = map[ropeKey]*ropeTable{}
	}
	if len(c.tables) < ropeCachedTables {
		c.tables[k] = t
	}
	return t
}

// row returns the (cos, sin) pairs for pos, from the cache when it can.
func (t *ropeTable) row(pos int, scratch *[]float32) []float32 {
	theta := math.Float32frombits(t.key.theta)
	if pos >= ropeCachedPositions {
		if len(*scratch) < t.key.hs {
			*scratch = make([]float32, t.key.hs)
		}
		ropeAngles(*scratch, pos, t.key.hs, theta)
		return *scratch
	}
	t.mu.RLock()
	if pos < len(t.rows) {
		r := t.rows[pos]
		t.mu.RUnlock()
		return r
	}
	t.mu.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.rows) <= pos {
		r := make([]float32, t.key.hs)
		ropeAngles(r, len(t.rows), t.key.hs, theta)
		t.rows = append(t.rows, r)
	}
	return t.rows[pos]
}
