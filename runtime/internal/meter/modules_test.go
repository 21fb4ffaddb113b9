package meter

// Hand-assembled test modules.

// countingModule has no imports (so every function shifts) and no () -> ()
// type (so one is appended). Costs in fuel:
//
//	sumloop(n)      n+2        (entry, n iterations, the exit test)
//	nested(n, m)    1 + (n+1) + n(m+1)
//	fact(n)         n+1        (recursive calls)
//	dispatch(x)     1          (br_table)
//	spin()          never returns
//	tailsum(n, acc) n+1        (return_call)
func countingModule() []byte {
	const (
		tI32I32 = 0 // (i32) -> i32
		tII     = 1 // (i32 i32) -> i32
		tVI     = 2 // () -> i32
	)
	sumloop := body([][2]uint32{{1, i32}},
		block(loop(
			lget(0), op(0x45), brIf(1), // i32.eqz
			lget(1), lget(0), op(0x6a), lset(1),
			lget(0), i32c(1), op(0x6b), lset(0),
			br(0),
		)),
		lget(1))
	nested := body([][2]uint32{{3, i32}}, // i, j, count
		block(loop(
			lget(2), lget(0), op(0x4f), brIf(1), // i >= n
			i32c(0), lset(3),
			block(loop(
				lget(3), lget(1), op(0x4f), brIf(1), // j >= m
				lget(4), i32c(1), op(0x6a), lset(4),
				lget(3), i32c(1), op(0x6a), lset(3),
				br(0),
			)),
			lget(2), i32c(1), op(0x6a), lset(2),
			br(0),
		)),
		lget(4))
	fact := body(nil,
		lget(0), op(0x45),
		ifElse(i32, i32c(1), cat(lget(0), lget(0), i32c(1), op(0x6b), call(2), op(0x6c))))
	dispatch := body(nil,
		block(block(block(lget(0), brTable(2, 0, 1)), i32c(10), op(0x0f)), i32c(20), op(0x0f)),
		i32c(30))
	spin := body(nil, op(0x03, i32), br(0), op(0x0b))
	tailsum := body(nil,
		lget(0), op(0x45), ifElse(0x40, cat(lget(1), op(0x0f)), nil),
		lget(0), i32c(1), op(0x6b), lget(1), i32c(1), op(0x6a), retCall(5))
	return wasmModule(
		section(secType, functype([]byte{i32}, []byte{i32}), functype([]byte{i32, i32}, []byte{i32}), functype(nil, []byte{i32})),
		section(secFunction, u32(tI32I32), u32(tII), u32(tI32I32), u32(tI32I32), u32(tVI), u32(tII)),
		section(secExport, export("sumloop", 0, 0), export("nested", 0, 1), export("fact", 0, 2),
			export("dispatch", 0, 3), export("spin", 0, 4), export("tailsum", 0, 5)),
		section(secCode, sumloop, nested, fact, dispatch, spin, tailsum),
	)
}

// envModule provides shiftedModule's imports: add1, twice, the global g
// (77) and the memory mem.
func envModule() []byte {
	return wasmModule(
		section(secType, functype([]byte{i32}, []byte{i32})),
		section(secFunction, u32(0), u32(0)),
		section(secMemory, cat([]byte{0x00}, u32(1))),
		section(secGlobal, cat([]byte{i32, 0}, constExpr(i32c(77)))),
		section(secExport, export("add1", 0, 0), export("twice", 0, 1), export("mem", 2, 0), export("g", 3, 0)),
		section(secCode,
			body(nil, lget(0), i32c(1), op(0x6a)),
			body(nil, lget(0), lget(0), op(0x6a))),
	)
}

// shiftedModule imports functions (0, 1), a global and a memory, and refers
// to functions from every place a function index can appear: calls,
// ref.func in code and in a global initialiser, exports, the start section
// and element segments of all eight forms, one naming an import.
func shiftedModule() []byte {
	const (
		tI  = 0 // (i32) -> i32
		tV  = 1 // () -> ()
		tVI = 2 // () -> i32
		tII = 3 // (i32 i32) -> i32
	)
	ret := func(v int32) []byte { return body(nil, i32c(v)) }
	fc := func(sub uint32, imm ...uint32) []byte {
		b := cat([]byte{0xfc}, u32(sub))
		for _, x := range imm {
			b = cat(b, u32(x))
		}
		return b
	}
	funcs := []uint32{tVI, tVI, tVI, tVI, tVI, tVI, tVI, tVI, // 2..9 return 100..800
		tI,  // 10 callind
		tI,  // 11 callimp
		tV,  // 12 start
		tVI, // 13 viaGlobalRef
		tVI, // 14 viaCodeRef
		tV,  // 15 initPassive
		tII, // 16 callind1
		tI,  // 17 callT1
		tVI, // 18 readG3
		tVI, // 19 memsum
		tVI, // 20 dataInit
		tVI, // 21 fillcopy
		tI,  // 22 selT
		tVI, // 23 misc
	}
	var fsec [][]byte
	for _, t := range funcs {
		fsec = append(fsec, u32(t))
	}
	code := [][]byte{ret(100), ret(200), ret(300), ret(400), ret(500), ret(600), ret(700), ret(800),
		body(nil, lget(0), callInd(tVI, 0)),
		body(nil, lget(0), call(0), call(1), call(2), op(0x6a)),
		body(nil, call(3), gset(1)),
		body(nil, i32c(20), gget(2), op(0x26, 0), i32c(20), callInd(tVI, 0)),
		body(nil, i32c(21), refFunc(9), op(0x26, 0), i32c(21), callInd(tVI, 0)),
		body(nil, i32c(10), i32c(0), i32c(1), fc(12, 1, 0), i32c(11), i32c(0), i32c(1), fc(12, 5, 0), fc(13, 1)),
		body(nil, lget(1), lget(0), callInd(tI, 0)),
		body(nil, lget(0), callInd(tVI, 1)),
		body(nil, gget(3)),
		body(nil, i32c(0), op(0x28, 2, 0), op(0x3f, 0), op(0x6a)), // i32.load; memory.size
		body(nil, i32c(16), i32c(0), i32c(4), fc(8, 1, 0), fc(9, 1), i32c(16), op(0x28, 2, 0)),
		body(nil, i32c(32), i32c(0x55), i32c(4), fc(11, 0), i32c(36), i32c(32), i32c(4), fc(10, 0, 0), i32c(36), op(0x28, 2, 0)),
		body(nil, i32c(1), i32c(2), lget(0), op(0x1c, 1, i32)),
		body(nil, op(0x44, 0, 0, 0, 0, 0, 0, 0x04, 0x40), fc(6), i64c(-1000000), op(0x7c, 0xa7, 0xc0), // 2.5 trunc_sat, add, wrap, extend8
			op(0x43, 0, 0, 0x20, 0x41), op(0xa8), op(0x6a)), // f32 10.0, trunc_s, add
	}
	exports := [][]byte{
		export("a", 0, 2), export("h", 0, 9), export("add1", 0, 0),
		export("callind", 0, 10), export("callimp", 0, 11), export("viaGlobalRef", 0, 13),
		export("viaCodeRef", 0, 14), export("initPassive", 0, 15), export("callind1", 0, 16),
		export("callT1", 0, 17), export("readG3", 0, 18), export("memsum", 0, 19),
		export("dataInit", 0, 20), export("fillcopy", 0, 21), export("selT", 0, 22), export("misc", 0, 23),
		export("started", 3, 1), export("table", 1, 0),
	}
	elems := [][]byte{
		cat(u32(0), constExpr(i32c(0)), vec(u32(2), u32(3))),
		cat(u32(1), []byte{0}, vec(u32(4))),
		cat(u32(2), u32(1), constExpr(i32c(0)), []byte{0}, vec(u32(5))),
		cat(u32(3), []byte{0}, vec(u32(9))),
		cat(u32(4), constExpr(i32c(2)), vec(constExpr(refFunc(6)), constExpr(op(0xd0, fnr)))),
		cat(u32(5), []byte{fnr}, vec(constExpr(refFunc(7)))),
		cat(u32(6), u32(1), constExpr(i32c(1)), []byte{fnr}, vec(constExpr(refFunc(3)))),
		cat(u32(7), []byte{fnr}, vec(constExpr(refFunc(10)))),
		cat(u32(0), constExpr(i32c(5)), vec(u32(0))),
	}
	return wasmModule(
		section(secType, functype([]byte{i32}, []byte{i32}), functype(nil, nil), functype(nil, []byte{i32}),
			functype([]byte{i32, i32}, []byte{i32})),
		rawSection(secCustom, cat(str("producers"), []byte{0})),
		section(secImport, importFunc("env", "add1", tI), importGlobal("env", "g", i32, false),
			importMemory("env", "mem", 1), importFunc("env", "twice", tI)),
		section(secFunction, fsec...),
		section(secTable, cat([]byte{fnr, 0}, u32(32)), cat([]byte{fnr, 0}, u32(8))),
		section(secGlobal,
			cat([]byte{i32, 1}, constExpr(i32c(0))),
			cat([]byte{fnr, 0}, constExpr(refFunc(8))),
			cat([]byte{i32, 0}, constExpr(gget(0)))),
		section(secExport, exports...),
		rawSection(secStart, u32(12)),
		section(secElement, elems...),
		rawSection(secDataCount, u32(2)),
		section(secCode, code...),
		section(secData,
			cat(u32(0), constExpr(i32c(0)), vec(op(7), op(0), op(0), op(0))),
			cat(u32(1), vec(op(42), op(0), op(0), op(0)))),
		rawSection(secCustom, cat(str("name"), []byte{1}, u32(5), vec(cat(u32(2), str("a"))))), // function 2 is "a"
	)
}

// loopModule is the benchmark loop: spin(n i64) -> i64 runs n iterations
// of a little arithmetic.
func loopModule() []byte {
	spin := body([][2]uint32{{1, i64}},
		loop(
			lget(1), i64c(31), op(0x7e), lget(0), op(0x7c), lset(1), // acc = acc*31 + n
			lget(0), i64c(1), op(0x7d), ltee(0), // n--
			op(0x50, 0x45), brIf(0), // br_if n != 0
		),
		lget(1))
	return wasmModule(
		section(secType, functype([]byte{i64}, []byte{i64})),
		section(secFunction, u32(0)),
		section(secExport, export("spin", 0, 0)),
		section(secCode, spin),
	)
}

// minimalModules are small edge cases: nothing at all, only a memory, a
// function without imports, exports or globals, and a start function.
func minimalModules() map[string][]byte {
	return map[string][]byte{
		"empty":  wasmModule(),
		"memory": wasmModule(section(secMemory, cat([]byte{0x01}, u32(1), u32(2)))),
		"func": wasmModule(
			section(secType, functype(nil, nil)),
			section(secFunction, u32(0)),
			section(secCode, body(nil, loop(), op(0x01)))),
		"start": wasmModule(
			section(secType, functype([]byte{i32}, nil), functype(nil, nil)),
			section(secImport, importGlobal("env", "g", i32, false)),
			section(secFunction, u32(1)),
			rawSection(secStart, u32(0)),
			section(secCode, body(nil))),
	}
}
