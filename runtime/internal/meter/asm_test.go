package meter

import "github.com/dnahost/dnahost/runtime/internal/wasmgen"

// The meter's tests write modules by hand with wasmgen's assembler, under
// short names.

var (
	cat          = wasmgen.Cat
	u32          = wasmgen.U32
	s64          = wasmgen.S64
	str          = wasmgen.Str
	vec          = wasmgen.Vec
	section      = wasmgen.Section
	rawSection   = wasmgen.RawSection
	wasmModule   = wasmgen.Module
	functype     = wasmgen.FuncType
	importFunc   = wasmgen.ImportFunc
	importGlobal = wasmgen.ImportGlobal
	importMemory = wasmgen.ImportMemory
	export       = wasmgen.Export
	body         = wasmgen.Body
	constExpr    = wasmgen.ConstExpr
	ifElse       = wasmgen.If
	brTable      = wasmgen.BrTable

	op      = wasmgen.Op
	i32c    = wasmgen.I32Const
	i64c    = wasmgen.I64Const
	lget    = wasmgen.LocalGet
	lset    = wasmgen.LocalSet
	ltee    = wasmgen.LocalTee
	gget    = wasmgen.GlobalGet
	gset    = wasmgen.GlobalSet
	call    = wasmgen.Call
	retCall = wasmgen.ReturnCall
	refFunc = wasmgen.RefFunc
	br      = wasmgen.Br
	brIf    = wasmgen.BrIf
	callInd = wasmgen.CallIndirect
)

const (
	i32 = wasmgen.I32
	i64 = wasmgen.I64
	fnr = 0x70
)

func block(code ...[]byte) []byte { return wasmgen.Block(wasmgen.Void, code...) }
func loop(code ...[]byte) []byte  { return wasmgen.Loop(wasmgen.Void, code...) }
