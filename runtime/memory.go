package runtime

import (
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// memPool recycles guest linear memories. Every job gets a fresh instance,
// and a fresh Go guest asks for several megabytes of memory; allocating that
// per job makes the host's garbage collector run during other jobs' decode
// loops. Recycled buffers are zeroed before any byte of them is exposed.
type memPool struct {
	mu   sync.Mutex
	free [][]byte
	max  int // buffers kept
}

// maxPooledBytes bounds the size of a buffer worth keeping.
const maxPooledBytes = 512 << 20

func newMemPool() *memPool { return &memPool{max: 2 * runtime.GOMAXPROCS(0)} }

// Allocate implements experimental.MemoryAllocator.
func (p *memPool) Allocate(capHint, max uint64) experimental.LinearMemory {
	p.mu.Lock()
	defer p.mu.Unlock()
	var buf []byte
	if n := len(p.free); n > 0 {
		buf = p.free[n-1][:0]
		p.free = p.free[:n-1]
	}
	return &pooledMemory{pool: p, buf: buf, max: max}
}

func (p *memPool) put(buf []byte) {
	if cap(buf) == 0 || cap(buf) > maxPooledBytes {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < p.max {
		p.free = append(p.free, buf[:0])
	}
}

// pooledMemory is one instance's linear memory.
type pooledMemory struct {
	pool *memPool
	buf  []byte
	max  uint64
}

// Reallocate grows the memory to size bytes, keeping its contents and
// zeroing the new part (which may hold a previous instance's data).
func (m *pooledMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	old := len(m.buf)
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		clear(m.buf[old:])
		return m.buf
	}
	grown := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
	copy(grown, m.buf)
	m.buf = grown
	return m.buf
}

// Free returns the buffer to the pool.
func (m *pooledMemory) Free() {
	m.pool.put(m.buf)
	m.buf = nil
}
