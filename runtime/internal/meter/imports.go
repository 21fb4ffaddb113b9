package meter

// Import is one entry of a module's import section.
type Import struct {
	Module, Name string
	Kind         byte // 0 function, 1 table, 2 memory, 3 global, 4 tag
}

// Imports lists a module's imports, whatever their kind (an engine's API
// may list only some kinds). The module must be one Instrument accepted or
// produced.
func Imports(wasm []byte) ([]Import, error) {
	m, err := split(wasm)
	if err != nil {
		return nil, err
	}
	var out []Import
	if !m.present[secImport] {
		return nil, nil
	}
	_, err = eachItem(m.sec[secImport], "import", func(r *reader, _ uint32) error {
		mod, err := r.name()
		if err != nil {
			return err
		}
		name, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00:
			_, err = r.u32()
		case 0x01:
			err = r.tableType()
		case 0x02:
			err = r.limits()
		case 0x03:
			_, err = r.bytes(2)
		case 0x04:
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return malformed("kind 0x%02x", kind)
		}
		out = append(out, Import{Module: string(mod), Name: string(name), Kind: kind})
		return err
	})
	return out, err
}

// Limits are a memory's or table's declared size.
type Limits struct {
	Min    uint32
	Max    uint32
	HasMax bool
}

// Declared lists the limits of a module's own (not imported) memories and
// tables. The module must be one Instrument accepted or produced.
func Declared(wasm []byte) (memories, tables []Limits, err error) {
	m, err := split(wasm)
	if err != nil {
		return nil, nil, err
	}
	read := func(r *reader) (Limits, error) {
		flags, err := r.byte()
		if err != nil {
			return Limits{}, err
		}
		var l Limits
		if l.Min, err = r.u32(); err != nil {
			return l, err
		}
		if flags&1 != 0 {
			l.HasMax = true
			l.Max, err = r.u32()
		}
		return l, err
	}
	if m.present[secMemory] {
		_, err = eachItem(m.sec[secMemory], "memory", func(r *reader, _ uint32) error {
			l, err := read(r)
			memories = append(memories, l)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
	}
	if m.present[secTable] {
		_, err = eachItem(m.sec[secTable], "table", func(r *reader, _ uint32) error {
			if _, err := r.byte(); err != nil { // element type
				return err
			}
			l, err := read(r)
			tables = append(tables, l)
			return err
		})
	}
	return memories, tables, err
}
