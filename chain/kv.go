package chain

import (
	"bytes"
	"errors"
	"sort"
)

// kvReader reads state; kvWriter changes it. Pebble batches and snapshots
// implement them in store.go; memKV is the in-memory version tests replay
// into.
type kvReader interface {
	get(key []byte) ([]byte, bool, error)
	// scan visits keys in [lower, upper) in order until fn returns false.
	scan(lower, upper []byte, fn func(k, v []byte) bool) error
}

type kvWriter interface {
	kvReader
	set(key, val []byte) error
	del(key []byte) error
}

// memKV is an in-memory kvWriter.
type memKV struct{ m map[string][]byte }

func newMemKV() *memKV { return &memKV{m: map[string][]byte{}} }

func (m *memKV) get(key []byte) ([]byte, bool, error) {
	v, ok := m.m[string(key)]
	return v, ok, nil
}

func (m *memKV) set(key, val []byte) error {
	m.m[string(key)] = append([]byte(nil), val...)
	return nil
}

func (m *memKV) del(key []byte) error {
	delete(m.m, string(key))
	return nil
}

func (m *memKV) scan(lower, upper []byte, fn func(k, v []byte) bool) error {
	var ks []string
	for k := range m.m {
		if bytes.Compare([]byte(k), lower) >= 0 && bytes.Compare([]byte(k), upper) < 0 {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	for _, k := range ks {
		if !fn([]byte(k), m.m[k]) {
			break
		}
	}
	return nil
}

// undoEntry is a key's value before a block wrote it.
type undoEntry struct {
	key     []byte
	present bool
	val     []byte
}

// stateWriter applies one block's changes to a kvWriter and keeps the undo
// log: the first prior value of every key it writes.
type stateWriter struct {
	kv   kvWriter
	undo []undoEntry
	seen map[string]bool
}

func newStateWriter(kv kvWriter) *stateWriter {
	return &stateWriter{kv: kv, seen: map[string]bool{}}
}

func (s *stateWriter) record(key []byte) error {
	if s.seen[string(key)] {
		return nil
	}
	s.seen[string(key)] = true
	v, ok, err := s.kv.get(key)
	if err != nil {
		return err
	}
	s.undo = append(s.undo, undoEntry{key: append([]byte(nil), key...), present: ok, val: append([]byte(nil), v...)})
	return nil
}

func (s *stateWriter) put(key, val []byte) error {
	if err := s.record(key); err != nil {
		return err
	}
	return s.kv.set(key, val)
}

func (s *stateWriter) remove(key []byte) error {
	if err := s.record(key); err != nil {
		return err
	}
	return s.kv.del(key)
}

func encodeUndo(u []undoEntry) []byte {
	var w writer
	w.u32(uint32(len(u)))
	for _, e := range u {
		if e.present {
			w.u8(1)
		} else {
			w.u8(0)
		}
		w.bytes(e.key)
		w.bytes(e.val)
	}
	return w
}

var errCorrupt = errors.New("chain: store is corrupt")

func decodeUndo(b []byte) ([]undoEntry, error) {
	r := &reader{b: b, what: "undo log"}
	n := r.u32()
	if r.err == nil && int64(n)*9 > int64(len(r.b)) {
		r.fail("%d entries", n)
	}
	var out []undoEntry
	for i := uint32(0); i < n && r.err == nil; i++ {
		present := r.u8()
		if present > 1 {
			r.fail("present flag %d", present)
		}
		e := undoEntry{present: present == 1, key: r.bytes(1 << 10), val: r.bytes(1 << 20)}
		out = append(out, e)
	}
	if err := r.done(); err != nil {
		return nil, errors.Join(errCorrupt, err)
	}
	return out, nil
}

// applyUndo restores every key to its value before the block.
func applyUndo(kv kvWriter, u []undoEntry) error {
	for i := len(u) - 1; i >= 0; i-- {
		e := u[i]
		var err error
		if e.present {
			err = kv.set(e.key, e.val)
		} else {
			err = kv.del(e.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Typed state access.

func (s *stateWriter) account(a [20]byte) (*Account, error) { return readAccount(s.kv, a) }

func readAccount(kv kvReader, a [20]byte) (*Account, error) {
	v, ok, err := kv.get(accountKey(a))
	if err != nil || !ok {
		return &Account{}, err
	}
	acc, err := decodeAccount(v)
	if err != nil {
		return nil, errors.Join(errCorrupt, err)
	}
	return acc, nil
}

func (s *stateWriter) putAccount(a [20]byte, acc *Account) error {
	if acc.Balance == 0 && acc.Nonce == 0 {
		return s.remove(accountKey(a)) // empty accounts take no space
	}
	return s.put(accountKey(a), acc.encode())
}

func readJob(kv kvReader, id [32]byte) (*Job, bool, error) {
	v, ok, err := kv.get(jobKey(id))
	if err != nil || !ok {
		return nil, false, err
	}
	j, err := decodeJob(v)
	if err != nil {
		return nil, false, errors.Join(errCorrupt, err)
	}
	return j, true, nil
}

func (s *stateWriter) putJob(j *Job) error { return s.put(jobKey(j.ID), j.encode()) }

func readSupply(kv kvReader) (*Supply, error) {
	v, ok, err := kv.get([]byte{keySupply})
	if err != nil || !ok {
		return &Supply{}, err
	}
	sp, err := decodeSupply(v)
	if err != nil {
		return nil, errors.Join(errCorrupt, err)
	}
	return sp, nil
}

func (s *stateWriter) putSupply(sp *Supply) error { return s.put([]byte{keySupply}, sp.encode()) }

// due lists the job IDs queued under prefix at chain time ≤ t, in order.
func due(kv kvReader, prefix byte, t int64) ([][32]byte, error) {
	var out [][32]byte
	lower := []byte{prefix}
	upper := queueKey(prefix, t+1, [32]byte{})
	err := kv.scan(lower, upper, func(k, _ []byte) bool {
		var id [32]byte
		copy(id[:], k[9:])
		out = append(out, id)
		return true
	})
	return out, err
}
