package netq_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dnahost/dnahost/merkle"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/netq/netqtest"
)

// liar serves an object with every chunk's first byte flipped.
type liar struct{ netq.ObjectStore }

func (l liar) Chunk(root merkle.Hash, i int) (netq.Codec, []byte, error) {
	c, d, err := l.ObjectStore.Chunk(root, i)
	if err != nil {
		return c, d, err
	}
	bad := append([]byte(nil), d...)
	bad[len(bad)/2] ^= 0x5a
	return c, bad, nil
}

// object makes size bytes in chunks of chunk bytes: half incompressible,
// half text-like, so both codecs travel.
func object(seed uint64, size, chunk int) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var out [][]byte
	for off := 0; off < size; off += chunk {
		c := make([]byte, min(chunk, size-off))
		if len(out)%2 == 0 {
			for i := range c {
				c[i] = byte(r.Uint32())
			}
		} else {
			for i := range c {
				c[i] = "abcdefgh "[r.IntN(9)]
			}
		}
		out = append(out, c)
	}
	return out
}

func collect(total int) (func(int, []byte) error, func() []byte) {
	var mu sync.Mutex
	parts := make([][]byte, total)
	return func(i int, raw []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if parts[i] != nil {
				return errors.New("chunk delivered twice")
			}
			parts[i] = raw
			return nil
		}, func() []byte {
			return bytes.Join(parts, nil)
		}
}

// A 64 MiB object fetched from four peers at once, one of them lying: the
// result is exact, the liar is penalised and stops being asked, and the
// transfer rate is compared with a fetch from one honest peer.
func TestFetchFromManyPeersWithALiar(t *testing.T) {
	size := 64 << 20
	if testing.Short() {
		size = 8 << 20
	}
	chunks := object(7, size, 1<<20)
	want := sha256.Sum256(bytes.Join(chunks, nil))
	store := netq.NewMemObjects()
	root := store.Add(chunks)

	c := netqtest.Start(t, 6, func(i int, cfg *netq.Config) { cfg.Seeds = nil })
	fetcher := c.Nodes[0]
	for i := 1; i < 6; i++ {
		if i == 4 {
			c.Nodes[i].ServeObjects(liar{store})
		} else {
			c.Nodes[i].ServeObjects(store)
		}
		if _, err := fetcher.Connect(context.Background(), c.Nodes[i].Addr().String(), c.Nodes[i].ID()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	liarID := c.Nodes[4].ID()
	four := []netq.PeerID{c.Nodes[1].ID(), c.Nodes[2].ID(), c.Nodes[3].ID(), liarID}
	mb := float64(size) / (1 << 20)

	run := func(what string, peers []netq.PeerID) (float64, *netq.FetchResult) {
		sink, joined := collect(len(chunks))
		var progress []netq.FetchProgress
		start := time.Now()
		res, err := fetcher.Fetch(ctx, netq.FetchRequest{Root: root, Peers: peers, Sink: sink,
			Progress: func(p netq.FetchProgress) { progress = append(progress, p) }})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		rate := mb / time.Since(start).Seconds()
		if sha256.Sum256(joined()) != want {
			t.Fatalf("%s: wrong bytes", what)
		}
		last := progress[len(progress)-1]
		if len(progress) != len(chunks) || last.Done != len(chunks) || last.Bytes != int64(size) {
			t.Fatalf("%s: progress: %d reports, last %+v", what, len(progress), last)
		}
		return rate, res
	}
	single, _ := run("one peer", []netq.PeerID{c.Nodes[5].ID()})
	multi, res := run("four peers", four)
	if res.Bad[liarID] == 0 || res.Chunks[liarID] != 0 {
		t.Fatalf("liar: %d bad, %d accepted", res.Bad[liarID], res.Chunks[liarID])
	}
	if s := fetcher.Score(liarID); s >= 0 {
		t.Fatalf("liar's score %v after %d bad chunks", s, res.Bad[liarID])
	}
	t.Logf("%d MiB over loopback: one peer %.0f MB/s, four peers (one lying: %d bad chunks, score %.0f, banned %v) %.0f MB/s",
		size>>20, single, res.Bad[liarID], fetcher.Score(liarID), fetcher.Banned(liarID), multi)

}

// BenchmarkFetch compares fetching an object from one peer with fetching it
// from several, over plain loopback (where every node shares this machine's
// cores) and with each server's uplink capped as on a real network.
func BenchmarkFetch(b *testing.B) {
	const size = 32 << 20
	chunks := object(11, size, 1<<20)
	store := netq.NewMemObjects()
	root := store.Add(chunks)
	c := netqtest.Start(b, 5, func(i int, cfg *netq.Config) { cfg.Seeds = nil })
	var servers []netq.PeerID
	for i := 1; i < 5; i++ {
		c.Nodes[i].ServeObjects(store)
		if _, err := c.Nodes[0].Connect(context.Background(), c.Nodes[i].Addr().String(), c.Nodes[i].ID()); err != nil {
			b.Fatal(err)
		}
		servers = append(servers, c.Nodes[i].ID())
	}
	for _, uplink := range []int{0, 32 << 20} {
		for _, k := range []int{1, 4} {
			name := fmt.Sprintf("peers=%d", k)
			if uplink > 0 {
				name = fmt.Sprintf("uplink=%dMBps/%s", uplink>>20, name)
			}
			b.Run(name, func(b *testing.B) {
				for i := 1; i < 5; i++ {
					c.Nodes[i].Faults().SetBandwidth(float64(uplink))
				}
				b.SetBytes(size)
				for range b.N {
					_, err := c.Nodes[0].Fetch(context.Background(), netq.FetchRequest{Root: root, Peers: servers[:k],
						Sink: func(int, []byte) error { return nil }})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				var lost uint64
				for i := 1; i < 5; i++ {
					for _, p := range c.Nodes[i].Peers() {
						lost += p.PacketsLost
					}
				}
				b.Logf("packets lost so far %d", lost)
			})
		}
	}
}

// A resumed fetch asks only for what is missing; a fetch nobody can serve
// fails with ErrFetch instead of hanging.
func TestFetchResumeAndFailure(t *testing.T) {
	chunks := object(3, 5<<16, 1<<16)
	store := netq.NewMemObjects()
	root := store.Add(chunks)
	c := netqtest.Start(t, 3, nil)
	c.WaitConnected(t, 2, 10*time.Second)
	c.Nodes[1].ServeObjects(store)
	c.Nodes[2].ServeObjects(liar{store})
	leaves, _ := store.Leaves(root)

	var got []int
	res, err := c.Nodes[0].Fetch(context.Background(), netq.FetchRequest{
		Root: root, Leaves: leaves, Peers: []netq.PeerID{c.Nodes[1].ID()},
		Need: func(i int) bool { return i%2 == 1 },
		Sink: func(i int, raw []byte) error {
			if !bytes.Equal(raw, chunks[i]) {
				t.Errorf("chunk %d wrong", i)
			}
			got = append(got, i)
			return nil
		},
	})
	if err != nil || len(got) != 2 || res.Bytes != 2<<16 {
		t.Fatalf("resume: got %v, %v", got, err)
	}
	_, err = c.Nodes[0].Fetch(context.Background(), netq.FetchRequest{
		Root: root, Leaves: leaves, Peers: []netq.PeerID{c.Nodes[2].ID()},
		Sink: func(int, []byte) error { return nil },
	})
	if !errors.Is(err, netq.ErrFetch) {
		t.Fatalf("only a liar to fetch from: %v", err)
	}
	var missing merkle.Hash
	missing[0] = 1
	_, err = c.Nodes[0].Fetch(context.Background(), netq.FetchRequest{Root: missing, Sink: func(int, []byte) error { return nil }})
	if !errors.Is(err, netq.ErrFetch) {
		t.Fatalf("unknown object: %v", err)
	}
}
