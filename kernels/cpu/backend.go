package cpu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/dnahost/dnahost/kernels"
)

// Options configures a Backend. The zero value means: one thread per core,
// SIMD where the processor has it.
type Options struct {
	// Threads is the number of goroutines an operation may use; 0 means
	// runtime.GOMAXPROCS(0). Results do not depend on it.
	Threads int
	// Generic forces the portable Go loops even where SIMD is available.
	Generic bool
}

// Validate reports options that cannot be used.
func (o Options) Validate() error {
	if o.Threads < 0 || o.Threads > 4096 {
		return fmt.Errorf("cpu: threads %d out of range [0,4096]", o.Threads)
	}
	return nil
}

// Backend is the CPU implementation of kernels.Backend.
type Backend struct {
	opts  Options
	pool  *pool
	simd  bool
	ropes ropeCache
}

var _ kernels.Backend = (*Backend)(nil)

// ErrForeignTensor reports a tensor made by another backend.
var ErrForeignTensor = errors.New("cpu: tensor belongs to another backend")

// New makes a CPU backend.
func New(o Options) (*Backend, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return &Backend{opts: o, pool: newPool(o.Threads), simd: haveSIMD && !o.Generic}, nil
}

// Name describes the backend and the code path in use.
func (b *Backend) Name() string {
	path := "generic"
	if b.simd {
		path = simdName
	}
	return fmt.Sprintf("cpu(%s, %d threads)", path, b.opts.Threads)
}

// Threads is the number of goroutines operations use.
func (b *Backend) Threads() int { return b.opts.Threads }

// Close stops the worker goroutines.
func (b *Backend) Close() error {
	b.pool.close()
	return nil
}

// Tensor is a CPU tensor. F32 data is kept both as floats and as bytes over
// the same memory.
type Tensor struct {
	dt         kernels.DType
	rows, cols int
	capRows    int
	f          []float32
	b          []byte
	owner      *Backend
}

func (t *Tensor) DType() kernels.DType { return t.dt }
func (t *Tensor) Rows() int            { return t.rows }
func (t *Tensor) Cols() int            { return t.cols }

// F32 exposes an F32 tensor's elements (tests and the native driver).
func (t *Tensor) F32() []float32 { return t.f }

func (t *Tensor) row(r int) []float32 { return t.f[r*t.cols : (r+1)*t.cols] }

// own checks that up to four tensors are this backend's. It returns an
// array, not a slice, so the hot path does not allocate.
func (b *Backend) own(ts ...kernels.Tensor) ([4]*Tensor, error) {
	var out [4]*Tensor
	for i, t := range ts {
		c, ok := t.(*Tensor)
		if !ok || c == nil || c.owner != b {
			return out, ErrForeignTensor
		}
		out[i] = c
	}
	return out, nil
}

func (b *Backend) own1(t kernels.Tensor) (*Tensor, error) {
	c, ok := t.(*Tensor)
	if !ok || c == nil || c.owner != b {
		return nil, ErrForeignTensor
	}
	return c, nil
}

func wrap(b *Backend, dt kernels.DType, rows, cols int, data []byte) *Tensor {
	t := &Tensor{dt: dt, rows: rows, cols: cols, capRows: rows, b: data, owner: b}
	if dt == kernels.F32 && len(data) > 0 {
		t.f = unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), len(data)/4)
	}
	return t
}

// New allocates a zero-filled tensor.
func (b *Backend) New(dt kernels.DType, rows, cols int) (kernels.Tensor, error) {
	if err := kernels.CheckNew(dt, rows, cols); err != nil {
		return nil, err
	}
	n := dt.Bytes(rows, cols)
	if dt == kernels.F32 {
		f := make([]float32, n/4)
		return &Tensor{dt: dt, rows: rows, cols: cols, capRows: rows, f: f,
			b: unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), n), owner: b}, nil
	}
	return wrap(b, dt, rows, cols, make([]byte, n)), nil
}

// Load wraps host bytes without copying when they are suitably aligned.
func (b *Backend) Load(dt kernels.DType, rows, cols int, data []byte) (kernels.Tensor, error) {
	if err := kernels.CheckNew(dt, rows, cols); err != nil {
		return nil, err
	}
	if int64(len(data)) != dt.Bytes(rows, cols) {
		return nil, fmt.Errorf("load: %w: %d bytes for %s[%d×%d]", kernels.ErrShape, len(data), dt, rows, cols)
	}
	if dt == kernels.F32 && uintptr(unsafe.Pointer(&data[0]))%4 != 0 {
		data = append([]byte(nil), data...)
	}
	return wrap(b, dt, rows, cols, data), nil
}

func (b *Backend) Write(t kernels.Tensor, off int, src []byte) error {
	c, err := b.own1(t)
	if err != nil {
		return err
	}
	if err := kernels.CheckAccess(c, off, len(src)); err != nil {
		return err
	}
	copy(c.b[off:], src)
	return nil
}

func (b *Backend) Read(t kernels.Tensor, off int, dst []byte) error {
	c, err := b.own1(t)
	if err != nil {
		return err
	}
	if err := kernels.CheckAccess(c, off, len(dst)); err != nil {
		return err
	}
	copy(dst, c.b[off:])
	return nil
}

func (b *Backend) Free(t kernels.Tensor) {
	if c, err := b.own1(t); err == nil {
		c.f, c.b = nil, nil
	}
}

// SetRows resizes t within the rows it was made with.
func (b *Backend) SetRows(t kernels.Tensor, rows int) error {
	c, err := b.own1(t)
	if err != nil {
		return err
	}
	if rows < 1 || rows > c.capRows {
		return fmt.Errorf("set_rows: %w: %d rows, capacity %d", kernels.ErrRange, rows, c.capRows)
	}
	c.rows = rows
	return nil
}

// MatMul: out[r][m] = dot(x[r], w[m]) in the fixed order.
func (b *Backend) MatMul(out, x, w kernels.Tensor) error {
	ts, err := b.own(out, x, w)
	if err != nil {
		return err
	}
	if err := kernels.CheckMatMul(out, x, w); err != nil {
		return err
	}
	o, xt, wt := ts[0], ts[1], ts[2]
	n, M, K := xt.rows, wt.rows, wt.cols
	if wt.dt == kernels.Q8_0 {
		b.matmulQ8(o, xt, wt, n, M, K)
		return nil
	}
	if b.simd { // the same dots as below, several weight rows per call
		g := matmulGroup()
		b.pool.run((M+g-1)/g, grainFor(g*n*K), func(lo, hi int) {
			matmulSIMD(o.f, xt.f, wt.f, n, M, K, lo*g, min(hi*g, M))
		})
		return nil
	}
	dot := b.dotFunc()
	b.pool.run(M, grainFor(n*K), func(lo, hi int) {
		for m := lo; m < hi; m++ {
			wr := wt.f[m*K : (m+1)*K]
			for r := 0; r < n; r++ {
				o.f[r*M+m] = dot(xt.f[r*K:(r+1)*K], wr)
			}
		}
	})
	return nil
}

// dotFunc returns the dot product in use: DotRef, or its SIMD twin.
func (b *Backend) dotFunc() func(a, b []float32) float32 {
	if b.simd {
		return dotSIMD
	}
	return DotRef
}

// Embed copies (dequantized) table rows.
func (b *Backend) Embed(out, table kernels.Tensor, tokens []int32) error {
	ts, err := b.own(out, table)
	if err != nil {
		return err
	}
	if err := kernels.CheckEmbed(out, table, tokens); err != nil {
		return err
	}
	o, tb := ts[0], ts[1]
	rb := tb.dt.RowBytes(tb.cols)
	for i, tok := range tokens {
		if tb.dt == kernels.F32 {
			copy(o.row(i), tb.row(int(tok)))
		} else {
			kernels.DequantizeRowQ8_0(o.row(i), tb.b[int(tok)*rb:(int(tok)+1)*rb])
		}
	}
	return nil
}

// RMSNorm: out = w · (x · 1/sqrt(mean(x²) + eps)), llama2.c's order.
func (b *Backend) RMSNorm(out, x, w kernels.Tensor, eps float32) error {
	ts, err := b.own(out, x, w)
	if err != nil {
		return err
	}
	if err := kernels.CheckRMSNorm(out, x, w, eps); err != nil {
		return err
	}
	o, xt, wt := ts[0], ts[1], ts[2]
	dot := b.dotFunc()
	D := xt.cols
	b.pool.run(xt.rows, grainFor(3*D), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, or := xt.row(r), o.row(r)
			ss := dot(xr, xr)
			ss = ss / float32(D)
			ss = ss + eps
			s := 1 / sqrtf(ss)
			for i, v := range xr {
				or[i] = wt.f[i] * float32(s*v)
			}
		}
	})
	return nil
}

// scratch buffers for kernels, reused across calls so the hot path does not
// allocate.
var scratchPool = sync.Pool{New: func() any { return new([]float32) }}

func getScratch(n int) *[]float32 {
	p := scratchPool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

func putScratch(p *[]float32) { scratchPool.Put(p) }

// sqrtf is the correctly rounded binary32 square root (binary64 sqrt of a
// binary32 value rounds correctly back to binary32).
func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// RoPE rotates interleaved pairs (x[2j], x[2j+1]) of each head by angle
// pos·θ^(−2j/hs), as llama2.c does.
func (b *Backend) RoPE(x kernels.Tensor, pos, headSize int, theta float32) error {
	xt, err := b.own1(x)
	if err != nil {
		return err
	}
	if err := kernels.CheckRoPE(x, pos, headSize, theta); err != nil {
		return err
	}
	tab := b.ropes.get(theta, headSize)
	b.pool.run(xt.rows, grainFor(4*xt.cols), func(lo, hi int) {
		var scratch []float32
		for r := lo; r < hi; r++ {
			cs := tab.row(pos+r, &scratch)
			xr := xt.row(r)
			for h := 0; h < len(xr); h += headSize {
				head := xr[h : h+headSize]
				for j := 0; j < headSize/2; j++ {
					c, s := cs[2*j], cs[2*j+1]
					v0, v1 := head[2*j], head[2*j+1]
					head[2*j] = float32(v0*c) - float32(v1*s)
					head[2*j+1] = float32(v0*s) + float32(v1*c)
				}
			}
		}
	})
	return nil
}

// Attention is causal scaled dot-product attention with grouped-query heads.
func (b *Backend) Attention(out, q, k, v kernels.Tensor, pos, nHeads, nKVHeads int) error {
	ts, err := b.own(out, q, k, v)
	if err != nil {
		return err
	}
	if err := kernels.CheckAttention(out, q, k, v, pos, nHeads, nKVHeads); err != nil {
		return err
	}
	o, qt, kt, vt := ts[0], ts[1], ts[2], ts[3]
	hs := qt.cols / nHeads
	group := nHeads / nKVHeads
	n := qt.rows
	if b.simd {
		b.attentionSIMD(o, qt, kt, vt, pos, nHeads, group, hs)
		return nil
	}
	dot := b.dotFunc()
	scale := sqrtf(float32(hs))
	avgCtx := pos + (n+1)/2
	b.pool.run(n*nHeads, grainFor(2*hs*avgCtx), func(lo, hi int) {
		sc := getScratch(pos + n + Lanes*hs)
		defer putScratch(sc)
		att, acc := (*sc)[:pos+n], (*sc)[pos+n:pos+n+Lanes*hs]
		for item := lo; item < hi; item++ {
			r, h := item/nHeads, item%nHeads
			p := pos + r
			qh := qt.row(r)[h*hs : (h+1)*hs]
			kvOff := (h / group) * hs
			sc := att[:p+1]
			for t := 0; t <= p; t++ {
				sc[t] = dot(qh, kt.row(t)[kvOff:kvOff+hs]) / scale
			}
			softmaxRow(sc, b.simd)
			attendValues(o.row(r)[h*hs:(h+1)*hs], sc, vt, kvOff, acc)
		}
	})
	return nil
}

// attnBlock is how many rows of q the SIMD attention scores at once.
const attnBlock = 16

// attentionSIMD computes what Attention's loop computes, each output by the
// same operations: the scores of a block of rows of one head come from the
// batched matmul kernel (the dots of q rows with k rows; keys past a row's
// position are scored but never used), then each row's scale, softmax and
// weighted sum of values run in the SIMD kernels.
func (b *Backend) attentionSIMD(o, qt, kt, vt *Tensor, pos, nHeads, group, hs int) {
	n := qt.rows
	blocks := (n + attnBlock - 1) / attnBlock
	rows := min(n, attnBlock)
	scale := sqrtf(float32(hs))
	b.pool.run(nHeads*blocks, grainFor(3*hs*(pos+(n+1)/2)*rows), func(lo, hi int) {
		sc := getScratch(rows*(pos+n) + attendAccLen(hs))
		defer putScratch(sc)
		acc := (*sc)[rows*(pos+n):]
		for item := lo; item < hi; item++ {
			h, blk := item/blocks, item%blocks
			r0, r1 := blk*attnBlock, min((blk+1)*attnBlock, n)
			T := pos + r1 // keys of the block's last row
			kvOff := (h / group) * hs
			scores := (*sc)[:(r1-r0)*T]
			scoresSIMD(scores, T, qt.f[r0*qt.cols+h*hs:], qt.cols, kt.f[kvOff:], kt.cols, r1-r0, hs, T)
			for r := r0; r < r1; r++ {
				a := scores[(r-r0)*T : (r-r0)*T+pos+r+1]
				softmaxSIMD(a, scale)
				attendSIMD(o.row(r)[h*hs:(h+1)*hs], a, vt, kvOff, acc)
			}
		}
	})
}

// attendValues sets dst[i] = Σ_t a[t]·v[t][off+i] with the sum over t in
// the fixed order: lane t mod 32, then the tree.
func attendValues(dst, a []float32, vt *Tensor, off int, acc []float32) {
	hs := len(dst)
	clear(acc)
	for t, w := range a {
		lane := acc[(t&(Lanes-1))*hs : (t&(Lanes-1)+1)*hs]
		vr := vt.f[t*vt.cols+off : t*vt.cols+off+hs]
		for i, x := range vr {
			lane[i] = lane[i] + float32(w*x)
		}
	}
	for off := Lanes / 2; off > 0; off >>= 1 {
		for j := 0; j < off; j++ {
			dstLane, srcLane := acc[j*hs:(j+1)*hs], acc[(j+off)*hs:(j+off+1)*hs]
			for i := range dstLane {
				dstLane[i] = dstLane[i] + srcLane[i]
			}
		}
	}
	copy(dst, acc[:hs])
}

// softmaxRow: m = max, e = exp(x − m), x = e / Σe (sum in the fixed order).
func softmaxRow(x []float32, simd bool) {
	if simd {
		softmaxSIMD(x, 1) // x/1 = x exactly
		return
	}
	m := negInf
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	for i, v := range x {
		x[i] = Expf(v - m)
	}
	s := SumRef(x)
	for i, v := range x {
		x[i] = v / s
	}
}

// Softmax normalises every row of x in place.
func (b *Backend) Softmax(x kernels.Tensor) error {
	xt, err := b.own1(x)
	if err != nil {
		return err
	}
	if err := kernels.CheckSoftmax(x); err != nil {
		return err
	}
	b.pool.run(xt.rows, grainFor(8*xt.cols), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			softmaxRow(xt.row(r), b.simd)
		}
	})
	return nil
}

// SiLUMul: out = a · (1/(1 + exp(−a))) · b, llama2.c's order.
func (b *Backend) SiLUMul(out, x, y kernels.Tensor) error {
	if b.simd {
		ts, err := b.own(out, x, y)
		if err != nil {
			return err
		}
		if err := kernels.CheckElementwise("silu_mul", out, x, y); err != nil {
			return err
		}
		o, xt, yt := ts[0], ts[1], ts[2]
		b.pool.run(o.rows*o.cols, 1<<14, func(lo, hi int) {
			siluMulSIMD(o.f[lo:hi], xt.f[lo:hi], yt.f[lo:hi])
		})
		return nil
	}
	return b.elementwise("silu_mul", out, x, y, siluMul)
}

// siluMul is one element of SiLUMul.
func siluMul(a, c float32) float32 {
	h := a * (1 / (1 + Expf(-a)))
	return h * c
}

// Add: out = a + b.
func (b *Backend) Add(out, x, y kernels.Tensor) error {
	return b.elementwise("add", out, x, y, func(a, c float32) float32 { return a + c })
}

// Mul: out = a · b.
func (b *Backend) Mul(out, x, y kernels.Tensor) error {
	return b.elementwise("mul", out, x, y, func(a, c float32) float32 { return a * c })
}

func (b *Backend) elementwise(op string, out, x, y kernels.Tensor, f func(a, c float32) float32) error {
	ts, err := b.own(out, x, y)
	if err != nil {
		return err
	}
	if err := kernels.CheckElementwise(op, out, x, y); err != nil {
		return err
	}
	o, xt, yt := ts[0], ts[1], ts[2]
	b.pool.run(o.rows*o.cols, 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o.f[i] = f(xt.f[i], yt.f[i])
		}
	})
	return nil
}

// Copy moves n elements; overlapping ranges behave like memmove.
func (b *Backend) Copy(dst kernels.Tensor, dstOff int, src kernels.Tensor, srcOff, n int) error {
	ts, err := b.own(dst, src)
	if err != nil {
		return err
	}
	if err := kernels.CheckCopy(dst, dstOff, src, srcOff, n); err != nil {
		return err
	}
	copy(ts[0].f[dstOff:dstOff+n], ts[1].f[srcOff:srcOff+n])
	return nil
}

// Sample returns the canonical token for one row.
func (b *Backend) Sample(logits kernels.Tensor, row int, p kernels.SampleParams) (int32, error) {
	lt, err := b.own1(logits)
	if err != nil {
		return 0, err
	}
	if err := kernels.CheckSample(logits, row, p); err != nil {
		return 0, err
	}
	if b.simd && p.Temperature <= 0 {
		return greedySIMD(lt.row(row)), nil
	}
	return SampleRow(lt.row(row), p), nil
}

// q8 helpers -------------------------------------------------------------

// quantizeActs quantizes one activation row into Q8 blocks with binary32
// scales: d = amax/127, q = RoundQ8(x·(1/d)). amax is NaN when any value
// is (Go's max), and 1/d may overflow to +Inf for tiny blocks; RoundQ8
// makes both cases defined.
func quantizeActs(x []float32, q []int8, d []float32) {
	nb := len(d)
	for bl := 0; bl < nb; bl++ {
		lo := bl * kernels.Q8BlockSize
		hi := min(lo+kernels.Q8BlockSize, len(x))
		s := kernels.AbsMax(x[lo:hi]) / 127
		var id float32
		if s != 0 {
			id = 1 / s
		}
		d[bl] = s
		qb := q[lo : lo+kernels.Q8BlockSize]
		for i := range qb {
			if lo+i < hi {
				qb[i] = kernels.RoundQ8(float32(x[lo+i] * id))
			} else {
				qb[i] = 0
			}
		}
	}
}

func (b *Backend) matmulQ8(o, xt, wt *Tensor, n, M, K int) {
	nb := (K + kernels.Q8BlockSize - 1) / kernels.Q8BlockSize
	if b.simd && b.matmulQ8Batch(o, xt, wt, n, M, nb) {
		return
	}
	qs := getScratch(n*nb*kernels.Q8BlockSize/4 + n*nb)
	defer putScratch(qs)
	xd := (*qs)[:n*nb]
	xq := unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData((*qs)[n*nb:]))), n*nb*kernels.Q8BlockSize)
	quantize := quantizeActs
	if b.simd {
		quantize = quantizeActsSIMD
	}
	for r := 0; r < n; r++ {
		quantize(xt.row(r), xq[r*nb*kernels.Q8BlockSize:(r+1)*nb*kernels.Q8BlockSize], xd[r*nb:(r+1)*nb])
	}
	rb := nb * kernels.Q8BlockBytes
	dotq := dotQ8Generic
	if b.simd {
		dotq = dotQ8SIMD
	}
	b.pool.run(M, grainFor(n*K), func(lo, hi int) {
		for m := lo; m < hi; m++ {
			wr := wt.b[m*rb : (m+1)*rb]
			for r := 0; r < n; r++ {
				o.f[r*M+m] = dotq(wr, xq[r*nb*kernels.Q8BlockSize:], xd[r*nb:(r+1)*nb])
			}
		}
	})
}

// dotQ8Generic is the specification of a Q8_0 dot product: per block b the
// exact int32 sum s_b = Σ x_q·w_q, then v_b = float32(s_b) · (d_w·d_x), and
// the v_b are summed in the fixed order (lane b mod 32, then the tree).
func dotQ8Generic(w []byte, xq []int8, xd []float32) float32 {
	var p [Lanes]float32
	for bl, dx := range xd {
		blk := w[bl*kernels.Q8BlockBytes : (bl+1)*kernels.Q8BlockBytes]
		dw := kernels.F16ToF32(binary.LittleEndian.Uint16(blk))
		qs := xq[bl*kernels.Q8BlockSize : (bl+1)*kernels.Q8BlockSize]
		var s int32
		for i, qx := range qs {
			s += int32(qx) * int32(int8(blk[2+i]))
		}
		v := float32(float32(s) * float32(dw*dx))
		p[bl&(Lanes-1)] = p[bl&(Lanes-1)] + v
	}
	return tree(&p)
}
