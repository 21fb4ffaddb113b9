package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

var statePrefixes = []byte{prefixAccount, prefixJob, prefixSettle, prefixExpire, keySupply}

// StateDigest hashes every state record in key order: two chains with the
// same digest have the same balances, nonces, jobs, stakes, queues and
// supply. Tests compare it with a replay from genesis.
func (c *Chain) StateDigest() (keys.Hash, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return stateDigest(pebbleKV{r: c.db})
}

func stateDigest(kv kvReader) (keys.Hash, error) {
	h := sha256.New()
	var n [4]byte
	for _, p := range statePrefixes {
		err := kv.scan([]byte{p}, []byte{p + 1}, func(k, v []byte) bool {
			binary.LittleEndian.PutUint32(n[:], uint32(len(k)))
			h.Write(n[:])
			h.Write(k)
			binary.LittleEndian.PutUint32(n[:], uint32(len(v)))
			h.Write(n[:])
			h.Write(v)
			return true
		})
		if err != nil {
			return keys.Hash{}, err
		}
	}
	return keys.Hash(h.Sum(nil)), nil
}

// CheckInvariants verifies that every coin is accounted for: minted =
// balances + escrowed rewards + stakes of open jobs + burned, and that the
// settlement and expiry queues hold exactly the open jobs. It reads the
// whole state; the chaininvariants build tag runs it after every block.
func (c *Chain) CheckInvariants() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return checkInvariants(pebbleKV{r: c.db})
}

func checkInvariants(kv kvReader) error {
	var balances, locked uint64
	var err error
	kv.scan([]byte{prefixAccount}, []byte{prefixAccount + 1}, func(_, v []byte) bool {
		var a *Account
		if a, err = decodeAccount(v); err == nil {
			balances += a.Balance
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	queued := map[[2]any]bool{}
	for _, q := range []byte{prefixSettle, prefixExpire} {
		kv.scan([]byte{q}, []byte{q + 1}, func(k, _ []byte) bool {
			queued[[2]any{q, keys.Hash(k[9:])}] = true
			return true
		})
	}
	jobs := 0
	kv.scan([]byte{prefixJob}, []byte{prefixJob + 1}, func(_, v []byte) bool {
		var j *Job
		if j, err = decodeJob(v); err != nil {
			return false
		}
		jobs++
		open := j.State == JobCreated || j.State == JobAccepted || j.State == JobCompleted
		if open {
			locked += j.Reward
			for _, s := range j.Stakes {
				locked += s.Amount
			}
		}
		wantSettle, wantExpire := j.State == JobCompleted, j.State == JobCreated || j.State == JobAccepted
		if queued[[2]any{byte(prefixSettle), j.ID}] != wantSettle || queued[[2]any{byte(prefixExpire), j.ID}] != wantExpire {
			err = fmt.Errorf("job %s (%s) queued wrongly", j.ID.String()[:16], j.State)
			return false
		}
		delete(queued, [2]any{byte(prefixSettle), j.ID})
		delete(queued, [2]any{byte(prefixExpire), j.ID})
		return true
	})
	if err != nil {
		return err
	}
	if len(queued) > 0 {
		return fmt.Errorf("%d queue entries without a job", len(queued))
	}
	sp, err := readSupply(kv)
	if err != nil {
		return err
	}
	if balances+locked+sp.Burned != sp.Minted {
		return fmt.Errorf("coins: balances %d + locked %d + burned %d != minted %d", balances, locked, sp.Burned, sp.Minted)
	}
	return nil
}
