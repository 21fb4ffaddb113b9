package meter

import (
	"bytes"
	"errors"
	"fmt"
)

const (
	// ExportFuel names the exported mutable i64 global holding the fuel left.
	ExportFuel = "dna_fuel"
	// ImportModule and ImportName name the () -> () function the guest calls
	// when the fuel drops below zero; the host refills it or traps.
	ImportModule = "dna_meter"
	ImportName   = "refill"
	// InitialFuel is the fuel global's initial value: small, so even a
	// module's start function reaches refill (and the host's deadline check)
	// within milliseconds.
	InitialFuel = 1 << 22
)

var (
	ErrMalformed   = errors.New("meter: malformed module")
	ErrUnsupported = errors.New("meter: unsupported module")
)

const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionOrder is the order sections must appear in (and are written in).
var sectionOrder = [...]byte{secType, secImport, secFunction, secTable, secMemory, secTag,
	secGlobal, secExport, secStart, secElement, secDataCount, secCode, secData}

var sectionName = [...]string{"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "data count", "tag"}

// Value types this package accepts in signatures, locals and globals.
func isValType(b byte) bool {
	switch b {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return true
	}
	return false
}

func isRefType(b byte) bool { return b == 0x70 || b == 0x6f }

// instrError is ErrMalformed or ErrUnsupported with where and why.
type instrError struct {
	kind error
	msg  string
}

func (e *instrError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *instrError) Unwrap() error { return e.kind }

func unsupported(format string, args ...any) error {
	return &instrError{ErrUnsupported, fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) error {
	return &instrError{ErrMalformed, fmt.Sprintf(format, args...)}
}

// within prefixes an error's detail with where it happened.
func within(err error, format string, args ...any) error {
	if e, ok := err.(*instrError); ok {
		return &instrError{e.kind, fmt.Sprintf(format, args...) + ": " + e.msg}
	}
	return err
}

// module holds what rewriting needs to know about the input.
type module struct {
	sec     [14][]byte // contents by id; nil when absent
	present [14]bool

	refillType     uint32
	addType        bool // the () -> () type must be appended
	funcImports    uint32
	globalImports  uint32
	definedFuncs   uint32
	definedGlobals uint32
	w              walker
}

// Instrument returns a copy of the module with fuel metering:
//   - a new mutable i64 global, exported as ExportFuel, initialised to InitialFuel;
//   - a new function import ImportModule.ImportName of type () -> (), added
//     as the last function import, so function indices at and above the old
//     import count shift by one;
//   - at the start of every function body and right after every loop's
//     block type: fuel -= 1; if fuel < 0 { refill() }.
//
// Custom sections are dropped: names and debug info would refer to shifted
// indices and moved code. It fails with ErrMalformed or ErrUnsupported for
// modules it cannot decode or rewrite, including ones already exporting
// ExportFuel or importing from ImportModule.
func Instrument(wasm []byte) ([]byte, error) {
	m, err := split(wasm)
	if err != nil {
		return nil, err
	}
	if err := m.scan(); err != nil {
		return nil, err
	}
	return m.write(len(wasm))
}

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// split checks the header and section order and records each section.
func split(wasm []byte) (*module, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], header[:4]) {
		return nil, malformed("not a WebAssembly binary")
	}
	if !bytes.Equal(wasm[4:8], header[4:]) {
		return nil, unsupported("binary version %x", wasm[4:8])
	}
	var rank [14]int
	for i, id := range sectionOrder {
		rank[id] = i + 1
	}
	m := &module{}
	r := reader{b: wasm, off: 8}
	last := 0
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		content, err := r.name()
		if err != nil {
			return nil, err
		}
		if id == secCustom {
			cr := reader{b: content}
			if _, err := cr.name(); err != nil {
				return nil, within(err, "custom section name")
			}
			continue
		}
		if int(id) >= len(rank) {
			return nil, malformed("unknown section id %d", id)
		}
		if rank[id] <= last {
			return nil, malformed("%s section out of order or repeated", sectionName[id])
		}
		last = rank[id]
		m.sec[id], m.present[id] = content, true
	}
	return m, nil
}

// scan validates the sections it does not rewrite, so that the output
// holds no count its bytes do not back (wazero allocates by counts before
// reading the elements), and reads the index spaces.
func (m *module) scan() error {
	m.addType = true // unless a () -> () type exists
	scanners := []struct {
		id   byte
		scan func([]byte) error
	}{
		{secType, m.scanTypes}, {secImport, m.scanImports}, {secFunction, m.scanFunctions},
		{secTable, scanTables}, {secMemory, scanMemories}, {secTag, scanTags},
		{secGlobal, m.countGlobals}, {secDataCount, scanDataCount},
	}
	for _, s := range scanners {
		if m.present[s.id] {
			if err := s.scan(m.sec[s.id]); err != nil {
				return within(err, "%s section", sectionName[s.id])
			}
		}
	}
	if uint64(m.funcImports)+uint64(m.definedFuncs) >= 1<<32-1 {
		return malformed("too many functions")
	}
	if uint64(m.globalImports)+uint64(m.definedGlobals) >= 1<<32-1 {
		return malformed("too many globals")
	}
	m.w = newWalker(m.funcImports, m.funcImports+m.definedFuncs, m.globalImports+m.definedGlobals)
	if m.present[secData] {
		return within(m.scanData(m.sec[secData]), "data section")
	}
	return nil
}

// eachItem reads a section's vector, calling item for each element, and
// checks that nothing follows it.
func eachItem(sec []byte, what string, item func(r *reader, i uint32) error) (uint32, error) {
	r := reader{b: sec}
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	for i := uint32(0); i < n; i++ {
		if err := item(&r, i); err != nil {
			return 0, within(err, "%s %d", what, i)
		}
	}
	if !r.eof() {
		return 0, malformed("trailing bytes")
	}
	return n, nil
}

func (m *module) scanTypes(sec []byte) error {
	n, err := eachItem(sec, "type", func(r *reader, i uint32) error {
		form, err := r.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return unsupported("form 0x%02x (only function types)", form)
		}
		total := 0
		for j := 0; j < 2; j++ { // params, results
			vt, err := r.name()
			if err != nil {
				return err
			}
			for _, t := range vt {
				if !isValType(t) {
					return unsupported("value type 0x%02x", t)
				}
			}
			total += len(vt)
		}
		if total == 0 && m.addType {
			m.addType, m.refillType = false, i
		}
		return nil
	})
	if err != nil {
		return err
	}
	if m.addType {
		if n == 1<<32-1 {
			return malformed("too many types")
		}
		m.refillType = n
	}
	return nil
}

func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 3 { // bit 0: max present; bit 1: shared; 64-bit and above unsupported
		return unsupported("limits flags 0x%02x", flags)
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.u32()
	}
	return err
}

func (r *reader) tableType() error {
	t, err := r.byte()
	if err != nil {
		return err
	}
	// Rules out tables with initialisers (function references), whose
	// expressions could hold function indices.
	if !isRefType(t) {
		return unsupported("table element type 0x%02x", t)
	}
	return r.limits()
}

func (m *module) scanImports(sec []byte) error {
	n, err := eachItem(sec, "import", func(r *reader, i uint32) error {
		mod, err := r.name()
		if err != nil {
			return err
		}
		if string(mod) == ImportModule {
			return unsupported("module already imports from %q (already instrumented?)", ImportModule)
		}
		if _, err := r.name(); err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00: // function
			m.funcImports++
			_, err = r.u32()
		case 0x01:
			err = r.tableType()
		case 0x02: // memory
			err = r.limits()
		case 0x03: // global
			m.globalImports++
			var t byte
			if t, err = r.byte(); err == nil {
				if !isValType(t) {
					return unsupported("global type 0x%02x", t)
				}
				_, err = r.byte()
			}
		case 0x04: // tag
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return malformed("kind 0x%02x", kind)
		}
		return err
	})
	if n == 1<<32-1 {
		return malformed("too many imports")
	}
	return err
}

func (m *module) scanFunctions(sec []byte) (err error) {
	m.definedFuncs, err = eachItem(sec, "function", func(r *reader, _ uint32) error {
		_, err := r.u32()
		return err
	})
	return err
}

// countGlobals reads the count only; globals() rewrites the rest.
func (m *module) countGlobals(sec []byte) (err error) {
	r := reader{b: sec}
	m.definedGlobals, err = r.u32()
	return err
}

func scanTables(sec []byte) error {
	_, err := eachItem(sec, "table", func(r *reader, _ uint32) error { return r.tableType() })
	return err
}

func scanMemories(sec []byte) error {
	_, err := eachItem(sec, "memory", func(r *reader, _ uint32) error { return r.limits() })
	return err
}

func scanTags(sec []byte) error {
	_, err := eachItem(sec, "tag", func(r *reader, _ uint32) error {
		if _, err := r.byte(); err != nil { // attribute
			return err
		}
		_, err := r.u32()
		return err
	})
	return err
}

func scanDataCount(sec []byte) error {
	r := reader{b: sec}
	if _, err := r.u32(); err != nil {
		return err
	}
	if !r.eof() {
		return malformed("trailing bytes")
	}
	return nil
}

func (m *module) scanData(sec []byte) error {
	var scratch []byte
	_, err := eachItem(sec, "segment", func(r *reader, _ uint32) error {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case 0, 2: // active: (memory index,) offset expression
			if flags == 2 {
				if _, err := r.u32(); err != nil {
					return err
				}
			}
			if scratch, err = m.w.expr(scratch[:0], r, false); err != nil {
				return err
			}
		case 1: // passive
		default:
			return malformed("flags %d", flags)
		}
		_, err = r.name()
		return err
	})
	return err
}

// write assembles the instrumented module.
func (m *module) write(size int) ([]byte, error) {
	out := make([]byte, 0, size+size/8+64)
	out = append(out, header...)
	var buf []byte
	for _, id := range sectionOrder {
		var err error
		content, present := m.sec[id], m.present[id]
		buf = buf[:0]
		switch id {
		case secType:
			if m.addType {
				buf, err = m.types(buf)
				content, present = buf, true
			}
		case secImport:
			buf, err = m.imports(buf)
			content, present = buf, true
		case secGlobal:
			buf, err = m.globals(buf)
			content, present = buf, true
		case secExport:
			buf, err = m.exports(buf)
			content, present = buf, true
		case secStart:
			if present {
				buf, err = m.start(buf)
				content = buf
			}
		case secElement:
			if present {
				buf, err = m.elements(buf)
				content = buf
			}
		case secCode:
			if present {
				buf, err = m.code(buf)
				content = buf
			} else if m.definedFuncs != 0 {
				err = malformed("absent, but %d functions are declared", m.definedFuncs)
			}
		}
		if err != nil {
			return nil, within(err, "%s section", sectionName[id])
		}
		if present {
			out = append(out, id)
			out = appendU32(out, uint32(len(content)))
			out = append(out, content...)
		}
	}
	return out, nil
}

// vecBody returns a vec's count and the bytes after it.
func vecBody(sec []byte) (uint32, []byte, error) {
	r := reader{b: sec}
	n, err := r.u32()
	return n, sec[r.off:], err
}

func (m *module) types(buf []byte) ([]byte, error) {
	n, rest, err := vecBody(m.sec[secType])
	if err != nil && m.present[secType] {
		return nil, err
	}
	buf = appendU32(buf, n+1)
	buf = append(buf, rest...)
	return append(buf, 0x60, 0x00, 0x00), nil
}

func (m *module) imports(buf []byte) ([]byte, error) {
	n, rest, err := vecBody(m.sec[secImport])
	if err != nil && m.present[secImport] {
		return nil, err
	}
	buf = appendU32(buf, n+1)
	buf = append(buf, rest...)
	buf = appendName(buf, ImportModule)
	buf = appendName(buf, ImportName)
	buf = append(buf, 0x00)
	return appendU32(buf, m.refillType), nil
}

func (m *module) globals(buf []byte) ([]byte, error) {
	r := reader{b: m.sec[secGlobal]}
	buf = appendU32(buf, m.definedGlobals+1)
	if m.present[secGlobal] {
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		for i := uint32(0); i < m.definedGlobals; i++ {
			t, err := r.bytes(2) // valtype, mutability
			if err != nil {
				return nil, err
			}
			if !isValType(t[0]) {
				return nil, unsupported("global %d: type 0x%02x", i, t[0])
			}
			buf = append(buf, t...)
			if buf, err = m.w.expr(buf, &r, false); err != nil {
				return nil, within(err, "global %d", i)
			}
		}
		if !r.eof() {
			return nil, malformed("trailing bytes")
		}
	}
	buf = append(buf, 0x7e, 0x01, 0x42) // i64 mutable, i64.const
	buf = appendS64(buf, InitialFuel)
	return append(buf, 0x0b), nil
}

func (m *module) exports(buf []byte) ([]byte, error) {
	r := reader{b: m.sec[secExport]}
	var n uint32
	if m.present[secExport] {
		var err error
		if n, err = r.u32(); err != nil {
			return nil, err
		}
		if n == 1<<32-1 {
			return nil, malformed("too many exports")
		}
	}
	buf = appendU32(buf, n+1)
	for i := uint32(0); i < n; i++ {
		start := r.off
		name, err := r.name()
		if err != nil {
			return nil, err
		}
		if string(name) == ExportFuel {
			return nil, unsupported("module already exports %q (already instrumented?)", ExportFuel)
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		if kind > 0x04 {
			return nil, malformed("export %d: kind 0x%02x", i, kind)
		}
		idx, err := r.u32()
		if err != nil {
			return nil, err
		}
		if kind != 0x00 {
			buf = append(buf, r.b[start:r.off]...)
			continue
		}
		if idx, err = m.w.fn(idx); err != nil {
			return nil, within(err, "export %d", i)
		}
		buf = appendU32(buf, uint32(len(name)))
		buf = append(buf, name...)
		buf = append(buf, 0x00)
		buf = appendU32(buf, idx)
	}
	if !r.eof() {
		return nil, malformed("trailing bytes")
	}
	buf = appendName(buf, ExportFuel)
	buf = append(buf, 0x03)
	return appendU32(buf, m.w.fuel), nil
}
