package cpu

import "sync"

// pool runs data-parallel loops on a fixed set of worker goroutines. It only
// decides which goroutine computes which output elements; it never changes
// how an element is computed, which is why thread count cannot change bits.
type pool struct {
	threads int
	tasks   chan func()
	wg      sync.WaitGroup
}

func newPool(threads int) *pool {
	p := &pool{threads: threads, tasks: make(chan func())}
	for i := 1; i < threads; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for t := range p.tasks {
				t()
			}
		}()
	}
	return p
}

func (p *pool) close() {
	close(p.tasks)
	p.wg.Wait()
}

// run calls fn over [0, n) in contiguous chunks, each at least grain items
// unless n is smaller, using up to p.threads goroutines including the caller.
func (p *pool) run(n, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	chunks := min(p.threads, (n+grain-1)/grain)
	if chunks <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure any
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		p.tasks <- func() {
			defer wg.Done()
			// A panic on a worker would kill the process; carry it back to
			// the caller's goroutine, where the host can recover it.
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					failure = r
					mu.Unlock()
				}
			}()
			fn(lo, hi)
		}
	}
	fn(0, n/chunks)
	wg.Wait()
	if failure != nil {
		panic(failure)
	}
}

// grainFor returns how many items make a chunk worth a thread, given the
// work (multiply-adds or similar) per item.
func grainFor(workPerItem int) int {
	const minWork = 1 << 15
	if workPerItem <= 0 {
		return minWork
	}
	return max(1, minWork/workPerItem)
}
