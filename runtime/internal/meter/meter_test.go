package meter

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// prologue is the expected metering sequence for the given indices.
func prologue(fuel, refill uint32) []byte {
	return cat(gget(fuel), i64c(1), op(0x7d), gset(fuel),
		gget(fuel), i64c(0), op(0x53), op(0x04, 0x40), call(refill), op(0x0b))
}

func TestGolden(t *testing.T) {
	fuelGlobal := cat([]byte{i64, 1}, constExpr(i64c(InitialFuel)))
	fuelExport := export(ExportFuel, 3, 0)
	refill := importFunc(ImportModule, ImportName, 0)
	tests := []struct {
		name    string
		in, out []byte
	}{{
		name: "empty",
		in:   wasmModule(),
		out: wasmModule(section(secType, functype(nil, nil)), section(secImport, refill),
			section(secGlobal, fuelGlobal), section(secExport, fuelExport)),
	}, {
		name: "loop",
		in: wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0)),
			section(secCode, body(nil, loop(op(0x01))))),
		out: wasmModule(
			section(secType, functype(nil, nil)),
			section(secImport, refill),
			section(secFunction, u32(0)),
			section(secGlobal, fuelGlobal),
			section(secExport, fuelExport),
			section(secCode, body(nil, prologue(0, 0), op(0x03, 0x40), prologue(0, 0), op(0x01, 0x0b)))),
	}, {
		// Calls to an import keep their index, calls to defined functions
		// shift, the fuel global follows the imported and defined ones, and
		// a () -> () type is appended after the existing one.
		name: "imports",
		in: wasmModule(
			section(secType, functype([]byte{i32}, nil)),
			section(secImport, importGlobal("e", "g", i32, false), importFunc("e", "f", 0)),
			section(secFunction, u32(0)),
			section(secGlobal, cat([]byte{i32, 1}, constExpr(i32c(0)))),
			section(secExport, export("x", 0, 1), export("y", 0, 0)),
			section(secCode, body(nil, i32c(0), call(0), i32c(0), call(1)))),
		out: wasmModule(
			section(secType, functype([]byte{i32}, nil), functype(nil, nil)),
			section(secImport, importGlobal("e", "g", i32, false), importFunc("e", "f", 0),
				importFunc(ImportModule, ImportName, 1)),
			section(secFunction, u32(0)),
			section(secGlobal, cat([]byte{i32, 1}, constExpr(i32c(0))), fuelGlobal),
			section(secExport, export("x", 0, 2), export("y", 0, 0), export(ExportFuel, 3, 2)),
			section(secCode, body(nil, prologue(2, 1), i32c(0), call(0), i32c(0), call(2)))),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Instrument(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.out) {
				t.Fatalf("got  %x\nwant %x", got, tt.out)
			}
		})
	}
}

// sectionIDs lists a module's section ids in order.
func sectionIDs(t *testing.T, wasm []byte) []byte {
	t.Helper()
	r := reader{b: wasm, off: 8}
	var ids []byte
	for !r.eof() {
		id, err := r.byte()
		if err == nil {
			_, err = r.name()
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestSections(t *testing.T) {
	out, err := Instrument(shiftedModule())
	if err != nil {
		t.Fatal(err)
	}
	// Custom sections dropped; the () -> () type reused (four types).
	want := []byte{secType, secImport, secFunction, secTable, secGlobal, secExport, secStart, secElement, secDataCount, secCode, secData}
	if got := sectionIDs(t, out); !bytes.Equal(got, want) {
		t.Errorf("sections %v, want %v", got, want)
	}
	m, err := split(out)
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := vecBody(m.sec[secType]); n != 4 {
		t.Errorf("%d types, want 4", n)
	}
	// Data, data count, memory and table sections are copied unchanged.
	orig, _ := split(shiftedModule())
	for _, id := range []byte{secData, secDataCount, secTable, secFunction} {
		if !bytes.Equal(m.sec[id], orig.sec[id]) {
			t.Errorf("section %d changed", id)
		}
	}

	for name, in := range minimalModules() {
		out, err := Instrument(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids := sectionIDs(t, out)
		g, e := bytes.IndexByte(ids, secGlobal), bytes.IndexByte(ids, secExport)
		if g < 0 || e != g+1 {
			t.Errorf("%s: sections %v: want global then export", name, ids)
		}
		if i := bytes.IndexByte(ids, secMemory); i > g {
			t.Errorf("%s: sections %v: memory after global", name, ids)
		}
	}
}

func TestErrors(t *testing.T) {
	simd := func(code ...[]byte) []byte {
		return wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0), u32(0)),
			section(secCode, body(nil), body(nil, cat(code...))))
	}
	tests := []struct {
		name string
		in   []byte
		err  error
		msg  string
	}{
		{"short", []byte{0, 'a', 's'}, ErrMalformed, ""},
		{"magic", []byte("\x00asx\x01\x00\x00\x00"), ErrMalformed, ""},
		{"version", []byte("\x00asm\x02\x00\x00\x00"), ErrUnsupported, ""},
		{"section size", cat(header, []byte{secType, 0x10, 0}), ErrMalformed, "exceeds"},
		{"unknown section", cat(header, []byte{14, 0}), ErrMalformed, "unknown section"},
		{"order", wasmModule(section(secFunction), section(secType)), ErrMalformed, "order"},
		{"repeated", wasmModule(section(secType), section(secType)), ErrMalformed, "order"},
		{"huge count", wasmModule(rawSection(secType, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})), ErrMalformed, "end"},
		{"leb overflow", wasmModule(rawSection(secType, []byte{0xff, 0xff, 0xff, 0xff, 0x1f})), ErrMalformed, "overflow"},
		{"leb too long", wasmModule(rawSection(secType, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00})), ErrMalformed, "overflow"},
		{"gc type", wasmModule(section(secType, []byte{0x5f, 0})), ErrUnsupported, "form"},
		{"simd", simd(op(0xfd, 12), make([]byte, 16)), ErrUnsupported, "meter: unsupported module: code section: function 1: opcode 0xfd at offset 1"},
		{"atomics", simd(op(0xfe, 0x03, 0)), ErrUnsupported, "opcode 0xfe"},
		{"try", simd(op(0x06, 0x40, 0x0b)), ErrUnsupported, "opcode 0x06"},
		{"throw", simd(op(0x08, 0)), ErrUnsupported, "opcode 0x08"},
		{"fc 18", simd(op(0xfc, 18)), ErrUnsupported, "opcode 0xfc 18"},
		{"gc ref.null", simd(op(0xd0, 0x63)), ErrUnsupported, "heap type"},
		{"call range", simd(call(2)), ErrMalformed, "out of range"},
		{"ref.func range", simd(refFunc(7), op(0x1a)), ErrMalformed, "out of range"},
		{"after end", wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0)),
			section(secCode, cat(u32(3), []byte{0, 0x0b, 0x01}))), ErrMalformed, "after"},
		{"no end", wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0)),
			section(secCode, cat(u32(2), []byte{0, 0x01}))), ErrMalformed, "end"},
		{"code count", wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0), u32(0)),
			section(secCode, body(nil))), ErrMalformed, "code entries"},
		{"no code", wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0))), ErrMalformed, "code section: absent"},
		{"elem flags", wasmModule(section(secElement, u32(8))), ErrMalformed, "flags"},
		{"export fuel", wasmModule(
			section(secGlobal, cat([]byte{i64, 1}, constExpr(i64c(0)))),
			section(secExport, export(ExportFuel, 3, 0))), ErrUnsupported, "already"},
		{"import meter", wasmModule(
			section(secType, functype(nil, nil)),
			section(secImport, importFunc(ImportModule, "other", 0))), ErrUnsupported, "already"},
		{"memory64", wasmModule(section(secImport, cat(str("e"), str("m"), []byte{0x02, 0x04, 1}))), ErrUnsupported, "limits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Instrument(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v (output %x)", err, tt.err, out)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestIdempotenceGuard: an instrumented module is refused.
func TestIdempotenceGuard(t *testing.T) {
	for name, in := range map[string][]byte{"counting": countingModule(), "shifted": shiftedModule(), "empty": wasmModule()} {
		once, err := Instrument(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := Instrument(once); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "already") {
			t.Errorf("%s: instrumenting twice: %v", name, err)
		}
	}
}

// TestTruncated: every prefix and every single-byte corruption of a valid
// module fails cleanly or succeeds, never panics.
func TestTruncated(t *testing.T) {
	for _, in := range [][]byte{shiftedModule(), countingModule()} {
		for i := range in {
			Instrument(in[:i])
			c := bytes.Clone(in)
			for _, v := range []byte{0x00, 0x7f, 0x80, 0xff, c[i] + 1} {
				c[i] = v
				Instrument(c)
			}
		}
	}
}

func TestLEB(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 30, -1 << 31, 1<<31 - 1, 1 << 32, 1<<63 - 1, -1 << 63} {
		b := appendS64(nil, v)
		r := reader{b: b}
		got, err := r.sleb(64)
		if err != nil || got != v || !r.eof() {
			t.Errorf("s64 %d: %x -> %d, %v", v, b, got, err)
		}
		if v >= -1<<32 && v < 1<<32 {
			r := reader{b: b}
			if got, err := r.sleb(33); err != nil || got != v {
				t.Errorf("s33 %d: %x -> %d, %v", v, b, got, err)
			}
		}
		if v >= -1<<31 && v < 1<<31 {
			r := reader{b: b}
			if got, err := r.sleb(32); err != nil || got != v {
				t.Errorf("s32 %d: %x -> %d, %v", v, b, got, err)
			}
		} else {
			r := reader{b: b}
			if _, err := r.sleb(32); err == nil {
				t.Errorf("s32 %d accepted", v)
			}
		}
	}
	for _, v := range []uint32{0, 127, 128, 1<<32 - 1} {
		r := reader{b: appendU32(nil, v)}
		if got, err := r.u32(); err != nil || got != v {
			t.Errorf("u32 %d -> %d, %v", v, got, err)
		}
	}
	// Padded encodings are valid; the spec bounds only their length.
	r := reader{b: []byte{0x80, 0x80, 0x80, 0x80, 0x00}}
	if v, err := r.u32(); err != nil || v != 0 {
		t.Errorf("padded u32: %d, %v", v, err)
	}
	r = reader{b: []byte{0xff, 0xff, 0xff, 0xff, 0x7f}}
	if v, err := r.sleb(32); err != nil || v != -1 {
		t.Errorf("padded s32: %d, %v", v, err)
	}
	r = reader{b: []byte{0xff, 0xff, 0xff, 0xff, 0x4f}}
	if _, err := r.sleb(32); err == nil {
		t.Error("s32 with bad unused bits accepted")
	}
}

// TestHostileCounts: counts no bytes back are refused without allocating
// by them. (wazero v1.12.0's CompileModule runs out of memory on several of
// these, so they are never given to it here.)
func TestHostileCounts(t *testing.T) {
	const huge = 1<<32 - 1
	fn := func(code []byte) []byte {
		return wasmModule(section(secType, functype(nil, nil)), section(secFunction, u32(0)),
			rawSection(secCode, code))
	}
	body := func(b ...[]byte) []byte { return fn(cat(u32(1), u32(uint32(len(cat(b...)))), cat(b...))) }
	tests := map[string][]byte{
		"types":       wasmModule(rawSection(secType, u32(huge))),
		"params":      wasmModule(rawSection(secType, cat(u32(1), []byte{0x60}, u32(1<<30)))),
		"imports":     wasmModule(rawSection(secImport, u32(1<<30))),
		"import name": wasmModule(rawSection(secImport, cat(u32(1), u32(1<<30)))),
		"functions":   wasmModule(rawSection(secFunction, u32(huge))),
		"tables":      wasmModule(rawSection(secTable, u32(huge))),
		"memories":    wasmModule(rawSection(secMemory, u32(huge))),
		"tags":        wasmModule(rawSection(secTag, u32(huge))),
		"globals":     wasmModule(rawSection(secGlobal, u32(huge))),
		"exports":     wasmModule(rawSection(secExport, u32(huge))),
		"elements":    wasmModule(rawSection(secElement, u32(huge))),
		"elem funcs":  wasmModule(rawSection(secElement, cat(u32(1), u32(1), []byte{0}, u32(huge)))),
		"data":        wasmModule(rawSection(secData, u32(huge))),
		"data bytes":  wasmModule(rawSection(secData, cat(u32(1), u32(1), u32(1<<31)))),
		"code":        fn(u32(huge)),
		"body size":   fn(cat(u32(1), u32(1<<31))),
		"locals":      body(u32(2), u32(1), []byte{i32}, u32(huge), []byte{i32, 0x0b}),
		"local decls": body(u32(huge), []byte{0x0b}),
		"br_table":    body([]byte{0}, i32c(0), []byte{0x0e}, u32(huge)),
		"select":      body([]byte{0}, []byte{0x1c}, u32(huge)),
		"section":     cat(header, []byte{secType}, u32(huge)),
	}
	var ms runtime.MemStats
	for name, in := range tests {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, err := Instrument(in)
		runtime.ReadMemStats(&ms)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		t.Logf("%s: %v", name, err)
		if d := ms.TotalAlloc - before; d > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, d)
		}
	}
	// A name section claiming 2^31 names is dropped unread.
	out, err := Instrument(wasmModule(rawSection(secCustom, cat(str("name"), []byte{1, 5}, u32(1<<31)))))
	if err != nil || bytes.IndexByte(sectionIDs(t, out), secCustom) >= 0 {
		t.Errorf("name section: %v, sections %v", err, sectionIDs(t, out))
	}
}
