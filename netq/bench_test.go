package netq_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/netq/netqtest"
)

// BenchmarkGossipRelay: messages per second through one node. A publishes,
// B validates and relays, C receives (A and C cannot reach each other).
func BenchmarkGossipRelay(b *testing.B) {
	for _, size := range []int{256, 16 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			c := netqtest.Start(b, 3, func(i int, cfg *netq.Config) {
				cfg.Gossip.RateLimit, cfg.Gossip.RateBurst = 1e6, 1e6
				cfg.Gossip.MaxStored = 1 << 16
				cfg.Seeds = nil
			})
			c.Partition([]int{0}, []int{2})
			ctx := context.Background()
			for _, pair := range [][2]int{{0, 1}, {2, 1}} {
				if _, err := c.Nodes[pair[0]].Connect(ctx, c.Nodes[pair[1]].Addr().String(), c.Nodes[pair[1]].ID()); err != nil {
					b.Fatal(err)
				}
			}
			var relayed, got atomic.Int64
			c.Nodes[1].Subscribe(netq.TopicTransactions, func(netq.PeerID, []byte) error { relayed.Add(1); return nil }, nil)
			c.Nodes[2].Subscribe(netq.TopicTransactions, nil, func(netq.PeerID, []byte) { got.Add(1) })
			time.Sleep(time.Second) // meshes form
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				binary.LittleEndian.PutUint64(payload, uint64(i))
				binary.LittleEndian.PutUint64(payload[8:], uint64(b.N))
				if err := c.Nodes[0].Publish(netq.TopicTransactions, payload); err != nil {
					b.Fatal(err)
				}
				// Keep the per-peer queue from overflowing: at most 1024
				// messages ahead of the relay.
				for int64(i)-got.Load() > 1024 {
					time.Sleep(50 * time.Microsecond)
				}
			}
			deadline := time.Now().Add(30 * time.Second)
			for got.Load() < int64(b.N) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			if got.Load() < int64(b.N) {
				b.Fatalf("delivered %d of %d", got.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRequestRTT: one request and its response over loopback.
func BenchmarkRequestRTT(b *testing.B) {
	c := netqtest.Start(b, 2, nil)
	c.WaitConnected(b, 1, 10*time.Second)
	ctx := context.Background()
	id := c.Nodes[1].ID()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Nodes[0].Ping(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/rtt")
}

func byteSize(n int) string {
	if n >= 1<<10 {
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	var b []byte
	for ; n > 0 || len(b) == 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
