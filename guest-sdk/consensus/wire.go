package consensus

import (
	"encoding/binary"
	"errors"
)

// The wire format the host speaks (see consensus/wire.go in dnahost).
const (
	inputMagic    = "dna-rule-in/1"
	decisionMagic = "dna-rule-out/1"
	entryWire     = 32 + 8 + 32 + 1 + 1 + 32 + 4
)

var errInput = errors.New("consensus: malformed input")

// DecodeInput parses the host's input.
func DecodeInput(b []byte) (*Input, error) {
	h := len(inputMagic) + 40
	if len(b) < h || string(b[:len(inputMagic)]) != inputMagic {
		return nil, errInput
	}
	p := len(inputMagic)
	in := &Input{}
	copy(in.JobID[:], b[p:])
	in.Replication = int(binary.LittleEndian.Uint32(b[p+32:]))
	n := int(binary.LittleEndian.Uint32(b[p+36:]))
	if n < 0 || (len(b)-h-4)/entryWire < n {
		return nil, errInput
	}
	in.Entries = make([]Entry, n)
	p = h
	for i := range in.Entries {
		e := &in.Entries[i]
		copy(e.Node[:], b[p:])
		e.Stake = binary.LittleEndian.Uint64(b[p+32:])
		copy(e.Result[:], b[p+40:])
		e.Revealed = b[p+72] == 1
		e.Verification = Verification(b[p+73])
		copy(e.Digest[:], b[p+74:])
		e.Tokens = int(binary.LittleEndian.Uint32(b[p+106:]))
		p += entryWire
	}
	m := int(binary.LittleEndian.Uint32(b[p:]))
	p += 4
	in.Params = map[string]string{}
	str := func() (string, bool) {
		if len(b)-p < 2 {
			return "", false
		}
		l := int(binary.LittleEndian.Uint16(b[p:]))
		p += 2
		if len(b)-p < l {
			return "", false
		}
		p += l
		return string(b[p-l : p]), true
	}
	for i := 0; i < m; i++ {
		k, ok1 := str()
		v, ok2 := str()
		if !ok1 || !ok2 {
			return nil, errInput
		}
		in.Params[k] = v
	}
	return in, nil
}

// EncodeDecision writes the verdict for the host.
func EncodeDecision(d Decision) []byte {
	b := append([]byte(decisionMagic), byte(d.Status))
	b = append(b, d.Result[:]...)
	for _, ids := range [][]NodeID{d.Agree, d.Penalize} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
		for _, id := range ids {
			b = append(b, id[:]...)
		}
	}
	reason := d.Reason
	if len(reason) > 4096 {
		reason = reason[:4096]
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(reason)))
	return append(b, reason...)
}
