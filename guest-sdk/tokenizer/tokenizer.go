package tokenizer

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Limits checked before anything is allocated.
const (
	MaxVocab       = 1 << 20
	MaxTokenLength = 1 << 12
)

// Special token ids of the llama2.c vocabulary.
const (
	UNK = 0
	BOS = 1
	EOS = 2
)

// ErrFormat reports a tokenizer.bin that cannot be parsed.
var ErrFormat = errors.New("tokenizer: malformed tokenizer.bin")

// Tokenizer is a parsed llama2.c vocabulary.
type Tokenizer struct {
	// Pieces are slices of data described by offsets, not [][]byte: a table
	// without pointers is several times faster to build in a WebAssembly
	// guest, where parsing is most of a job's start-up.
	data   []byte
	start  []uint32
	length []uint16
	scores []float32
	maxLen int
	// table is an open-addressing hash index of the pieces (id+1, 0 empty).
	// A Go map would allocate a string per piece; in a WebAssembly guest that
	// made parsing a 32000-piece vocabulary cost ~100 ms per job.
	table []int32
	mask  uint32
}

// Parse reads a tokenizer.bin holding vocabSize entries: an int32 maximum
// token length, then per entry a float32 score, an int32 length and the
// bytes. Duplicate pieces resolve to the lowest id.
func Parse(data []byte, vocabSize int) (*Tokenizer, error) {
	if vocabSize <= 0 || vocabSize > MaxVocab {
		return nil, fmt.Errorf("%w: vocabulary size %d out of range", ErrFormat, vocabSize)
	}
	// Each entry takes at least 8 bytes: reject impossible sizes before allocating.
	if len(data) < 4 || (len(data)-4)/8 < vocabSize {
		return nil, fmt.Errorf("%w: %d bytes cannot hold %d entries", ErrFormat, len(data), vocabSize)
	}
	maxLen := int(int32(binary.LittleEndian.Uint32(data)))
	if maxLen < 0 || maxLen > MaxTokenLength {
		return nil, fmt.Errorf("%w: max token length %d", ErrFormat, maxLen)
	}
	size := 1
	for size < 2*vocabSize {
		size <<= 1
	}
	t := &Tokenizer{
		data:   data,
		start:  make([]uint32, vocabSize),
		length: make([]uint16, vocabSize),
		scores: make([]float32, vocabSize),
		maxLen: maxLen,
		table:  make([]int32, size),
		mask:   uint32(size - 1),
	}
	off := 4
	for i := 0; i < vocabSize; i++ {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("%w: entry %d truncated", ErrFormat, i)
		}
		t.scores[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int(int32(binary.LittleEndian.Uint32(data[off+4:])))
		off += 8
		if n < 0 || n > MaxTokenLength || n > len(data)-off {
			return nil, fmt.Errorf("%w: entry %d has length %d", ErrFormat, i, n)
		}
		t.start[i], t.length[i] = uint32(off), uint16(n)
		off += n
		t.insert(int32(i))
	}
	return t, nil
}

// piece returns token id's bytes (id must be in range).
func (t *Tokenizer) piece(id int32) []byte {
	s := t.start[id]
	return t.data[s : s+uint32(t.length[id]) : s+uint32(t.length[id])]
}

func hashPiece(b []byte) uint32 {
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// insert indexes id unless an earlier id has the same piece.
func (t *Tokenizer) insert(id int32) {
	p := t.piece(id)
	for i := hashPiece(p) & t.mask; ; i = (i + 1) & t.mask {
		e := t.table[i]
		if e == 0 {
			t.table[i] = id + 1
			return
		}
		if string(t.piece(e-1)) == string(p) {
			return
		}
	}
}

func (t *Tokenizer) find(p []byte) int32 {
	for i := hashPiece(p) & t.mask; ; i = (i + 1) & t.mask {
		e := t.table[i]
		if e == 0 {
			return -1
		}
		if string(t.piece(e-1)) == string(p) {
			return e - 1
		}
	}
}

// VocabSize is the number of entries.
func (t *Tokenizer) VocabSize() int { return len(t.start) }

// Piece returns the raw bytes of token id.
func (t *Tokenizer) Piece(id int32) []byte {
	if id < 0 || int(id) >= len(t.start) {
		return nil
	}
	return t.piece(id)
}

// Score returns the merge score of token id.
func (t *Tokenizer) Score(id int32) float32 { return t.scores[id] }

// Lookup returns the id of a piece, or -1.
func (t *Tokenizer) Lookup(piece string) int32 { return t.find([]byte(piece)) }

// Encode tokenizes text as run.c's encode does: optional BOS, a dummy-prefix
// space, one token per UTF-8 character (or its bytes as <0xXX> tokens, id
// byte+3), then repeated merges of the adjacent pair whose concatenation has
// the highest score, leftmost first. Unlike run.c, a NUL byte is encoded as
// a byte token instead of ending the text.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int32 {
	toks := make([]int32, 0, len(text)+3)
	if bos {
		toks = append(toks, BOS)
	}
	if text != "" {
		toks = t.appendPiece(toks, " ")
	}
	for i := 0; i < len(text); {
		// A UTF-8 character: a lead byte and up to three continuation bytes.
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		toks = t.appendPiece(toks, text[i:j])
		i = j
	}
	start := 0
	if bos {
		start = 1
	}
	merged := t.merge(toks[start:])
	toks = append(toks[:start], merged...)
	if eos {
		toks = append(toks, EOS)
	}
	return toks
}

func (t *Tokenizer) appendPiece(toks []int32, s string) []int32 {
	if id := t.Lookup(s); id >= 0 {
		return append(toks, id)
	}
	for k := 0; k < len(s); k++ {
		toks = append(toks, int32(s[k])+3)
	}
	return toks
}

// merge applies the BPE merges. run.c rescans all pairs after each merge and
// takes the best score with the leftmost index winning ties; a heap of
// candidate pairs keyed by (score, position), invalidated lazily when a
// neighbour changes, makes the same choices.
func (t *Tokenizer) merge(toks []int32) []int32 {
	n := len(toks)
	if n < 2 {
		return toks
	}
	type node struct {
		id         int32
		prev, next int
		gen        int
		alive      bool
	}
	nodes := make([]node, n)
	for i, id := range toks {
		nodes[i] = node{id: id, prev: i - 1, next: i + 1, alive: true}
	}
	nodes[n-1].next = -1
	h := &pairHeap{}
	push := func(i int) {
		j := nodes[i].next
		if j < 0 {
			return
		}
		a, b := t.Piece(nodes[i].id), t.Piece(nodes[j].id)
		buf := make([]byte, 0, len(a)+len(b))
		buf = append(append(buf, a...), b...)
		id := t.find(buf)
		if id < 0 || !(t.scores[id] > -1e10) { // run.c starts best_score at -1e10
			return
		}
		heap.Push(h, pair{score: t.scores[id], left: i, id: id, gen: nodes[i].gen, rgen: nodes[j].gen})
	}
	for i := 0; i < n-1; i++ {
		push(i)
	}
	for h.Len() > 0 {
		p := heap.Pop(h).(pair)
		l := &nodes[p.left]
		if !l.alive || l.gen != p.gen || l.next < 0 || nodes[l.next].gen != p.rgen || !nodes[l.next].alive {
			continue // stale: a neighbour changed since this pair was pushed
		}
		r := l.next
		l.id = p.id
		l.gen++
		nodes[r].alive = false
		l.next = nodes[r].next
		if l.next >= 0 {
			nodes[l.next].prev = p.left
		}
		if l.prev >= 0 {
			push(l.prev) // its old pair with l is stale: l.gen moved on
		}
		push(p.left)
	}
	out := toks[:0]
	for i := 0; i >= 0; i = nodes[i].next {
		out = append(out, nodes[i].id)
	}
	return out
}

type pair struct {
	score     float32
	left      int
	id        int32
	gen, rgen int
}

type pairHeap []pair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score > h[j].score
	}
	return h[i].left < h[j].left
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pair)) }
func (h *pairHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// Decode returns the bytes token contributes after prev, as run.c's decode:
// the space after BOS is dropped, and <0xXX> pieces become that raw byte.
// Unlike run.c's safe_printf, which the callers of Decode apply, nothing is
// filtered here.
func (t *Tokenizer) Decode(prev, token int32) []byte {
	piece := t.Piece(token)
	if prev == BOS && len(piece) > 0 && piece[0] == ' ' {
		piece = piece[1:]
	}
	if len(piece) == 6 && piece[0] == '<' && piece[1] == '0' && piece[2] == 'x' && piece[5] == '>' {
		if v, err := strconv.ParseUint(string(piece[3:5]), 16, 8); err == nil {
			return []byte{byte(v)}
		}
	}
	return piece
}

// Printable applies run.c's safe_printf rule to a decoded piece: a lone byte
// that is a control character other than whitespace prints nothing. Bytes of
// 0x80 and above are kept (run.c drops them), so byte-fallback UTF-8 text
// survives.
func Printable(piece []byte) []byte {
	if len(piece) == 1 {
		c := piece[0]
		if c < 0x80 && !(c >= 0x20 && c < 0x7f) && !(c == ' ' || (c >= '\t' && c <= '\r')) {
			return nil
		}
	}
	return piece
}
