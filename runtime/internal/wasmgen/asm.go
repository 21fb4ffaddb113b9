// Package wasmgen builds WebAssembly modules for tests: a small assembler
// and generators of random modules — dna guests whose every decision comes
// from a fuzzer's bytes, and modules that call WASI at random — for the
// runtime's differential tests across engines.
package wasmgen

// Value types.
const (
	I32  = 0x7f
	I64  = 0x7e
	F32  = 0x7d
	F64  = 0x7c
	Void = 0x40 // empty block type
)

// Section ids.
const (
	SecType     = 1
	SecImport   = 2
	SecFunction = 3
	SecTable    = 4
	SecMemory   = 5
	SecGlobal   = 6
	SecExport   = 7
	SecStart    = 8
	SecElement  = 9
	SecCode     = 10
	SecData     = 11
)

// Cat concatenates byte slices.
func Cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// U32 is an unsigned LEB128.
func U32(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// S64 is a signed LEB128.
func S64(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		done := (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0)
		if !done {
			c |= 0x80
		}
		b = append(b, c)
		if done {
			return b
		}
	}
}

// Str is a name: its length and bytes.
func Str(s string) []byte { return Cat(U32(uint32(len(s))), []byte(s)) }

// Vec prefixes the concatenated items with their count.
func Vec(items ...[]byte) []byte { return Cat(U32(uint32(len(items))), Cat(items...)) }

// Section is a section of vector content.
func Section(id byte, items ...[]byte) []byte {
	c := Vec(items...)
	return Cat([]byte{id}, U32(uint32(len(c))), c)
}

// RawSection is a section whose content is given whole.
func RawSection(id byte, content []byte) []byte {
	return Cat([]byte{id}, U32(uint32(len(content))), content)
}

// Module is a module of the given sections.
func Module(sections ...[]byte) []byte {
	return Cat([]byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}, Cat(sections...))
}

// FuncType is a function type.
func FuncType(params, results []byte) []byte {
	return Cat([]byte{0x60}, U32(uint32(len(params))), params, U32(uint32(len(results))), results)
}

// ImportFunc imports a function of type typ.
func ImportFunc(mod, name string, typ uint32) []byte {
	return Cat(Str(mod), Str(name), []byte{0x00}, U32(typ))
}

// ImportGlobal imports a global of value type t.
func ImportGlobal(mod, name string, t byte, mutable bool) []byte {
	m := byte(0)
	if mutable {
		m = 1
	}
	return Cat(Str(mod), Str(name), []byte{0x03, t, m})
}

// ImportMemory imports a memory of at least min pages.
func ImportMemory(mod, name string, min uint32) []byte {
	return Cat(Str(mod), Str(name), []byte{0x02, 0x00}, U32(min))
}

// Export exports index idx of kind (0 function, 1 table, 2 memory, 3 global).
func Export(name string, kind byte, idx uint32) []byte {
	return Cat(Str(name), []byte{kind}, U32(idx))
}

// Limits are memory or table limits.
func Limits(min uint32, max *uint32) []byte {
	if max == nil {
		return Cat([]byte{0x00}, U32(min))
	}
	return Cat([]byte{0x01}, U32(min), U32(*max))
}

// Body is one code entry: locals as (count, type) pairs, then the code; the
// final end is added.
func Body(locals [][2]uint32, code ...[]byte) []byte {
	var l [][]byte
	for _, p := range locals {
		l = append(l, Cat(U32(p[0]), []byte{byte(p[1])}))
	}
	b := Cat(Vec(l...), Cat(code...), []byte{0x0b})
	return Cat(U32(uint32(len(b))), b)
}

// ConstExpr is a constant expression with its end.
func ConstExpr(code ...[]byte) []byte { return Cat(Cat(code...), []byte{0x0b}) }

// Instructions.
func Op(b ...byte) []byte      { return b }
func I32Const(v int32) []byte  { return Cat([]byte{0x41}, S64(int64(v))) }
func I64Const(v int64) []byte  { return Cat([]byte{0x42}, S64(v)) }
func LocalGet(i uint32) []byte { return Cat([]byte{0x20}, U32(i)) }
func LocalSet(i uint32) []byte { return Cat([]byte{0x21}, U32(i)) }
func LocalTee(i uint32) []byte { return Cat([]byte{0x22}, U32(i)) }
func GlobalGet(i uint32) []byte {
	return Cat([]byte{0x23}, U32(i))
}
func GlobalSet(i uint32) []byte  { return Cat([]byte{0x24}, U32(i)) }
func Call(f uint32) []byte       { return Cat([]byte{0x10}, U32(f)) }
func Br(l uint32) []byte         { return Cat([]byte{0x0c}, U32(l)) }
func BrIf(l uint32) []byte       { return Cat([]byte{0x0d}, U32(l)) }
func ReturnCall(f uint32) []byte { return Cat([]byte{0x12}, U32(f)) }
func RefFunc(f uint32) []byte    { return Cat([]byte{0xd2}, U32(f)) }
func CallIndirect(typ, table uint32) []byte {
	return Cat([]byte{0x11}, U32(typ), U32(table))
}

// BrTable branches to labels[i], or def when i is out of range.
func BrTable(def uint32, labels ...uint32) []byte {
	b := Cat([]byte{0x0e}, U32(uint32(len(labels))))
	for _, l := range labels {
		b = Cat(b, U32(l))
	}
	return Cat(b, U32(def))
}

// Mem is a load or store with alignment log2 and offset.
func Mem(op byte, align, offset uint32) []byte { return Cat([]byte{op}, U32(align), U32(offset)) }

// Block, Loop and If wrap code with a block type.
func Block(bt byte, code ...[]byte) []byte {
	return Cat([]byte{0x02, bt}, Cat(code...), []byte{0x0b})
}
func Loop(bt byte, code ...[]byte) []byte {
	return Cat([]byte{0x03, bt}, Cat(code...), []byte{0x0b})
}
func If(bt byte, then, els []byte) []byte {
	b := Cat([]byte{0x04, bt}, then)
	if els != nil {
		b = Cat(b, []byte{0x05}, els)
	}
	return Cat(b, []byte{0x0b})
}
