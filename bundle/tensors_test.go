package bundle_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/kernels"
)

func tensor(name string, dt kernels.DType, rows, cols int, seed uint64) bundle.Tensor {
	return bundle.Tensor{Name: name, DType: dt, Rows: rows, Cols: cols, Data: randBytes(seed, int(dt.Bytes(rows, cols)))}
}

func sampleTensors() []bundle.Tensor {
	return []bundle.Tensor{
		tensor("tok_embeddings", kernels.F32, 7, 5, 1),
		tensor("norm", kernels.F32, 1, 1, 2),
		tensor("layers.0.wq", kernels.Q8_0, 3, 40, 3), // a padded second block
		tensor("layers.0.w2", kernels.Q8_0, 2, 64, 4),
		tensor(strings.Repeat("n", bundle.MaxTensorNameLen), kernels.F32, 2, 16, 5),
	}
}

func TestTensorsRoundTrip(t *testing.T) {
	ts := sampleTensors()
	data, err := bundle.EncodeTensors(ts)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := bundle.ParseTensors(data)
	if err != nil {
		t.Fatal(err)
	}
	infos := tf.Infos()
	if len(infos) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(infos), len(ts))
	}
	prevEnd := int64(0)
	for i, want := range ts {
		ti, b, ok := tf.Lookup(want.Name)
		if !ok {
			t.Fatalf("%s missing", want.Name)
		}
		if ti != infos[i] || ti.Name != want.Name || ti.DType != want.DType || ti.Rows != want.Rows || ti.Cols != want.Cols {
			t.Fatalf("%d: info %+v", i, ti)
		}
		if ti.Offset%64 != 0 || ti.Offset < prevEnd || ti.Size != int64(len(want.Data)) {
			t.Fatalf("%s: offset %d (previous end %d), size %d", want.Name, ti.Offset, prevEnd, ti.Size)
		}
		prevEnd = ti.Offset + ti.Size
		if !bytes.Equal(b, want.Data) || !bytes.Equal(data[ti.Offset:ti.Offset+ti.Size], want.Data) {
			t.Fatalf("%s: bytes differ", want.Name)
		}
		// The returned slice is capped, so appending cannot clobber the next tensor.
		if cap(b) != len(b) {
			t.Fatalf("%s: cap %d, len %d", want.Name, cap(b), len(b))
		}
	}
	if int64(len(data)) != prevEnd {
		t.Fatalf("file of %d bytes, last tensor ends at %d", len(data), prevEnd)
	}
	names := tf.Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("Names not sorted: %v", names)
		}
	}
	if _, _, ok := tf.Lookup("absent"); ok {
		t.Fatal("Lookup found an absent tensor")
	}
	// Encoding is deterministic.
	if again, _ := bundle.EncodeTensors(ts); !bytes.Equal(again, data) {
		t.Fatal("EncodeTensors is not deterministic")
	}
	// No tensors at all is a valid (header-only) file.
	empty, err := bundle.EncodeTensors(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tf, err := bundle.ParseTensors(empty); err != nil || len(tf.Infos()) != 0 {
		t.Fatalf("empty file: %v", err)
	}
}

func TestEncodeTensorsErrors(t *testing.T) {
	cases := map[string][]bundle.Tensor{
		"empty name":     {tensor("", kernels.F32, 1, 1, 1)},
		"long name":      {tensor(strings.Repeat("n", bundle.MaxTensorNameLen+1), kernels.F32, 1, 1, 1)},
		"duplicate":      {tensor("a", kernels.F32, 1, 1, 1), tensor("a", kernels.F32, 1, 1, 2)},
		"zero rows":      {{Name: "a", DType: kernels.F32, Rows: 0, Cols: 1}},
		"negative cols":  {{Name: "a", DType: kernels.F32, Rows: 1, Cols: -1}},
		"unknown dtype":  {{Name: "a", DType: 9, Rows: 1, Cols: 1, Data: make([]byte, 4)}},
		"short data":     {{Name: "a", DType: kernels.F32, Rows: 2, Cols: 2, Data: make([]byte, 15)}},
		"long data":      {{Name: "a", DType: kernels.F32, Rows: 2, Cols: 2, Data: make([]byte, 17)}},
		"q8 as f32 size": {{Name: "a", DType: kernels.Q8_0, Rows: 1, Cols: 32, Data: make([]byte, 128)}},
	}
	for name, ts := range cases {
		if _, err := bundle.EncodeTensors(ts); !errors.Is(err, bundle.ErrTensorFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Whatever EncodeTensors writes, ParseTensors must read.
func TestEncodeTensorsU8(t *testing.T) {
	data, err := bundle.EncodeTensors([]bundle.Tensor{tensor("blob", kernels.U8, 1, 10, 1)})
	var perr error
	if err == nil {
		_, perr = bundle.ParseTensors(data)
	} else if !errors.Is(err, bundle.ErrTensorFile) {
		t.Fatal(err)
	}
	checkBug(t, "encode-u8", err == nil && perr != nil, fmt.Sprintf("EncodeTensors wrote a U8 tensor that ParseTensors refuses: %v", perr))
}

// rawEntry is a directory entry written verbatim, for malformed files.
type rawEntry struct {
	name       string
	nameLen    int // written instead of len(name) when nonzero
	dtype      kernels.DType
	rows, cols uint32
	off, size  uint64
}

func rawDNAT(version, count uint32, es []rawEntry, total int) []byte {
	b := []byte("DNAT")
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint32(b, count)
	for _, e := range es {
		nl := len(e.name)
		if e.nameLen != 0 {
			nl = e.nameLen
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(nl))
		b = append(b, e.name...)
		b = append(b, byte(e.dtype))
		b = binary.LittleEndian.AppendUint32(b, e.rows)
		b = binary.LittleEndian.AppendUint32(b, e.cols)
		b = binary.LittleEndian.AppendUint64(b, e.off)
		b = binary.LittleEndian.AppendUint64(b, e.size)
	}
	for len(b) < total {
		b = append(b, 0)
	}
	return b
}

func TestParseTensorsErrors(t *testing.T) {
	f32 := func(name string, off uint64) rawEntry {
		return rawEntry{name: name, dtype: kernels.F32, rows: 2, cols: 8, off: off, size: 64}
	}
	// A valid hand-made file, to show the harness itself is right.
	// (The directory of two one-letter entries ends at byte 68.)
	if tf, err := bundle.ParseTensors(rawDNAT(1, 2, []rawEntry{f32("a", 128), f32("b", 192)}, 256)); err != nil || len(tf.Infos()) != 2 {
		t.Fatalf("valid hand-made file: %v", err)
	}
	q8 := rawEntry{name: "q", dtype: kernels.Q8_0, rows: 2, cols: 33, off: 64, size: 2 * 2 * 34}
	if _, err := bundle.ParseTensors(rawDNAT(1, 1, []rawEntry{q8}, 64+136)); err != nil {
		t.Fatalf("valid q8 file: %v", err)
	}
	with := func(e rawEntry, edit func(*rawEntry)) []rawEntry { edit(&e); return []rawEntry{e} }
	base := f32("a", 64)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, "magic"},
		"short":           {[]byte("DNAT\x01\x00\x00"), "magic"},
		"bad magic":       {append([]byte("DNAX"), rawDNAT(1, 0, nil, 12)[4:]...), "magic"},
		"version 0":       {rawDNAT(0, 0, nil, 12), "version"},
		"version 2":       {rawDNAT(2, 0, nil, 12), "version"},
		"count too large": {rawDNAT(1, 1000, []rawEntry{base}, 128), "tensors in"},
		"count huge":      {rawDNAT(1, 1<<31, nil, 1<<10), "tensors in"},
		"count over max":  {rawDNAT(1, bundle.MaxTensors+1, nil, 12+28*(bundle.MaxTensors+1)), "tensors in"},
		"count one more":  {append(rawDNAT(1, 2, []rawEntry{base}, 0), bytes.Repeat([]byte{0xff}, 88)...), "truncated"},
		"name len 0":      {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.name = "" }), 128), "name length 0"},
		"name len 256":    {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.name = strings.Repeat("n", 256); e.off = 320 }), 384), "name length 256"},
		"name past end":   {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.nameLen = 200 }), 64), "truncated"},
		"dtype 0":         {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.dtype = 0 }), 128), "dtype"},
		"dtype U8":        {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.dtype = kernels.U8; e.size = 16 }), 128), "dtype u8"},
		"dtype 200":       {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.dtype = 200 }), 128), "dtype"},
		"rows 0":          {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.rows = 0 }), 128), "0×8"},
		"cols huge":       {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.cols = 1 << 31 }), 128), "dtype"},
		"size too small":  {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.size = 60 }), 128), "60 bytes"},
		"size too big":    {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.size = 68 }), 192), "68 bytes"},
		"misaligned":      {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.off = 65 }), 192), "at 65"},
		"offset 32":       {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.off = 32 }), 128), "at 32"},
		"past the end":    {rawDNAT(1, 1, []rawEntry{base}, 127), "in a file of 127"},
		"offset = size":   {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.off = 128 }), 128), "at 128"},
		"offset huge":     {rawDNAT(1, 1, with(base, func(e *rawEntry) { e.off = 1<<64 - 64 }), 128), "bytes at"},
		"duplicate name":  {rawDNAT(1, 2, []rawEntry{f32("a", 64), f32("a", 128)}, 192), "repeated"},
		"q8 size as f32":  {rawDNAT(1, 1, with(q8, func(e *rawEntry) { e.size = 2 * 33 * 4 }), 64+264), "264 bytes"},
	}
	for name, c := range cases {
		tf, err := bundle.ParseTensors(c.data)
		if !errors.Is(err, bundle.ErrTensorFile) || tf != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want ErrTensorFile mentioning %q)", name, err, c.want)
		}
	}
}

// Tensors must not overlap each other or the directory: a host may map
// them into its backend without a copy.
func TestParseTensorsOverlap(t *testing.T) {
	f32 := func(name string, off uint64) rawEntry {
		return rawEntry{name: name, dtype: kernels.F32, rows: 2, cols: 8, off: off, size: 64}
	}
	cases := map[string][]byte{
		"same offset":    rawDNAT(1, 2, []rawEntry{f32("a", 128), f32("b", 128)}, 192),
		"over directory": rawDNAT(1, 2, []rawEntry{f32("a", 64), f32("b", 128)}, 192),
		"at zero":        rawDNAT(1, 2, []rawEntry{f32("a", 0), f32("b", 128)}, 192),
		"partial":        rawDNAT(1, 2, []rawEntry{{name: "a", dtype: kernels.F32, rows: 1, cols: 32, off: 128, size: 128}, f32("b", 192)}, 256),
		"out of order":   rawDNAT(1, 2, []rawEntry{f32("a", 192), f32("b", 128)}, 256),
	}
	var accepted []string
	for name, data := range cases {
		if _, err := bundle.ParseTensors(data); err == nil {
			accepted = append(accepted, name)
		} else if !errors.Is(err, bundle.ErrTensorFile) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	checkBug(t, "tensor-overlap", len(accepted) > 0, fmt.Sprintf("ParseTensors accepts overlapping tensors: %v", accepted))
	// Adjacent tensors after the directory are fine.
	if _, err := bundle.ParseTensors(rawDNAT(1, 2, []rawEntry{f32("a", 128), f32("b", 192)}, 256)); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseTensors(f *testing.F) {
	good, _ := bundle.EncodeTensors(sampleTensors())
	f.Add(good)
	small, _ := bundle.EncodeTensors([]bundle.Tensor{tensor("a", kernels.F32, 1, 2, 1), tensor("b", kernels.Q8_0, 1, 3, 2)})
	f.Add(small)
	f.Add(rawDNAT(1, 2, []rawEntry{{name: "a", dtype: kernels.F32, rows: 2, cols: 8, off: 64, size: 64}, {name: "b", dtype: kernels.F32, rows: 2, cols: 8, off: 64, size: 64}}, 128))
	f.Add([]byte("DNAT\x01\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := bundle.ParseTensors(data)
		if err != nil {
			if !errors.Is(err, bundle.ErrTensorFile) || tf != nil {
				t.Fatalf("error %v", err)
			}
			return
		}
		var ts []bundle.Tensor
		seen := map[string]bool{}
		for _, ti := range tf.Infos() {
			if seen[ti.Name] || ti.Name == "" || len(ti.Name) > bundle.MaxTensorNameLen {
				t.Fatalf("name %q", ti.Name)
			}
			seen[ti.Name] = true
			if ti.DType != kernels.F32 && ti.DType != kernels.Q8_0 {
				t.Fatalf("%s: dtype %s", ti.Name, ti.DType)
			}
			if ti.Rows <= 0 || ti.Cols <= 0 || ti.Size != ti.DType.Bytes(ti.Rows, ti.Cols) {
				t.Fatalf("%s: %d×%d in %d bytes", ti.Name, ti.Rows, ti.Cols, ti.Size)
			}
			if ti.Offset < 0 || ti.Offset%64 != 0 || ti.Offset+ti.Size > int64(len(data)) {
				t.Fatalf("%s: bytes [%d,+%d) outside a file of %d", ti.Name, ti.Offset, ti.Size, len(data))
			}
			got, b, ok := tf.Lookup(ti.Name)
			if !ok || got != ti || !bytes.Equal(b, data[ti.Offset:ti.Offset+ti.Size]) {
				t.Fatalf("%s: Lookup disagrees with Infos", ti.Name)
			}
			ts = append(ts, bundle.Tensor{Name: ti.Name, DType: ti.DType, Rows: ti.Rows, Cols: ti.Cols, Data: b})
		}
		if len(tf.Names()) != len(ts) {
			t.Fatal(fmt.Sprint("Names ", tf.Names()))
		}
		// What was accepted can be written again, and reads back the same.
		re, err := bundle.EncodeTensors(ts)
		if err != nil {
			t.Fatalf("accepted tensors cannot be re-encoded: %v", err)
		}
		tf2, err := bundle.ParseTensors(re)
		if err != nil {
			t.Fatalf("re-encoded file refused: %v", err)
		}
		for i, ti := range tf2.Infos() {
			_, b, _ := tf2.Lookup(ti.Name)
			if ti.Name != ts[i].Name || !bytes.Equal(b, ts[i].Data) {
				t.Fatalf("tensor %d changed in the round trip", i)
			}
		}
	})
}
