//go:build amd64 && !purego && exhaustive

package cpu

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

// TestExpfSIMDExhaustive compares the SIMD Expf with Expf on all 2^32
// float32 bit patterns, NaN payloads included (about a minute per core):
//
//	go test -tags exhaustive -run ExpfSIMDExhaustive ./kernels/cpu/
func TestExpfSIMDExhaustive(t *testing.T) {
	requireSIMD(t)
	const chunk = 1 << 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	next := make(chan uint32)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, dst := make([]float32, chunk), make([]float32, chunk)
			for base := range next {
				for i := range src {
					src[i] = math.Float32frombits(base + uint32(i))
				}
				for _, avx512 := range []bool{false, true} {
					if avx512 && !haveAVX512 {
						continue
					}
					expfWith(avx512, dst, src)
					for i, x := range src {
						if want := Expf(x); !sameBits(dst[i], want) {
							mu.Lock()
							if len(failures) < 20 {
								failures = append(failures, fmtExpf(avx512, x, want, dst[i]))
							}
							mu.Unlock()
						}
					}
				}
			}
		}()
	}
	for base := uint64(0); base < 1<<32; base += chunk {
		next <- uint32(base)
	}
	close(next)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
}
