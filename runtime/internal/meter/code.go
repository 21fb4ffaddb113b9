package meter

// Immediate kinds, by opcode.
const (
	immBad = iota
	immNone
	immEnd
	immBlock
	immU32
	immU32x2
	immFunc
	immBrTable
	immSelectT
	immMemarg
	immS32
	immS64
	immF32
	immF64
	immRefNull
	immPrefixFC
)

var immKind = func() (t [256]byte) {
	set := func(k byte, ops ...byte) {
		for _, o := range ops {
			t[o] = k
		}
	}
	// unreachable nop else return drop select ref.is_null
	set(immNone, 0x00, 0x01, 0x05, 0x0f, 0x1a, 0x1b, 0xd1)
	for o := 0x45; o <= 0xc4; o++ { // numeric, MVP and sign extension
		t[o] = immNone
	}
	set(immBlock, 0x02, 0x03, 0x04)
	set(immEnd, 0x0b)
	// br br_if local.* global.* table.get table.set memory.size memory.grow
	set(immU32, 0x0c, 0x0d, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3f, 0x40)
	set(immBrTable, 0x0e)
	set(immFunc, 0x10, 0x12, 0xd2) // call return_call ref.func
	set(immU32x2, 0x11, 0x13)      // call_indirect return_call_indirect
	set(immSelectT, 0x1c)
	for o := 0x28; o <= 0x3e; o++ { // loads and stores
		t[o] = immMemarg
	}
	set(immS32, 0x41)
	set(immS64, 0x42)
	set(immF32, 0x43)
	set(immF64, 0x44)
	set(immRefNull, 0xd0)
	set(immPrefixFC, 0xfc)
	return t
}()

// fcImms is the number of u32 immediates of each 0xFC sub-opcode in 0..17.
var fcImms = [...]byte{0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1}

// walker rewrites expressions: it shifts function indices and, in function
// bodies, inserts the metering sequence.
type walker struct {
	imports  uint32 // indices at or above shift by one
	funcs    uint32 // function count before instrumenting
	fuel     uint32 // the fuel global
	prologue []byte
	census   map[uint32]int // opcode counts (0xFC ops as 0xFC00|sub), for tests
}

func newWalker(imports, funcs, fuel uint32) walker {
	g := appendU32(nil, fuel)
	p := append([]byte{0x23}, g...)         // global.get $fuel
	p = append(p, 0x42, 0x01, 0x7d, 0x24)   // i64.const 1; i64.sub; global.set
	p = append(append(p, g...), 0x23)       // $fuel; global.get
	p = append(append(p, g...), 0x42, 0x00) // $fuel; i64.const 0
	p = append(p, 0x53, 0x04, 0x40, 0x10)   // i64.lt_s; if; call
	p = append(appendU32(p, imports), 0x0b) // $refill; end
	return walker{imports: imports, funcs: funcs, fuel: fuel, prologue: p}
}

// fn maps an old function index to the new one.
func (w *walker) fn(idx uint32) (uint32, error) {
	if idx >= w.funcs {
		return 0, malformed("function index %d out of range (%d functions)", idx, w.funcs)
	}
	if idx >= w.imports {
		idx++
	}
	return idx, nil
}

// blockType skips 0x40 (empty), a value type, or an s33 type index.
func (r *reader) blockType() error {
	if r.eof() {
		return r.errorf("unexpected end")
	}
	c := r.b[r.off]
	if c == 0x40 || isValType(c) {
		r.off++
		return nil
	}
	v, err := r.sleb(33)
	if err != nil {
		return err
	}
	if v < 0 { // a value type of a later proposal
		return unsupported("block type 0x%02x", c)
	}
	return nil
}

// expr appends the expression at r, up to and including the end closing it,
// to buf. With meter set it is a function body: the metering sequence goes
// first and after every loop's block type.
// constOp reports the opcodes a constant expression may hold: t.const,
// global.get, ref.null, ref.func and end.
func constOp(op byte) bool {
	switch op {
	case 0x41, 0x42, 0x43, 0x44, 0x23, 0xd0, 0xd2, 0x0b:
		return true
	}
	return false
}

func (w *walker) expr(buf []byte, r *reader, meter bool) ([]byte, error) {
	if meter {
		buf = append(buf, w.prologue...)
	}
	from := r.off // input not yet copied to buf; unchanged code is copied in runs
	depth := 1
	for {
		at := r.off
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		if w.census != nil {
			w.census[uint32(op)]++
		}
		if !meter && !constOp(op) {
			// A constant expression: MVP and reference-type constants only
			// (no extended constants), as wazero's core features v2 allow,
			// so that no engine accepts what another refuses.
			return nil, unsupported("opcode 0x%02x in a constant expression at offset %d", op, at)
		}
		switch immKind[op] {
		case immNone:
		case immEnd:
			if depth--; depth == 0 {
				return append(buf, r.b[from:r.off]...), nil
			}
		case immBlock:
			if err = r.blockType(); err != nil {
				break
			}
			depth++
			if op == 0x03 && meter {
				buf = append(buf, r.b[from:r.off]...)
				buf = append(buf, w.prologue...)
				from = r.off
			}
		case immU32:
			_, err = r.u32()
		case immU32x2:
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case immFunc:
			var idx uint32
			if idx, err = r.u32(); err != nil {
				break
			}
			if idx, err = w.fn(idx); err != nil {
				break
			}
			buf = append(buf, r.b[from:at]...)
			buf = appendU32(append(buf, op), idx)
			from = r.off
		case immBrTable:
			var n uint32
			n, err = r.u32()
			for i := uint64(0); err == nil && i <= uint64(n); i++ { // n labels and a default
				_, err = r.u32()
			}
		case immSelectT:
			var n uint32
			var ts []byte
			if n, err = r.u32(); err == nil {
				ts, err = r.bytes(n)
			}
			for _, t := range ts {
				if !isValType(t) {
					return nil, unsupported("select value type 0x%02x at offset %d", t, at)
				}
			}
		case immMemarg:
			var align uint32
			if align, err = r.u32(); err != nil {
				break
			}
			if align&0x40 != 0 { // multi-memory: a memory index follows
				if _, err = r.u32(); err != nil {
					break
				}
			}
			_, err = r.uleb(64)
		case immS32:
			_, err = r.sleb(32)
		case immS64:
			_, err = r.sleb(64)
		case immF32:
			_, err = r.bytes(4)
		case immF64:
			_, err = r.bytes(8)
		case immRefNull:
			var t byte
			if t, err = r.byte(); err == nil && !isRefType(t) {
				return nil, unsupported("ref.null heap type 0x%02x at offset %d", t, at)
			}
		case immPrefixFC:
			var sub uint32
			if sub, err = r.u32(); err != nil {
				break
			}
			if sub >= uint32(len(fcImms)) {
				return nil, unsupported("opcode 0xfc %d at offset %d", sub, at)
			}
			if w.census != nil {
				w.census[0xfc00|sub]++
			}
			for i := byte(0); err == nil && i < fcImms[sub]; i++ {
				_, err = r.u32()
			}
		default:
			return nil, unsupported("opcode 0x%02x at offset %d", op, at)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (m *module) start(buf []byte) ([]byte, error) {
	r := reader{b: m.sec[secStart]}
	idx, err := r.u32()
	if err != nil {
		return nil, err
	}
	if !r.eof() {
		return nil, malformed("trailing bytes")
	}
	if idx, err = m.w.fn(idx); err != nil {
		return nil, within(err, "start")
	}
	return appendU32(buf, idx), nil
}

// elements rewrites the element section. Flags bit 0: passive or
// declarative; bit 1: explicit table index (active) or declarative; bit 2:
// expressions instead of function indices.
func (m *module) elements(buf []byte) ([]byte, error) {
	r := reader{b: m.sec[secElement]}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	buf = appendU32(buf, n)
	for i := uint32(0); i < n; i++ {
		if buf, err = m.element(buf, &r); err != nil {
			return nil, within(err, "element segment %d", i)
		}
	}
	if !r.eof() {
		return nil, malformed("trailing bytes")
	}
	return buf, nil
}

func (m *module) element(buf []byte, r *reader) ([]byte, error) {
	flags, err := r.u32()
	if err != nil {
		return nil, err
	}
	if flags > 7 {
		return nil, malformed("flags %d", flags)
	}
	buf = appendU32(buf, flags)
	if flags&1 == 0 { // active
		if flags&2 != 0 {
			t, err := r.u32()
			if err != nil {
				return nil, err
			}
			buf = appendU32(buf, t)
		}
		if buf, err = m.w.expr(buf, r, false); err != nil {
			return nil, err
		}
	}
	exprs := flags&4 != 0
	if flags&3 != 0 {
		k, err := r.byte()
		if err != nil {
			return nil, err
		}
		if (!exprs && k != 0x00) || (exprs && !isRefType(k)) {
			return nil, unsupported("element type 0x%02x", k)
		}
		buf = append(buf, k)
	}
	cnt, err := r.u32()
	if err != nil {
		return nil, err
	}
	buf = appendU32(buf, cnt)
	for j := uint32(0); j < cnt; j++ {
		if exprs {
			buf, err = m.w.expr(buf, r, false)
		} else {
			var idx uint32
			if idx, err = r.u32(); err == nil {
				if idx, err = m.w.fn(idx); err == nil {
					buf = appendU32(buf, idx)
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func (m *module) code(buf []byte) ([]byte, error) {
	r := reader{b: m.sec[secCode]}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n != m.definedFuncs {
		return nil, malformed("%d code entries for %d functions", n, m.definedFuncs)
	}
	buf = appendU32(buf, n)
	var body []byte
	for i := uint32(0); i < n; i++ {
		fn := m.funcImports + i
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		b, err := r.bytes(size)
		if err != nil {
			return nil, within(err, "function %d", fn)
		}
		if body, err = m.body(body[:0], b); err != nil {
			return nil, within(err, "function %d", fn)
		}
		buf = appendU32(buf, uint32(len(body)))
		buf = append(buf, body...)
	}
	if !r.eof() {
		return nil, malformed("trailing bytes")
	}
	return buf, nil
}

// maxLocals bounds a function's locals, as V8 and SpiderMonkey do: a
// declaration costs a few bytes, but engines allocate per local (wazero
// up to 2^32 of them).
const maxLocals = 50000

func (m *module) body(buf, b []byte) ([]byte, error) {
	r := reader{b: b}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	var locals uint64
	for i := uint32(0); i < n; i++ {
		k, err := r.u32()
		if err != nil {
			return nil, err
		}
		if locals += uint64(k); locals > maxLocals {
			return nil, unsupported("more than %d locals", maxLocals)
		}
		t, err := r.byte()
		if err != nil {
			return nil, err
		}
		if !isValType(t) {
			return nil, unsupported("local type 0x%02x", t)
		}
	}
	buf = append(buf, b[:r.off]...)
	if buf, err = m.w.expr(buf, &r, true); err != nil {
		return nil, err
	}
	if !r.eof() {
		return nil, malformed("%d bytes after the body's end", len(b)-r.off)
	}
	return buf, nil
}
