package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// The rule wire format, shared with guest-sdk/consensus: what a
// WebAssembly rule reads and writes.
//
//	input:    "dna-rule-in/1" ‖ job[32] ‖ u32 replication ‖ u32 n ‖ n × entry ‖
//	          u32 m ‖ m × (u16 len ‖ key ‖ u16 len ‖ value)     the rule's parameters, keys sorted
//	entry:    node[32] ‖ u64 stake ‖ result[32] ‖ u8 revealed ‖ u8 verification ‖ digest[32] ‖ u32 tokens
//	decision: "dna-rule-out/1" ‖ u8 status ‖ result[32] ‖ u32 a ‖ a × node[32] ‖
//	          u32 p ‖ p × node[32] ‖ u32 r ‖ r bytes of reason
const (
	inputMagic    = "dna-rule-in/1"
	decisionMagic = "dna-rule-out/1"
	entryWire     = 32 + 8 + 32 + 1 + 1 + 32 + 4
	// MaxEntries bounds the commitments one decision considers.
	MaxEntries = 1 << 16
	// MaxParams bounds a rule's parameters.
	MaxParams = 256
	// MaxReason bounds a decision's reason text.
	MaxReason = 4096
)

// ErrWire reports malformed rule input or output.
var ErrWire = errors.New("consensus: malformed rule wire data")

// EncodeInput writes a rule's input with its parameters.
func EncodeInput(in *Input, params map[string]string) []byte {
	b := make([]byte, 0, len(inputMagic)+40+entryWire*len(in.Entries))
	b = append(b, inputMagic...)
	b = append(b, in.JobID[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(in.Replication))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(in.Entries)))
	for _, e := range in.Entries {
		b = append(b, e.Node[:]...)
		b = binary.LittleEndian.AppendUint64(b, e.Stake)
		b = append(b, e.Result[:]...)
		rev := byte(0)
		if e.Revealed {
			rev = 1
		}
		b = append(b, rev, byte(e.Verification))
		b = append(b, e.Digest[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Tokens))
	}
	ks := make([]string, 0, len(params))
	for k := range params {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ks)))
	for _, k := range ks {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(params[k])))
		b = append(b, params[k]...)
	}
	return b
}

// DecodeInput is the inverse of EncodeInput.
func DecodeInput(b []byte) (*Input, map[string]string, error) {
	h := len(inputMagic) + 40
	if len(b) < h || string(b[:len(inputMagic)]) != inputMagic {
		return nil, nil, fmt.Errorf("%w: not a rule input", ErrWire)
	}
	p := len(inputMagic)
	in := &Input{}
	copy(in.JobID[:], b[p:])
	in.Replication = int(binary.LittleEndian.Uint32(b[p+32:]))
	n := binary.LittleEndian.Uint32(b[p+36:])
	if n > MaxEntries || uint64(len(b)-h) < uint64(n)*entryWire+4 || in.Replication > MaxEntries {
		return nil, nil, fmt.Errorf("%w: %d entries in %d bytes", ErrWire, n, len(b))
	}
	p = h
	in.Entries = make([]Entry, n)
	for i := range in.Entries {
		e := &in.Entries[i]
		copy(e.Node[:], b[p:])
		e.Stake = binary.LittleEndian.Uint64(b[p+32:])
		copy(e.Result[:], b[p+40:])
		if b[p+72] > 1 || b[p+73] > byte(Refuted) {
			return nil, nil, fmt.Errorf("%w: entry %d flags", ErrWire, i)
		}
		e.Revealed = b[p+72] == 1
		e.Verification = Verification(b[p+73])
		copy(e.Digest[:], b[p+74:])
		e.Tokens = int(binary.LittleEndian.Uint32(b[p+106:]))
		p += entryWire
	}
	m := binary.LittleEndian.Uint32(b[p:])
	p += 4
	if m > MaxParams {
		return nil, nil, fmt.Errorf("%w: %d parameters", ErrWire, m)
	}
	params := map[string]string{}
	var prev string
	str := func() (string, error) {
		if len(b)-p < 2 {
			return "", fmt.Errorf("%w: truncated parameters", ErrWire)
		}
		l := int(binary.LittleEndian.Uint16(b[p:]))
		p += 2
		if len(b)-p < l {
			return "", fmt.Errorf("%w: truncated parameters", ErrWire)
		}
		p += l
		return string(b[p-l : p]), nil
	}
	for i := uint32(0); i < m; i++ {
		k, err := str()
		if err != nil {
			return nil, nil, err
		}
		v, err := str()
		if err != nil {
			return nil, nil, err
		}
		if _, dup := params[k]; dup || (i > 0 && k < prev) {
			return nil, nil, fmt.Errorf("%w: parameters not in canonical order", ErrWire)
		}
		prev = k
		params[k] = v
	}
	if p != len(b) {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes", ErrWire, len(b)-p)
	}
	return in, params, nil
}

// EncodeDecision writes a decision (without its rule reference, which the
// host sets).
func EncodeDecision(d Decision) []byte {
	b := append([]byte(decisionMagic), byte(d.Status))
	b = append(b, d.Result[:]...)
	for _, ids := range [][]NodeID{d.Agree, d.Penalize} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
		for _, id := range ids {
			b = append(b, id[:]...)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(d.Reason)))
	return append(b, d.Reason...)
}

// DecodeDecision parses what a rule wrote, checking every length against
// the bytes present before allocating.
func DecodeDecision(b []byte) (Decision, error) {
	var d Decision
	if len(b) < len(decisionMagic)+33 || string(b[:len(decisionMagic)]) != decisionMagic {
		return d, fmt.Errorf("%w: not a decision", ErrWire)
	}
	p := len(decisionMagic)
	if b[p] > byte(Accepted) {
		return d, fmt.Errorf("%w: status %d", ErrWire, b[p])
	}
	d.Status = Status(b[p])
	copy(d.Result[:], b[p+1:])
	p += 33
	lists := [2]*[]NodeID{&d.Agree, &d.Penalize}
	for _, list := range lists {
		if len(b)-p < 4 {
			return d, fmt.Errorf("%w: truncated", ErrWire)
		}
		n := binary.LittleEndian.Uint32(b[p:])
		p += 4
		if n > MaxEntries || uint64(len(b)-p) < 32*uint64(n) {
			return d, fmt.Errorf("%w: %d nodes", ErrWire, n)
		}
		*list = make([]NodeID, n)
		for i := range *list {
			copy((*list)[i][:], b[p:])
			p += 32
		}
	}
	if len(b)-p < 4 {
		return d, fmt.Errorf("%w: truncated", ErrWire)
	}
	r := binary.LittleEndian.Uint32(b[p:])
	p += 4
	if r > MaxReason || uint64(len(b)-p) != uint64(r) {
		return d, fmt.Errorf("%w: reason of %d bytes", ErrWire, r)
	}
	d.Reason = string(b[p:])
	return d, nil
}
