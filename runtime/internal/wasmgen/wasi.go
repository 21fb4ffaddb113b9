package wasmgen

// Sig is an import's signature.
type Sig struct {
	Name            string
	Params, Results []byte
}

// WASICalls is a module importing every function of sigs from
// wasi_snapshot_preview1, with one page of memory whose first 256 bytes hold
// random bytes (iovecs, paths, subscriptions: whatever the bytes say), and
// an export "run" that calls those functions with random arguments —
// descriptors around the three standard streams, pointers around the data
// and the end of memory, small and huge lengths — storing each errno at
// 1024 + 4k.
func WASICalls(s *Source, sigs []Sig) []byte {
	types := [][]byte{FuncType(nil, nil)}
	var imports [][]byte
	for _, sg := range sigs {
		types = append(types, FuncType(sg.Params, sg.Results))
		imports = append(imports, ImportFunc("wasi_snapshot_preview1", sg.Name, uint32(len(types)-1)))
	}
	var code []byte
	n := 1 + s.Intn(24)
	for k := 0; k < n; k++ {
		sg := sigs[s.Intn(len(sigs))]
		if sg.Name == "proc_exit" && !s.Chance(4) {
			continue
		}
		var call []byte
		if len(sg.Results) > 0 {
			call = I32Const(int32(1024 + 4*k))
		}
		for _, p := range sg.Params {
			if p == I64 {
				if s.Chance(2) {
					call = Cat(call, I64Const(int64(s.U64())))
				} else {
					call = Cat(call, I64Const(int64(s.Intn(32))))
				}
				continue
			}
			var v int32
			switch s.Intn(6) {
			case 0:
				v = int32(s.Intn(7)) - 1 // a descriptor, or a flag
			case 1:
				v = int32(s.Intn(64)) // a length
			case 2, 3:
				v = int32(s.Intn(300)) // a pointer into the data
			case 4:
				v = int32(65536 - s.Intn(80)) // near the end of memory
			default:
				v = int32(s.U32())
			}
			call = Cat(call, I32Const(v))
		}
		call = Cat(call, Call(uint32(indexOf(sigs, sg.Name))))
		if len(sg.Results) > 0 {
			call = Cat(call, Mem(0x36, 2, 0))
		}
		code = append(code, call...)
	}
	// Words that read well as iovecs, subscriptions and flags: pointers
	// into the data, small counts, anything.
	data := make([]byte, 256)
	for i := 0; i < len(data); i += 4 {
		var w uint32
		switch s.Intn(3) {
		case 0:
			w = uint32(s.Intn(300))
		case 1:
			w = uint32(s.Intn(16))
		default:
			w = s.U32()
		}
		data[i], data[i+1], data[i+2], data[i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	max := uint32(1)
	return Module(
		Section(SecType, types...),
		Section(SecImport, imports...),
		Section(SecFunction, U32(0)),
		Section(SecMemory, Limits(1, &max)),
		Section(SecExport, Export("run", 0, uint32(len(sigs))), Export("memory", 2, 0)),
		Section(SecCode, Body(nil, code)),
		Section(SecData, Cat(U32(0), ConstExpr(I32Const(0)), U32(uint32(len(data))), data)),
	)
}

func indexOf(sigs []Sig, name string) int {
	for i, s := range sigs {
		if s.Name == name {
			return i
		}
	}
	return -1
}
