package netq_test

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/netq/netqtest"
)

// recorder notes when each node first receives each message.
type recorder struct {
	mu   sync.Mutex
	sent map[uint32]time.Time
	got  map[uint32]map[int]time.Time
}

func newRecorder(c *netqtest.Cluster) *recorder {
	r := &recorder{sent: map[uint32]time.Time{}, got: map[uint32]map[int]time.Time{}}
	for i, n := range c.Nodes {
		i := i
		n.Subscribe(netq.TopicJobs, nil, func(_ netq.PeerID, p []byte) {
			id := binary.LittleEndian.Uint32(p)
			r.mu.Lock()
			if r.got[id] == nil {
				r.got[id] = map[int]time.Time{}
			}
			r.got[id][i] = time.Now()
			r.mu.Unlock()
		})
	}
	return r
}

// round publishes k messages from random nodes and waits for delivery.
// It returns the latencies, the delivery ratio and the copies received per
// node per message.
func (r *recorder) round(t *testing.T, c *netqtest.Cluster, base uint32, k int, wait time.Duration) (lat []time.Duration, delivered float64, dup float64) {
	t.Helper()
	before := uint64(0)
	for _, n := range c.Nodes {
		before += n.Stats().GossipReceived
	}
	rng := rand.New(rand.NewPCG(uint64(base), 9))
	for m := uint32(0); m < uint32(k); m++ {
		id := base + m
		src := rng.IntN(len(c.Nodes))
		payload := make([]byte, 256)
		binary.LittleEndian.PutUint32(payload, id)
		r.mu.Lock()
		r.sent[id] = time.Now()
		if r.got[id] == nil {
			r.got[id] = map[int]time.Time{}
		}
		r.got[id][src] = r.sent[id] // the author has it
		r.mu.Unlock()
		if err := c.Nodes[src].Publish(netq.TopicJobs, payload); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		done := true
		for m := uint32(0); m < uint32(k); m++ {
			if len(r.got[base+m]) < len(c.Nodes) {
				done = false
			}
		}
		r.mu.Unlock()
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for m := uint32(0); m < uint32(k); m++ {
		for _, at := range r.got[base+m] {
			if d := at.Sub(r.sent[base+m]); d > 0 {
				lat = append(lat, d)
			}
		}
		total += len(r.got[base+m])
	}
	after := uint64(0)
	for _, n := range c.Nodes {
		after += n.Stats().GossipReceived
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	n := len(c.Nodes)
	return lat, float64(total) / float64(k*n), float64(after-before) / float64(k*(n-1))
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(p*float64(len(lat))))]
}

// Thirty-two real nodes on loopback: every message reaches every node, with
// fewer than three copies per node on average, and still every node under
// 20% packet loss.
func TestGossip32Nodes(t *testing.T) {
	if testing.Short() {
		t.Skip("32 nodes")
	}
	const N = 32
	c := netqtest.Start(t, N, nil)
	c.WaitConnected(t, 3, 20*time.Second)
	c.WaitMesh(t, netq.TopicJobs, 2, 20*time.Second)
	time.Sleep(time.Second) // a few more heartbeats: meshes settle
	r := newRecorder(c)
	lat, delivered, dup := r.round(t, c, 0, 30, 20*time.Second)
	t.Logf("no loss: delivered %.1f%%, latency median %v p99 %v worst %v, %.2f copies per node",
		100*delivered, pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), dup)
	if delivered < 1 {
		t.Errorf("delivered %.3f", delivered)
	}
	if dup >= 3 {
		t.Errorf("%.2f copies per node, want fewer than 3", dup)
	}
	c.SetLoss(0.2)
	lat, delivered, dup = r.round(t, c, 1000, 30, 30*time.Second)
	t.Logf("20%% loss: delivered %.1f%%, latency median %v p99 %v worst %v, %.2f copies per node",
		100*delivered, pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), dup)
	if delivered < 1 {
		t.Errorf("under 20%% loss delivered %.3f", delivered)
	}
	c.SetLoss(0)
}

// Two halves partitioned, both gossiping, then healed: every node ends with
// every message.
func TestGossipPartitionHeals(t *testing.T) {
	const N = 12
	c := netqtest.Start(t, N, nil)
	c.WaitConnected(t, 3, 20*time.Second)
	c.WaitMesh(t, netq.TopicJobs, 2, 20*time.Second)
	r := newRecorder(c)
	a, b := []int{}, []int{}
	for i := 0; i < N; i++ {
		if i < N/2 {
			a = append(a, i)
		} else {
			b = append(b, i)
		}
	}
	c.Partition(a, b)
	for m := uint32(0); m < 10; m++ {
		src := a[int(m)%len(a)]
		if m%2 == 1 {
			src = b[int(m)%len(b)]
		}
		payload := make([]byte, 64)
		binary.LittleEndian.PutUint32(payload, m)
		r.mu.Lock()
		r.sent[m] = time.Now()
		r.got[m] = map[int]time.Time{src: time.Now()}
		r.mu.Unlock()
		if err := c.Nodes[src].Publish(netq.TopicJobs, payload); err != nil {
			t.Fatal(err)
		}
	}
	// During the partition each side gets all of its own messages and none
	// of the other side's.
	eventually(t, 30*time.Second, "deliveries missing inside the partition", func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		missing := 0
		for m := uint32(0); m < 10; m++ {
			author := m%2 == 0
			for i := 0; i < N; i++ {
				_, got := r.got[m][i]
				if side := i < N/2; side != author && got {
					t.Fatalf("message %d crossed the partition to node %d", m, i)
				} else if side == author && !got {
					missing++
				}
			}
		}
		return missing
	})
	c.Heal()
	eventually(t, 60*time.Second, "deliveries missing after healing", func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		missing := 0
		for m := uint32(0); m < 10; m++ {
			missing += N - len(r.got[m])
		}
		return missing
	})
	t.Log("each side had its own messages; after healing every node has all 10")
}

// eventually polls missing until it reports 0, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, missing func() int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		k := missing()
		if k == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d %s", timeout, k, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
