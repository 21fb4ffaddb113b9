package meter

// A tiny WebAssembly assembler for hand-written test modules.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u32(v uint32) []byte { return appendU32(nil, v) }
func s64(v int64) []byte  { return appendS64(nil, v) }
func str(s string) []byte { return appendName(nil, s) }

// vec prefixes the concatenated items with their count.
func vec(items ...[]byte) []byte { return cat(u32(uint32(len(items))), cat(items...)) }

func section(id byte, items ...[]byte) []byte {
	c := vec(items...)
	return cat([]byte{id}, u32(uint32(len(c))), c)
}

// rawSection is a section whose content is given whole (start, custom).
func rawSection(id byte, content []byte) []byte {
	return cat([]byte{id}, u32(uint32(len(content))), content)
}

func wasmModule(sections ...[]byte) []byte { return cat(header, cat(sections...)) }

const (
	i32 = 0x7f
	i64 = 0x7e
	fnr = 0x70
)

func functype(params, results []byte) []byte {
	return cat([]byte{0x60}, u32(uint32(len(params))), params, u32(uint32(len(results))), results)
}

func importFunc(mod, name string, typ uint32) []byte {
	return cat(str(mod), str(name), []byte{0x00}, u32(typ))
}

func importGlobal(mod, name string, t byte, mut bool) []byte {
	m := byte(0)
	if mut {
		m = 1
	}
	return cat(str(mod), str(name), []byte{0x03, t, m})
}

func importMemory(mod, name string, min uint32) []byte {
	return cat(str(mod), str(name), []byte{0x02, 0x00}, u32(min))
}

func export(name string, kind byte, idx uint32) []byte {
	return cat(str(name), []byte{kind}, u32(idx))
}

// body is one code entry: locals as (count, type) pairs, then instructions;
// the final end is added.
func body(locals [][2]uint32, code ...[]byte) []byte {
	var l [][]byte
	for _, p := range locals {
		l = append(l, cat(u32(p[0]), []byte{byte(p[1])}))
	}
	b := cat(vec(l...), cat(code...), []byte{0x0b})
	return cat(u32(uint32(len(b))), b)
}

// Instructions.
func op(b ...byte) []byte         { return b }
func i32c(v int32) []byte         { return cat([]byte{0x41}, s64(int64(v))) }
func i64c(v int64) []byte         { return cat([]byte{0x42}, s64(v)) }
func lget(i uint32) []byte        { return cat([]byte{0x20}, u32(i)) }
func lset(i uint32) []byte        { return cat([]byte{0x21}, u32(i)) }
func ltee(i uint32) []byte        { return cat([]byte{0x22}, u32(i)) }
func gget(i uint32) []byte        { return cat([]byte{0x23}, u32(i)) }
func gset(i uint32) []byte        { return cat([]byte{0x24}, u32(i)) }
func call(f uint32) []byte        { return cat([]byte{0x10}, u32(f)) }
func retCall(f uint32) []byte     { return cat([]byte{0x12}, u32(f)) }
func refFunc(f uint32) []byte     { return cat([]byte{0xd2}, u32(f)) }
func br(l uint32) []byte          { return cat([]byte{0x0c}, u32(l)) }
func brIf(l uint32) []byte        { return cat([]byte{0x0d}, u32(l)) }
func callInd(t, tb uint32) []byte { return cat([]byte{0x11}, u32(t), u32(tb)) }

func block(code ...[]byte) []byte { return cat([]byte{0x02, 0x40}, cat(code...), []byte{0x0b}) }
func loop(code ...[]byte) []byte  { return cat([]byte{0x03, 0x40}, cat(code...), []byte{0x0b}) }
func ifElse(bt byte, then, els []byte) []byte {
	b := cat([]byte{0x04, bt}, then)
	if els != nil {
		b = cat(b, []byte{0x05}, els)
	}
	return cat(b, []byte{0x0b})
}
func brTable(def uint32, labels ...uint32) []byte {
	b := cat([]byte{0x0e}, u32(uint32(len(labels))))
	for _, l := range labels {
		b = cat(b, u32(l))
	}
	return cat(b, u32(def))
}

// constExpr is a constant expression with its end.
func constExpr(code ...[]byte) []byte { return cat(cat(code...), []byte{0x0b}) }
