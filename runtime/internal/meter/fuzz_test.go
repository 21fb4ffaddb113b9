package meter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzInstrument: no input panics, and a module Instrument accepts and
// wazero compiles is instrumented into one wazero also compiles.
//
// wazero sees only inputs Instrument accepted, with custom sections
// stripped: wazero v1.12.0 allocates by the counts in a module before
// reading the elements (a 16-byte module claiming 2^30 imports kills the
// process), and Instrument's acceptance is what bounds those counts.
func FuzzInstrument(f *testing.F) {
	for _, m := range minimalModules() {
		f.Add(m)
	}
	for _, m := range [][]byte{countingModule(), shiftedModule(), envModule(), loopModule()} {
		f.Add(m)
		if out, err := Instrument(m); err == nil {
			f.Add(out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(repoRoot, "guests", "llama.wasm")); err == nil {
		f.Add(b)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(features))
	defer r.Close(ctx)
	compiles := func(wasm []byte) error {
		c, err := r.CompileModule(ctx, wasm)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := Instrument(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if _, err := Instrument(out); err == nil {
			t.Error("instrumented output accepted again")
		}
		if compiles(stripCustom(t, in)) != nil {
			return
		}
		if err := compiles(out); err != nil {
			t.Fatalf("instrumented module does not compile: %v", err)
		}
	})
}

// stripCustom removes a module's custom sections.
func stripCustom(t *testing.T, wasm []byte) []byte {
	out := bytes.Clone(wasm[:8])
	r := reader{b: wasm, off: 8}
	for !r.eof() {
		start := r.off
		id, err := r.byte()
		if err == nil {
			_, err = r.name()
		}
		if err != nil {
			t.Fatal(err)
		}
		if id != secCustom {
			out = append(out, wasm[start:r.off]...)
		}
	}
	return out
}

// bodyShell is a module whose function 1 (type () -> ()) has the given
// instructions after its locals, so that fuzzed code meets imports, a
// table, a memory, globals, passive segments and declared references.
func bodyShell(code []byte) []byte {
	b := cat(vec(cat(u32(1), []byte{i32}), cat(u32(1), []byte{i64}), cat(u32(1), []byte{0x7d}),
		cat(u32(1), []byte{0x7c}), cat(u32(1), []byte{fnr})), code)
	return wasmModule(
		section(secType, functype(nil, nil), functype([]byte{i32}, []byte{i32}), functype(nil, []byte{i32})),
		section(secImport, importFunc("env", "f", 1)),
		section(secFunction, u32(0), u32(1)),
		section(secTable, cat([]byte{fnr, 0}, u32(4))),
		section(secMemory, cat([]byte{0}, u32(1))),
		section(secGlobal, cat([]byte{i32, 1}, constExpr(i32c(0))), cat([]byte{fnr, 0}, constExpr(refFunc(2)))),
		section(secExport, export("run", 0, 1)),
		section(secElement, cat(u32(3), []byte{0}, vec(u32(0), u32(1), u32(2))), cat(u32(1), []byte{0}, vec(u32(2)))),
		rawSection(secDataCount, u32(1)),
		section(secCode, cat(u32(uint32(len(b))), b), body(nil, lget(0))),
		section(secData, cat(u32(1), vec(op(1), op(2), op(3)))),
	)
}

// FuzzBody fuzzes one function body: whenever wazero compiles the module,
// Instrument must accept it (or refuse an instruction it does not support)
// and its output must compile too.
func FuzzBody(f *testing.F) {
	seeds := [][]byte{
		cat(loop(i32c(1), brIf(0)), op(0x0b)),
		cat(block(i32c(0), brTable(0, 0, 0)), op(0x0b)),
		cat(i32c(0), call(0), call(2), op(0x1a, 0x0b)),
		cat(i32c(5), i32c(0), op(0x11, 1, 0), op(0x1a, 0x0b)),
		cat(refFunc(2), op(0xd1, 0x1a), op(0xd0, fnr, 0x1a), op(0x0b)),
		cat(i32c(0), i32c(0), i32c(1), op(0xfc, 8, 0, 0), op(0xfc, 9, 0), op(0x0b)),
		cat(i32c(0), i32c(0), i32c(1), op(0xfc, 12, 1, 0), op(0xfc, 13, 1), op(0x0b)),
		cat(i32c(0), op(0x28, 2, 4), op(0x3f, 0, 0x40, 0), op(0x6a, 0x1a, 0x0b)),
		cat(op(0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f), op(0xfc, 7, 0x1a), i64c(-5), op(0xc4, 0x1a, 0x0b)),
		cat(i32c(1), i32c(2), i32c(0), op(0x1c, 1, i32, 0x1a, 0x0b)),
		cat(op(0x02, 2), i32c(3), op(0x0b, 0x1a), i32c(4), op(0x03, 1, 0x0b, 0x1a), op(0x0b)), // type-indexed blocks
		cat(i32c(0), op(0x04, 0x40), loop(br(1)), op(0x05), op(0x00, 0x0b, 0x0b)),
		cat(refFunc(1), i32c(1), op(0xfc, 15, 0, 0x1a), op(0xfc, 16, 0, 0x1a), op(0x0b)),
		cat(op(0x12, 1), op(0x0b)), // return_call
		cat(op(0xfd, 12), make([]byte, 16), op(0x1a, 0x0b)),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(features))
	defer r.Close(ctx)
	compiles := func(wasm []byte) error {
		c, err := r.CompileModule(ctx, wasm)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		in := bodyShell(code)
		out, err := Instrument(in)
		if compiles(in) != nil {
			return
		}
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return
			}
			t.Fatalf("wazero compiles it but: %v", err)
		}
		if err := compiles(out); err != nil {
			t.Fatalf("instrumented module does not compile: %v", err)
		}
	})
}
