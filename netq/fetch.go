package netq

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dnahost/dnahost/merkle"
)

// ErrFetch reports an object no connected peer could supply in full.
var ErrFetch = errors.New("netq: object could not be fetched")

// FetchRequest describes a fetch of a Merkle-rooted object.
type FetchRequest struct {
	Root merkle.Hash
	// Leaves, when known (from a signed manifest), skip asking peers; they
	// must hash to Root.
	Leaves []merkle.Hash
	// Peers to fetch from (nil: every connected peer).
	Peers []PeerID
	// PerPeer is the requests kept in flight to each peer (default 4).
	PerPeer int
	// ChunkTimeout bounds one chunk request (default Config.RequestTimeout).
	ChunkTimeout time.Duration
	// Need reports whether chunk i is wanted (nil: all), so a fetch can
	// resume.
	Need func(i int) bool
	// Sink receives each chunk once, verified, in arrival order; calls do
	// not overlap. An error stops the fetch.
	Sink func(i int, raw []byte) error
	// Progress, if set, is called after each chunk.
	Progress func(FetchProgress)
}

// FetchProgress is reported after each chunk.
type FetchProgress struct {
	Done, Total int   // chunks
	Bytes       int64 // raw bytes received
	Peers       int   // peers still serving this fetch
}

// FetchResult says who supplied what.
type FetchResult struct {
	Leaves []merkle.Hash
	Chunks map[PeerID]int // chunks each peer supplied
	Bad    map[PeerID]int // chunks each peer got wrong
	Bytes  int64
}

// peerFailures is how many failed requests (timeouts, resets) drop a peer
// from a fetch. A wrong chunk or "not found" drops it at once.
const peerFailures = 3

type fetchState struct {
	mu       sync.Mutex
	cond     *sync.Cond
	todo     []int // stack; next index at the end
	inflight int
	alive    map[PeerID]bool
	fails    map[PeerID]int
	err      error
	res      *FetchResult
	done     int
	total    int
	sinkMu   sync.Mutex
}

// Fetch downloads every needed chunk of an object from several peers at
// once, checking each against its leaf on arrival. A peer that sends a
// wrong chunk is penalised (Scores.BadChunk) and dropped from the fetch,
// and the chunk is fetched again from another.
func (n *Node) Fetch(ctx context.Context, f FetchRequest) (*FetchResult, error) {
	if f.Sink == nil {
		return nil, errors.New("netq: fetch without a sink")
	}
	if f.PerPeer <= 0 {
		f.PerPeer = 4
	}
	if f.ChunkTimeout <= 0 {
		f.ChunkTimeout = n.cfg.RequestTimeout
	}
	peers := f.Peers
	if peers == nil {
		for _, p := range n.peerList() {
			peers = append(peers, p.id)
		}
	}
	if len(peers) == 0 {
		return nil, fmt.Errorf("%w: no peers", ErrFetch)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	leaves := f.Leaves
	if leaves == nil {
		var err error
		if leaves, err = n.fetchLeaves(ctx, f.Root, peers, f.ChunkTimeout); err != nil {
			return nil, err
		}
	} else if merkle.Root(leaves) != f.Root {
		return nil, fmt.Errorf("netq: fetch: leaves do not hash to root %x", f.Root[:8])
	}
	st := &fetchState{alive: map[PeerID]bool{}, fails: map[PeerID]int{},
		res: &FetchResult{Leaves: leaves, Chunks: map[PeerID]int{}, Bad: map[PeerID]int{}}}
	st.cond = sync.NewCond(&st.mu)
	for i := len(leaves) - 1; i >= 0; i-- {
		if f.Need == nil || f.Need(i) {
			st.todo = append(st.todo, i)
		}
	}
	st.total = len(st.todo)
	for _, id := range peers {
		st.alive[id] = true
	}
	stop := context.AfterFunc(ctx, func() {
		st.mu.Lock()
		if st.err == nil {
			st.err = ctx.Err()
		}
		st.cond.Broadcast()
		st.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for _, id := range peers {
		for range f.PerPeer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i, ok := st.next(id)
					if !ok {
						return
					}
					raw, err := n.fetchChunk(ctx, id, f.Root, i, leaves[i], f.ChunkTimeout)
					st.finish(n, &f, id, i, raw, err)
				}
			}()
		}
	}
	wg.Wait()
	if st.err != nil {
		return st.res, st.err
	}
	return st.res, nil
}

// next hands peer id the next chunk to fetch, waiting while others are in
// flight (one may fail and come back). It reports false when the fetch is
// over for this peer.
func (st *fetchState) next(id PeerID) (int, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		if st.err != nil || !st.alive[id] {
			return 0, false
		}
		if k := len(st.todo); k > 0 {
			i := st.todo[k-1]
			st.todo = st.todo[:k-1]
			st.inflight++
			return i, true
		}
		if st.inflight == 0 {
			return 0, false
		}
		st.cond.Wait()
	}
}

func (st *fetchState) finish(n *Node, f *FetchRequest, id PeerID, i int, raw []byte, err error) {
	if err == nil {
		st.sinkMu.Lock()
		serr := f.Sink(i, raw)
		st.mu.Lock()
		st.inflight--
		st.done++
		st.res.Chunks[id]++
		st.res.Bytes += int64(len(raw))
		if serr != nil && st.err == nil {
			st.err = serr
		}
		prog := FetchProgress{Done: st.done, Total: st.total, Bytes: st.res.Bytes, Peers: st.aliveCount()}
		st.cond.Broadcast()
		st.mu.Unlock()
		if f.Progress != nil {
			f.Progress(prog)
		}
		st.sinkMu.Unlock()
		n.count(func(s *Stats) { s.ChunksFetched++ })
		return
	}
	var status *ErrStatus
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inflight--
	st.todo = append(st.todo, i)
	switch {
	case st.err != nil:
	case errors.Is(err, ErrBadChunk) || errors.Is(err, ErrFrame):
		if st.alive[id] {
			st.alive[id] = false
		}
		st.res.Bad[id]++
		n.count(func(s *Stats) { s.BadChunks++ })
		n.Penalize(id, n.cfg.Scores.BadChunk, fmt.Sprintf("chunk %d of %x: %v", i, f.Root[:8], err))
	case errors.As(err, &status) || errors.Is(err, ErrNoPeer):
		st.alive[id] = false
	default:
		st.fails[id]++
		if st.fails[id] >= peerFailures {
			st.alive[id] = false
		}
	}
	if st.err == nil && st.aliveCount() == 0 {
		st.err = fmt.Errorf("%w: %d of %d chunks missing and no peer left (last error: %v)",
			ErrFetch, st.total-st.done, st.total, err)
	}
	st.cond.Broadcast()
}

func (st *fetchState) aliveCount() int {
	k := 0
	for _, ok := range st.alive {
		if ok {
			k++
		}
	}
	return k
}

func (n *Node) fetchChunk(ctx context.Context, id PeerID, root merkle.Hash, i int, leaf merkle.Hash, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := n.Request(ctx, id, KindGetChunk, (&GetChunk{Root: root, Index: uint32(i)}).Encode())
	if err != nil {
		return nil, err
	}
	c, err := DecodeChunk(b)
	if err != nil {
		return nil, err
	}
	return ExpandChunk(c, leaf)
}

// fetchLeaves asks peers in random order for an object's leaves until one
// answers with leaves that hash to root; a peer whose leaves do not is
// penalised like a wrong chunk.
func (n *Node) fetchLeaves(ctx context.Context, root merkle.Hash, peers []PeerID, timeout time.Duration) ([]merkle.Hash, error) {
	order := rand.Perm(len(peers))
	var last error = ErrNotFound
	for _, k := range order {
		id := peers[k]
		rctx, cancel := context.WithTimeout(ctx, timeout)
		b, err := n.Request(rctx, id, KindGetLeaves, (&GetLeaves{Root: root}).Encode())
		cancel()
		if err != nil {
			last = err
			continue
		}
		m, err := DecodeLeaves(b)
		if err == nil && merkle.Root(m.Hashes) != root {
			err = fmt.Errorf("%w: leaves do not hash to the root", ErrBadChunk)
		}
		if err != nil {
			n.Penalize(id, n.cfg.Scores.BadChunk, fmt.Sprintf("leaves of %x: %v", root[:8], err))
			last = err
			continue
		}
		return m.Hashes, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w: no peer gave the leaves of %x (last error: %v)", ErrFetch, root[:8], last)
}
