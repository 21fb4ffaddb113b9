package wasmgen

import (
	"math"
)

// The imports of a generated guest, in function index order.
var guestImports = []struct {
	mod, name       string
	params, results []byte
}{
	{"dna", "tensor_write", []byte{I32, I64, I32, I32}, []byte{I32}},                 // 0
	{"dna", "abi_version", nil, []byte{I32}},                                         // 1
	{"dna", "tensor_new", []byte{I32, I32, I32}, []byte{I32}},                        // 2
	{"dna", "add", []byte{I32, I32, I32}, []byte{I32}},                               // 3
	{"dna", "log", []byte{I32, I32, I32}, []byte{I32}},                               // 4
	{"dna", "tensor_free", []byte{I32}, []byte{I32}},                                 // 5
	{"dna", "config_get", []byte{I32, I32, I32, I32}, []byte{I32}},                   // 6
	{"dna", "tensor_read", []byte{I32, I64, I32, I32}, []byte{I32}},                  // 7
	{"dna", "probe", []byte{I32, I32, I32}, []byte{I32}},                             // 8
	{"wasi_snapshot_preview1", "random_get", []byte{I32, I32}, []byte{I32}},          // 9
	{"wasi_snapshot_preview1", "clock_time_get", []byte{I32, I64, I32}, []byte{I32}}, // 10
	{"wasi_snapshot_preview1", "fd_write", []byte{I32, I32, I32, I32}, []byte{I32}},  // 11
	{"wasi_snapshot_preview1", "sched_yield", nil, []byte{I32}},                      // 12
	{"wasi_snapshot_preview1", "proc_exit", []byte{I32}, nil},                        // 13
}

const (
	fnTensorWrite = iota
	fnAbiVersion
	fnTensorNew
	fnAdd
	fnLog
	fnTensorFree
	fnConfigGet
	fnTensorRead
	fnProbe
	fnRandomGet
	fnClockTimeGet
	fnFdWrite
	fnSchedYield
	fnProcExit
)

// Memory layout of a generated guest.
const (
	scratchMask = 1016 // random loads and stores: [0, 1024), 8-aligned
	rowBuf      = 1024 // one row of logits
	strings     = 3072 // "attack" (config key) then a log message
	heapStart   = 4096 // dna_alloc's bump allocator
)

// canonical NaNs, written wherever a float's bits become observable (a
// store, a reinterpretation): NaN payloads are not deterministic across
// engines or hardware by the WebAssembly specification.
const (
	canonF32 = 0x7fc00000
	canonF64 = 0x7ff8000000000000
)

// frame is what the code generator knows of the function it writes.
type frame struct {
	types      []byte   // every local's type, parameters first
	nparams    int      //
	writable   []uint32 // locals random code may set
	canon32    uint32   // scratch locals for NaN canonicalization
	canon64    uint32
	counters   []uint32 // loop counters, one per nesting level
	loops      int      // loops open
	callFrom   int      // helpers this function may call: index >= callFrom
	indirect   bool     // may use call_indirect (helpers may not: no cycles)
	allowTraps bool
}

type guestGen struct {
	s       *Source
	types   [][]byte // encoded function types
	typeIdx map[string]uint32
	helpers int // helper functions
	helper0 uint32
	vocab   int
	helperT uint32
}

func (g *guestGen) typ(params, results []byte) uint32 {
	key := string(params) + "|" + string(results)
	if i, ok := g.typeIdx[key]; ok {
		return i
	}
	i := uint32(len(g.types))
	g.types = append(g.types, FuncType(params, results))
	g.typeIdx[key] = i
	return i
}

// Guest is a random dna guest for a model with the given vocabulary: it
// exports every entry point the runtime needs, tokenizes and detokenizes
// simply, and computes its logits by random code (integer and float
// arithmetic, memory, globals, bounded and unbounded loops, calls, host
// calls, traps, proc_exit) that every decision of which comes from s.
func Guest(s *Source, vocab int) []byte {
	g := &guestGen{s: s, typeIdx: map[string]uint32{}, vocab: vocab}
	var imports [][]byte
	for _, im := range guestImports {
		imports = append(imports, ImportFunc(im.mod, im.name, g.typ(im.params, im.results)))
	}
	g.helpers = 1 + s.Intn(4)
	g.helper0 = uint32(len(guestImports))
	g.helperT = g.typ([]byte{I32, I64, F64}, []byte{I32})
	base := g.helper0 + uint32(g.helpers)
	const (
		iInit = iota
		iAlloc
		iTokenize
		iDetok
		iForward
		iInitialize
	)
	var funcs, bodies [][]byte
	for h := 0; h < g.helpers; h++ {
		funcs = append(funcs, U32(g.helperT))
		bodies = append(bodies, g.helper(h))
	}
	t0 := g.typ(nil, []byte{I32})
	t1 := g.typ([]byte{I32}, []byte{I32})
	t4 := g.typ([]byte{I32, I32, I32, I32}, []byte{I32})
	tv := g.typ(nil, nil)
	funcs = append(funcs, U32(t0), U32(t1), U32(t4), U32(t4), U32(t4), U32(tv))
	bodies = append(bodies, g.init(), g.alloc(), g.tokenize(), g.detokenize(), g.forward(), g.initialize())

	var memMax *uint32
	if s.Chance(3) {
		m := uint32(2 + s.Intn(6))
		memMax = &m
	}
	table := Section(SecTable, Cat([]byte{0x70}, Limits(uint32(g.helpers), nil)))
	var elems []byte
	for h := 0; h < g.helpers; h++ {
		elems = append(elems, U32(g.helper0+uint32(h))...)
	}
	elem := Section(SecElement, Cat(U32(0), ConstExpr(I32Const(0)), U32(uint32(g.helpers)), elems))
	globals := Section(SecGlobal,
		Cat([]byte{I32, 1}, ConstExpr(I32Const(heapStart))), // 0: heap top
		Cat([]byte{I32, 1}, ConstExpr(I32Const(int32(s.U32())))),
		Cat([]byte{I64, 1}, ConstExpr(I64Const(int64(s.U64())))),
		Cat([]byte{F32, 1}, ConstExpr([]byte{0x43}, f32Bytes(float32(s.Intn(200))-100))),
		Cat([]byte{F64, 1}, ConstExpr([]byte{0x44}, f64Bytes(float64(s.Intn(2000))/7))),
	)
	var exports [][]byte
	for i, name := range []string{"dna_init", "dna_alloc", "dna_tokenize", "dna_detokenize", "dna_forward"} {
		exports = append(exports, Export(name, 0, base+uint32(i)))
	}
	if s.Chance(2) {
		exports = append(exports, Export("_initialize", 0, base+iInitialize))
	}
	exports = append(exports, Export("memory", 2, 0))
	msg := []byte("attack\x00generated guest says hello")
	data := Section(SecData, Cat(U32(0), ConstExpr(I32Const(strings)), U32(uint32(len(msg))), msg))
	return Module(
		Section(SecType, g.types...),
		Section(SecImport, imports...),
		Section(SecFunction, funcs...),
		table,
		Section(SecMemory, Limits(2, memMax)),
		globals,
		Section(SecExport, exports...),
		elem,
		Section(SecCode, bodies...),
		data,
	)
}

func f32Bytes(v float32) []byte {
	b := math.Float32bits(v)
	return []byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)}
}

func f64Bytes(v float64) []byte {
	b := math.Float64bits(v)
	out := make([]byte, 8)
	for i := range out {
		out[i] = byte(b >> (8 * i))
	}
	return out
}

// newFrame lays out a function's locals: params, then extras of every
// type, two canonicalization scratch locals and three loop counters.
func newFrame(params []byte, fixed []byte) *frame {
	f := &frame{nparams: len(params)}
	f.types = append(append([]byte{}, params...), fixed...)
	extra := []byte{I32, I32, I64, F32, F64}
	for _, t := range extra {
		f.writable = append(f.writable, uint32(len(f.types)))
		f.types = append(f.types, t)
	}
	f.canon32 = uint32(len(f.types))
	f.types = append(f.types, F32)
	f.canon64 = uint32(len(f.types))
	f.types = append(f.types, F64)
	for i := 0; i < 3; i++ {
		f.counters = append(f.counters, uint32(len(f.types)))
		f.types = append(f.types, I32)
	}
	return f
}

// locals encodes the non-parameter locals as runs.
func (f *frame) locals() [][2]uint32 {
	var out [][2]uint32
	for _, t := range f.types[f.nparams:] {
		if n := len(out); n > 0 && out[n-1][1] == uint32(t) {
			out[n-1][0]++
		} else {
			out = append(out, [2]uint32{1, uint32(t)})
		}
	}
	return out
}

func (g *guestGen) helper(h int) []byte {
	f := newFrame([]byte{I32, I64, F64}, nil)
	f.callFrom, f.allowTraps = h+1, true
	code := Cat(g.stmts(f, 2), g.expr(f, I32, 3))
	return Body(f.locals(), code)
}

func (g *guestGen) init() []byte {
	f := newFrame(nil, nil)
	f.indirect, f.allowTraps = true, true
	ret := I32Const(0)
	if g.s.Chance(8) {
		ret = I32Const(-int32(1 + g.s.Intn(20)))
	}
	return Body(f.locals(), g.stmts(f, 2), ret)
}

func (g *guestGen) initialize() []byte {
	f := newFrame(nil, nil)
	f.indirect, f.allowTraps = true, true
	return Body(f.locals(), g.stmts(f, 2))
}

// alloc is a bump allocator over the heap global, growing memory as needed;
// now and then it misbehaves (a null or stray pointer).
func (g *guestGen) alloc() []byte {
	switch g.s.Intn(24) {
	case 22:
		return Body(nil, I32Const(0))
	case 23:
		return Body(nil, I32Const(int32(g.s.U32())))
	}
	// p = heap; top = p + n; while top > size*64K { if grow(1) == -1 return 0 }; heap = top; return p
	return Body([][2]uint32{{2, I32}},
		GlobalGet(0), LocalSet(1),
		LocalGet(1), LocalGet(0), Op(0x6a), LocalSet(2),
		Block(Void, Loop(Void,
			LocalGet(2), Op(0x3f, 0x00), I32Const(16), Op(0x74), Op(0x4d), BrIf(1), // top <=u size<<16: done
			I32Const(1), Op(0x40, 0x00), I32Const(-1), Op(0x46),
			If(Void, Cat(I32Const(0), Op(0x0f)), nil),
			Br(0),
		)),
		LocalGet(2), GlobalSet(0),
		LocalGet(1))
}

// tokenize maps each byte b of the text to (b*A + B) mod vocab.
func (g *guestGen) tokenize() []byte {
	a, b := int32(1+g.s.Intn(7)), int32(g.s.Intn(11))
	f := newFrame([]byte{I32, I32, I32, I32}, []byte{I32})
	i := uint32(4)
	f.indirect = true
	var pre []byte
	if g.s.Chance(4) {
		pre = g.stmts(f, 1)
	}
	loop := Block(Void, Loop(Void,
		LocalGet(i), LocalGet(1), Op(0x4f), BrIf(1), // i >= n
		LocalGet(i), LocalGet(3), Op(0x49), // i < cap (unsigned)
		If(Void, Cat(
			LocalGet(2), LocalGet(i), I32Const(2), Op(0x74), Op(0x6a), // out + 4i
			LocalGet(0), LocalGet(i), Op(0x6a), Mem(0x2d, 0, 0), // text[i]
			I32Const(a), Op(0x6c), I32Const(b), Op(0x6a), I32Const(int32(g.vocab)), Op(0x70),
			Mem(0x36, 2, 0)), nil),
		LocalGet(i), I32Const(1), Op(0x6a), LocalSet(i),
		Br(0),
	))
	return Body(f.locals(), pre, loop, LocalGet(1))
}

// detokenize writes one letter.
func (g *guestGen) detokenize() []byte {
	return Body(nil,
		LocalGet(3), I32Const(1), Op(0x4e), // cap >= 1
		If(Void, Cat(LocalGet(2), LocalGet(1), I32Const(26), Op(0x70), I32Const('a'), Op(0x6a), Mem(0x3a, 0, 0)), nil),
		I32Const(1))
}

// forward computes, for each row, h = a random function of the token and
// its position, then each logit as a random float function of h and the
// logit's index, and writes the row; it may probe the logits.
func (g *guestGen) forward() []byte {
	// params: tokens n pos logits; fixed: i h j rc
	f := newFrame([]byte{I32, I32, I32, I32}, []byte{I32, I32, I32, I32})
	f.indirect, f.allowTraps = true, true
	const li, lh, lj, lrc = 4, 5, 6, 7
	hExpr := Cat(
		g.expr(f, I32, 4),
		LocalGet(0), LocalGet(li), I32Const(2), Op(0x74), Op(0x6a), Mem(0x28, 2, 0), // tokens[i]
		I32Const(int32(1+g.s.Intn(13))), Op(0x6c), Op(0x6a),
		LocalGet(2), LocalGet(li), Op(0x6a), Op(0x6a), // + pos + i
	)
	k := int32(g.s.Intn(97))
	logit := Cat(
		g.expr(f, F32, 3),
		LocalGet(lh), LocalGet(lj), I32Const(1), Op(0x6a), Op(0x6c), I32Const(k), Op(0x6a), I32Const(97), Op(0x6f),
		Op(0xb2), // f32.convert_i32_s
		Op(0x92), // f32.add
	)
	row := Cat(
		hExpr, LocalSet(lh),
		I32Const(0), LocalSet(lj),
		Block(Void, Loop(Void,
			LocalGet(lj), I32Const(int32(g.vocab)), Op(0x4e), BrIf(1), // j >= vocab
			LocalGet(lj), I32Const(2), Op(0x74), I32Const(rowBuf), Op(0x6a),
			logit, g.canon(f, F32), Mem(0x38, 2, 0),
			LocalGet(lj), I32Const(1), Op(0x6a), LocalSet(lj),
			Br(0),
		)),
		// rc = tensor_write(logits, i*4*vocab, rowBuf, 4*vocab); if rc < 0 return rc
		LocalGet(3), LocalGet(li), Op(0xad), I64Const(int64(4*g.vocab)), Op(0x7e),
		I32Const(rowBuf), I32Const(int32(4*g.vocab)), Call(fnTensorWrite), LocalTee(lrc),
		I32Const(0), Op(0x48), If(Void, Cat(LocalGet(lrc), Op(0x0f)), nil),
	)
	var pre, post []byte
	if g.s.Chance(2) {
		pre = g.stmts(f, 2)
	}
	if g.s.Chance(2) { // probe the logits: the digest sees them
		post = Cat(LocalGet(3), I32Const(strings+7), I32Const(int32(1+g.s.Intn(9))), Call(fnProbe), Op(0x1a))
	}
	ret := I32Const(0)
	if g.s.Chance(16) {
		ret = Cat(g.expr(f, I32, 2), I32Const(math.MinInt32), Op(0x72)) // a negative code
	}
	return Body(f.locals(),
		pre,
		I32Const(0), LocalSet(li),
		Block(Void, Loop(Void,
			LocalGet(li), LocalGet(1), Op(0x4e), BrIf(1), // i >= n
			row,
			LocalGet(li), I32Const(1), Op(0x6a), LocalSet(li),
			Br(0),
		)),
		post, ret)
}

// canon replaces a NaN on the stack by the canonical NaN.
func (g *guestGen) canon(f *frame, t byte) []byte {
	if t == F32 {
		return Cat(LocalSet(f.canon32),
			[]byte{0x43}, f32Bytes(math.Float32frombits(canonF32)),
			LocalGet(f.canon32), LocalGet(f.canon32), LocalGet(f.canon32), Op(0x5c), Op(0x1b))
	}
	return Cat(LocalSet(f.canon64),
		[]byte{0x44}, f64Bytes(math.Float64frombits(canonF64)),
		LocalGet(f.canon64), LocalGet(f.canon64), LocalGet(f.canon64), Op(0x62), Op(0x1b))
}

// addr is an address for a random load or store: inside the scratch area,
// or (rarely) anything, which may trap.
func (g *guestGen) addr(f *frame) []byte {
	if f.allowTraps && g.s.Chance(12) {
		return g.expr(f, I32, 1)
	}
	return Cat(g.expr(f, I32, 1), I32Const(scratchMask), Op(0x71))
}

func (g *guestGen) small(f *frame, mask int32) []byte {
	return Cat(g.expr(f, I32, 1), I32Const(mask), Op(0x71))
}

func (g *guestGen) stmts(f *frame, depth int) []byte {
	var out []byte
	n := g.s.Intn(4)
	for i := 0; i < n; i++ {
		out = append(out, g.stmt(f, depth)...)
	}
	return out
}

var anyType = []byte{I32, I64, F32, F64}

func (g *guestGen) stmt(f *frame, depth int) []byte {
	s := g.s
	switch s.Intn(14) {
	case 0:
		return nil
	case 1: // drop
		return Cat(g.expr(f, anyType[s.Intn(4)], depth), Op(0x1a))
	case 2: // local.set
		l := f.writable[s.Intn(len(f.writable))]
		return Cat(g.expr(f, f.types[l], depth), LocalSet(l))
	case 3: // global.set
		gi := 1 + s.Intn(4)
		return Cat(g.expr(f, anyType[gi-1], depth), GlobalSet(uint32(gi)))
	case 4: // store
		t := anyType[s.Intn(4)]
		v := g.expr(f, t, depth)
		op := map[byte][]byte{I32: {0x36, 0x3a, 0x3b}, I64: {0x37, 0x3c, 0x3d, 0x3e}, F32: {0x38}, F64: {0x39}}[t]
		o := op[s.Intn(len(op))]
		if t == F32 || t == F64 {
			v = Cat(v, g.canon(f, t))
		}
		return Cat(g.addr(f), v, Mem(o, 0, uint32(s.Intn(8))))
	case 5: // bounded loop
		if depth <= 0 || f.loops >= len(f.counters) {
			return nil
		}
		c := f.counters[f.loops]
		f.loops++
		body := g.stmts(f, depth-1)
		f.loops--
		return Cat(g.small(f, 7), I32Const(1), Op(0x6a), LocalSet(c),
			Loop(Void, body, LocalGet(c), I32Const(1), Op(0x6b), LocalTee(c), BrIf(0)))
	case 6: // if/else
		if depth <= 0 {
			return nil
		}
		return Cat(g.expr(f, I32, 1), If(Void, g.stmts(f, depth-1), g.stmts(f, depth-1)))
	case 7: // block with an early exit
		if depth <= 0 {
			return nil
		}
		return Block(Void, g.stmts(f, depth-1), g.expr(f, I32, 1), BrIf(0), g.stmts(f, depth-1))
	case 8: // call_indirect
		if !f.indirect {
			return nil
		}
		idx := Cat(g.expr(f, I32, 1), I32Const(int32(g.helpers)), Op(0x70)) // rem_u: a helper
		if f.allowTraps && s.Chance(6) {
			idx = g.expr(f, I32, 1)
		}
		return Cat(g.expr(f, I32, 1), g.expr(f, I64, 1), g.expr(f, F64, 1), idx,
			Op(0x11), U32(g.helperT), U32(0), Op(0x1a))
	case 9: // memory.fill / memory.copy inside the scratch area
		if s.Chance(2) {
			return Cat(g.addr(f), g.small(f, 255), g.small(f, 127), Op(0xfc), U32(11), U32(0))
		}
		return Cat(g.addr(f), g.addr(f), g.small(f, 127), Op(0xfc), U32(10), U32(0), U32(0))
	case 10: // a host call for its effect
		return Cat(g.hostCall(f), Op(0x1a))
	case 11, 12, 13: // misbehaviour
		if !f.allowTraps || !s.Chance(3) {
			return nil
		}
		switch s.Intn(5) {
		case 0:
			return Op(0x00) // unreachable
		case 1:
			return Loop(Void, Br(0)) // spins until fuel runs out
		case 2:
			return Cat(I32Const(int32(s.U32()%70000)), Op(0x40, 0x00), Op(0x1a)) // memory.grow, maybe too far
		case 3:
			return Cat(g.small(f, 3), Call(fnProcExit))
		case 4: // allocate host tensors until the quota answers
			return Loop(Void, I32Const(1), g.small(f, 63), I32Const(256), Call(fnTensorNew), I32Const(0), Op(0x4e), BrIf(0))
		}
	}
	return nil
}

// hostCall is a call of an import with random arguments, leaving an i32.
func (g *guestGen) hostCall(f *frame) []byte {
	s := g.s
	switch s.Intn(11) {
	case 0:
		return Call(fnAbiVersion)
	case 1:
		return Cat(g.small(f, 3), g.small(f, 15), g.small(f, 15), Call(fnTensorNew))
	case 2:
		return Cat(g.small(f, 7), g.small(f, 7), g.small(f, 7), Call(fnAdd))
	case 3:
		return Cat(g.small(f, 3), I32Const(strings+7), g.small(f, 15), Call(fnLog))
	case 4:
		return Cat(g.small(f, 7), Call(fnTensorFree))
	case 5:
		return Cat(I32Const(strings), I32Const(6), g.addr(f), g.small(f, 31), Call(fnConfigGet))
	case 6:
		return Cat(g.addr(f), g.small(f, 63), Call(fnRandomGet))
	case 7:
		return Cat(g.small(f, 3), g.expr(f, I64, 1), g.addr(f), Call(fnClockTimeGet))
	case 8:
		return Cat(g.small(f, 3), g.addr(f), g.small(f, 3), g.addr(f), Call(fnFdWrite))
	case 9:
		return Call(fnSchedYield)
	case 10:
		return Cat(g.small(f, 7), g.expr(f, I64, 1), g.addr(f), g.small(f, 63), Call(fnTensorRead))
	}
	return Call(fnAbiVersion)
}

// Opcodes by shape.
var (
	unOps = map[byte][]byte{
		I32: {0x45, 0x67, 0x68, 0x69, 0xc0, 0xc1},
		I64: {0x79, 0x7a, 0x7b, 0xc2, 0xc3, 0xc4},
		F32: {0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91},
		F64: {0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f},
	}
	binOps = map[byte][]byte{
		I32: {0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78},
		I64: {0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a},
		F32: {0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98},
		F64: {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6},
	}
	// comparisons yielding i32: first opcode and count per operand type
	cmpOps  = map[byte][2]byte{I32: {0x46, 10}, I64: {0x51, 10}, F32: {0x5b, 6}, F64: {0x61, 6}}
	loadOps = map[byte][]byte{
		I32: {0x28, 0x2c, 0x2d, 0x2e, 0x2f},
		I64: {0x29, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35},
		F32: {0x2a},
		F64: {0x2b},
	}
	// conversions: result type → (operand type, opcode); 0xfc n is a
	// saturating truncation, written as opcode 0xfc00|n.
	convOps = map[byte][][2]uint16{
		I32: {{I64, 0xa7}, {F32, 0xa8}, {F32, 0xa9}, {F64, 0xaa}, {F64, 0xab}, {F32, 0xbc}, {F32, 0xfc00}, {F32, 0xfc01}, {F64, 0xfc02}, {F64, 0xfc03}},
		I64: {{I32, 0xac}, {I32, 0xad}, {F32, 0xae}, {F32, 0xaf}, {F64, 0xb0}, {F64, 0xb1}, {F64, 0xbd}, {F32, 0xfc04}, {F32, 0xfc05}, {F64, 0xfc06}, {F64, 0xfc07}},
		F32: {{I32, 0xb2}, {I32, 0xb3}, {I64, 0xb4}, {I64, 0xb5}, {F64, 0xb6}, {I32, 0xbe}},
		F64: {{I32, 0xb7}, {I32, 0xb8}, {I64, 0xb9}, {I64, 0xba}, {F32, 0xbb}, {I64, 0xbf}},
	}
	divides      = map[byte]bool{0x6d: true, 0x6e: true, 0x6f: true, 0x70: true, 0x7f: true, 0x80: true, 0x81: true, 0x82: true}
	trappingConv = map[uint16]bool{0xa8: true, 0xa9: true, 0xaa: true, 0xab: true, 0xae: true, 0xaf: true, 0xb0: true, 0xb1: true}
)

func (g *guestGen) leaf(f *frame, t byte) []byte {
	s := g.s
	switch s.Intn(4) {
	case 1, 2: // a local of that type
		var ls []uint32
		for i, lt := range f.types {
			if lt == t {
				ls = append(ls, uint32(i))
			}
		}
		if len(ls) > 0 {
			return LocalGet(ls[s.Intn(len(ls))])
		}
	case 3:
		return GlobalGet(uint32(1 + map[byte]int{I32: 0, I64: 1, F32: 2, F64: 3}[t]))
	}
	switch t {
	case I32:
		if s.Chance(3) {
			return I32Const(int32(s.U32()))
		}
		return I32Const(int32(s.Intn(64)) - 8)
	case I64:
		if s.Chance(3) {
			return I64Const(int64(s.U64()))
		}
		return I64Const(int64(s.Intn(64)) - 8)
	case F32:
		vals := []float32{0, 1, -1, 0.5, 3.25, 1e30, -1e-30, float32(math.Inf(1)), float32(math.NaN())}
		return Cat([]byte{0x43}, f32Bytes(vals[s.Intn(len(vals))]))
	default:
		vals := []float64{0, 1, -1, 0.5, 3.25, 1e300, -1e-300, math.Inf(-1), math.NaN()}
		return Cat([]byte{0x44}, f64Bytes(vals[s.Intn(len(vals))]))
	}
}

// expr is code leaving one value of type t.
func (g *guestGen) expr(f *frame, t byte, depth int) []byte {
	s := g.s
	if depth <= 0 {
		return g.leaf(f, t)
	}
	d := depth - 1
	switch s.Intn(14) {
	case 1: // unary
		ops := unOps[t]
		return Cat(g.expr(f, t, d), Op(ops[s.Intn(len(ops))]))
	case 2, 3: // binary
		ops := binOps[t]
		op := ops[s.Intn(len(ops))]
		x, y := g.expr(f, t, d), g.expr(f, t, d)
		if divides[op] && !(f.allowTraps && s.Chance(6)) {
			// Mostly a divisor that cannot be 0 (locals start at 0).
			if t == I32 {
				y = Cat(y, I32Const(1), Op(0x72))
			} else {
				y = Cat(y, I64Const(1), Op(0x84))
			}
		}
		return Cat(x, y, Op(op))
	case 4: // conversion
		cs := convOps[t]
		c := cs[s.Intn(len(cs))]
		if trappingConv[c[1]] && !(f.allowTraps && s.Chance(4)) {
			return g.leaf(f, t)
		}
		x := g.expr(f, byte(c[0]), d)
		if c[1] == 0xbc || c[1] == 0xbd { // reinterpret a float: canonical NaN first
			x = Cat(x, g.canon(f, byte(c[0])))
		}
		if c[1] >= 0xfc00 {
			return Cat(x, Op(0xfc), U32(uint32(c[1]&0xff)))
		}
		return Cat(x, Op(byte(c[1])))
	case 5: // load
		ops := loadOps[t]
		return Cat(g.addr(f), Mem(ops[s.Intn(len(ops))], 0, uint32(s.Intn(8))))
	case 6: // select
		return Cat(g.expr(f, t, d), g.expr(f, t, d), g.expr(f, I32, d), Op(0x1b))
	case 7: // if/else
		return Cat(g.expr(f, I32, d), If(t, g.expr(f, t, d), g.expr(f, t, d)))
	case 8: // a block computing the value after some statements
		return Block(t, g.stmts(f, d), g.expr(f, t, d))
	case 9: // tee
		for _, l := range f.writable {
			if f.types[l] == t {
				return Cat(g.expr(f, t, d), LocalTee(l))
			}
		}
	}
	if t != I32 {
		if t == I64 && s.Chance(2) { // i64 from an i32 computation
			return Cat(g.expr(f, I32, d), Op(0xac))
		}
		return g.leaf(f, t)
	}
	switch s.Intn(6) {
	case 1: // comparison
		ot := anyType[s.Intn(4)]
		c := cmpOps[ot]
		return Cat(g.expr(f, ot, d), g.expr(f, ot, d), Op(c[0]+byte(s.Intn(int(c[1])))))
	case 2: // a helper
		if h := f.callFrom + s.Intn(g.helpers+1); h < g.helpers {
			return Cat(g.expr(f, I32, d), g.expr(f, I64, d), g.expr(f, F64, d), Call(g.helper0+uint32(h)))
		}
	case 3:
		return g.hostCall(f)
	case 4:
		if s.Chance(2) {
			return Op(0x3f, 0x00) // memory.size
		}
		return Cat(g.small(f, 3), Op(0x40, 0x00)) // memory.grow
	}
	return g.leaf(f, I32)
}
