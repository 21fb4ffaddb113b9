package bundle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/dnahost/dnahost/kernels"
)

// The DNAT tensor file holds a bundle's weights:
//
//	magic   "DNAT"
//	u32     version (1)
//	u32     tensor count
//	entries u16 name length, name, u8 dtype, u32 rows, u32 cols,
//	        u64 offset, u64 byte length
//	data    each tensor at its offset, a multiple of 64 from the file start
//
// Tensors are stored in the backend layout of their dtype, so a host maps
// them into its backend without conversion (and the CPU backend without a
// copy).
var tensorMagic = [4]byte{'D', 'N', 'A', 'T'}

const (
	tensorAlign      = 64
	MaxTensors       = 1 << 16
	MaxTensorNameLen = 255
)

// ErrTensorFile reports a malformed tensor file.
var ErrTensorFile = errors.New("bundle: malformed tensor file")

// TensorInfo describes one tensor of a tensor file.
type TensorInfo struct {
	Name       string
	DType      kernels.DType
	Rows, Cols int
	Offset     int64
	Size       int64
}

// Tensor is a named tensor to write.
type Tensor struct {
	Name       string
	DType      kernels.DType
	Rows, Cols int
	Data       []byte
}

// EncodeTensors writes a DNAT file.
func EncodeTensors(ts []Tensor) ([]byte, error) {
	if len(ts) > MaxTensors {
		return nil, fmt.Errorf("%w: %d tensors", ErrTensorFile, len(ts))
	}
	hdr := 12
	seen := map[string]bool{}
	for _, t := range ts {
		if len(t.Name) == 0 || len(t.Name) > MaxTensorNameLen || seen[t.Name] {
			return nil, fmt.Errorf("%w: tensor name %q empty, too long or repeated", ErrTensorFile, t.Name)
		}
		seen[t.Name] = true
		if err := kernels.CheckNew(t.DType, t.Rows, t.Cols); err != nil || t.DType == kernels.U8 {
			return nil, fmt.Errorf("%w: %s: dtype %s, %d×%d is not a weight tensor", ErrTensorFile, t.Name, t.DType, t.Rows, t.Cols)
		}
		if int64(len(t.Data)) != t.DType.Bytes(t.Rows, t.Cols) {
			return nil, fmt.Errorf("%w: %s: %d bytes for %s[%d×%d]", ErrTensorFile, t.Name, len(t.Data), t.DType, t.Rows, t.Cols)
		}
		hdr += 2 + len(t.Name) + 1 + 4 + 4 + 8 + 8
	}
	off := align(int64(hdr))
	out := make([]byte, 0, off)
	out = append(out, tensorMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, 1)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(ts)))
	offsets := make([]int64, len(ts))
	for i, t := range ts {
		offsets[i] = off
		out = binary.LittleEndian.AppendUint16(out, uint16(len(t.Name)))
		out = append(out, t.Name...)
		out = append(out, byte(t.DType))
		out = binary.LittleEndian.AppendUint32(out, uint32(t.Rows))
		out = binary.LittleEndian.AppendUint32(out, uint32(t.Cols))
		out = binary.LittleEndian.AppendUint64(out, uint64(off))
		out = binary.LittleEndian.AppendUint64(out, uint64(len(t.Data)))
		off = align(off + int64(len(t.Data)))
	}
	for i, t := range ts {
		for int64(len(out)) < offsets[i] {
			out = append(out, 0)
		}
		out = append(out, t.Data...)
	}
	return out, nil
}

func align(n int64) int64 { return (n + tensorAlign - 1) / tensorAlign * tensorAlign }

// TensorFile is a parsed DNAT file; it references the bytes it was parsed
// from.
type TensorFile struct {
	data  []byte
	infos []TensorInfo
	index map[string]int
}

// ParseTensors validates a DNAT file's directory against its size.
func ParseTensors(data []byte) (*TensorFile, error) {
	if len(data) < 12 || [4]byte(data[:4]) != tensorMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrTensorFile)
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrTensorFile, v)
	}
	n := binary.LittleEndian.Uint32(data[8:])
	// Each entry is at least 28 bytes: reject counts the file cannot hold.
	if n > MaxTensors || int64(n)*28 > int64(len(data)-12) {
		return nil, fmt.Errorf("%w: %d tensors in %d bytes", ErrTensorFile, n, len(data))
	}
	tf := &TensorFile{data: data, infos: make([]TensorInfo, 0, n), index: make(map[string]int, n)}
	p := 12
	need := func(k int) error {
		if len(data)-p < k {
			return fmt.Errorf("%w: directory truncated", ErrTensorFile)
		}
		return nil
	}
	for i := uint32(0); i < n; i++ {
		if err := need(2); err != nil {
			return nil, err
		}
		nl := int(binary.LittleEndian.Uint16(data[p:]))
		p += 2
		if err := need(nl + 25); err != nil {
			return nil, err
		}
		if nl == 0 || nl > MaxTensorNameLen {
			return nil, fmt.Errorf("%w: tensor %d name length %d", ErrTensorFile, i, nl)
		}
		ti := TensorInfo{Name: string(data[p : p+nl])}
		p += nl
		ti.DType = kernels.DType(data[p])
		rows, cols := binary.LittleEndian.Uint32(data[p+1:]), binary.LittleEndian.Uint32(data[p+5:])
		off, size := binary.LittleEndian.Uint64(data[p+9:]), binary.LittleEndian.Uint64(data[p+17:])
		p += 25
		if err := kernels.CheckNew(ti.DType, int(rows), int(cols)); err != nil || ti.DType == kernels.U8 {
			return nil, fmt.Errorf("%w: %s: dtype %s, %d×%d", ErrTensorFile, ti.Name, ti.DType, rows, cols)
		}
		ti.Rows, ti.Cols = int(rows), int(cols)
		if size != uint64(ti.DType.Bytes(ti.Rows, ti.Cols)) || off%tensorAlign != 0 || off > uint64(len(data)) || size > uint64(len(data))-off {
			return nil, fmt.Errorf("%w: %s: %d bytes at %d in a file of %d", ErrTensorFile, ti.Name, size, off, len(data))
		}
		ti.Offset, ti.Size = int64(off), int64(size)
		if _, dup := tf.index[ti.Name]; dup {
			return nil, fmt.Errorf("%w: tensor %q repeated", ErrTensorFile, ti.Name)
		}
		tf.index[ti.Name] = len(tf.infos)
		tf.infos = append(tf.infos, ti)
	}
	// Tensors lie after the directory, in directory order, without overlap:
	// otherwise two names could alias the same bytes.
	end := int64(p)
	for _, ti := range tf.infos {
		if ti.Offset < end {
			return nil, fmt.Errorf("%w: %s at %d overlaps the bytes before %d", ErrTensorFile, ti.Name, ti.Offset, end)
		}
		end = ti.Offset + ti.Size
	}
	return tf, nil
}

// Infos lists the tensors in file order.
func (tf *TensorFile) Infos() []TensorInfo { return tf.infos }

// Lookup returns a tensor's description and bytes.
func (tf *TensorFile) Lookup(name string) (TensorInfo, []byte, bool) {
	i, ok := tf.index[name]
	if !ok {
		return TensorInfo{}, nil, false
	}
	ti := tf.infos[i]
	return ti, tf.data[ti.Offset : ti.Offset+ti.Size : ti.Offset+ti.Size], true
}

// Names returns the tensor names sorted.
func (tf *TensorFile) Names() []string {
	out := make([]string, 0, len(tf.infos))
	for _, ti := range tf.infos {
		out = append(out, ti.Name)
	}
	sort.Strings(out)
	return out
}
