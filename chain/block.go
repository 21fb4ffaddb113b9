package chain

import (
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
)

// BlockVersion is the block format version.
const BlockVersion = 1

// HeaderSize is the encoded size of a Header.
const HeaderSize = 4 + 8 + 32 + 32 + 8 + 4 + 8

// Header is what proof of work covers (§2.3.1).
type Header struct {
	Version    uint32
	Height     uint64
	PrevHash   keys.Hash
	MerkleRoot keys.Hash // RFC 6962 root over the transaction IDs
	Timestamp  int64     // unix milliseconds
	Bits       uint32    // target, compact
	Nonce      uint64
}

// Encode writes u32 version ‖ u64 height ‖ prev[32] ‖ merkle[32] ‖
// u64 timestamp ‖ u32 bits ‖ u64 nonce.
func (h *Header) Encode() []byte {
	w := make(writer, 0, HeaderSize)
	w.u32(h.Version)
	w.u64(h.Height)
	w.hash(h.PrevHash)
	w.hash(h.MerkleRoot)
	w.u64(uint64(h.Timestamp))
	w.u32(h.Bits)
	w.u64(h.Nonce)
	return w
}

// Hash is SHA-256d of the header: the block's ID and its proof of work.
func (h *Header) Hash() keys.Hash { return keys.DoubleSHA256(h.Encode()) }

// DecodeHeader parses a header.
func DecodeHeader(b []byte) (*Header, error) {
	r := &reader{b: b, what: "header"}
	h := &Header{Version: r.u32(), Height: r.u64(), PrevHash: r.hash(), MerkleRoot: r.hash(),
		Timestamp: int64(r.u64()), Bits: r.u32(), Nonce: r.u64()}
	return h, r.done()
}

// Block is a header and its transactions, the coinbase first.
type Block struct {
	Header Header
	Txs    []*Tx
}

// maxTxsDecoded bounds the transaction count a decoder accepts before the
// network's own MaxBlockTxs applies.
const maxTxsDecoded = 1 << 20

// Encode writes header ‖ u32 n ‖ n × (u32 len ‖ tx).
func (b *Block) Encode() []byte {
	w := writer(b.Header.Encode())
	w.u32(uint32(len(b.Txs)))
	for _, tx := range b.Txs {
		w.bytes(tx.Encode())
	}
	return w
}

// Hash is the header's hash.
func (b *Block) Hash() keys.Hash { return b.Header.Hash() }

// DecodeBlock parses a block of at most maxBytes; the count of
// transactions is checked against the bytes present before any slice is
// made.
func DecodeBlock(b []byte, maxBytes int) (*Block, error) {
	if len(b) > maxBytes {
		return nil, ruleErr(ErrBlockTooBig, "block of %d bytes, limit %d", len(b), maxBytes)
	}
	if len(b) < HeaderSize {
		return nil, ruleErr(ErrEncoding, "block of %d bytes", len(b))
	}
	h, err := DecodeHeader(b[:HeaderSize])
	if err != nil {
		return nil, err
	}
	r := &reader{b: b[HeaderSize:], what: "block"}
	n := r.u32()
	// Every transaction takes at least 4 bytes of length.
	if r.err == nil && (n > maxTxsDecoded || int64(n)*4 > int64(len(r.b))) {
		r.fail("%d transactions in %d bytes", n, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	blk := &Block{Header: *h, Txs: make([]*Tx, 0, n)}
	for i := uint32(0); i < n; i++ {
		raw := r.bytes(maxBytes)
		if r.err != nil {
			return nil, r.err
		}
		tx, err := DecodeTx(raw)
		if err != nil {
			return nil, err
		}
		blk.Txs = append(blk.Txs, tx)
	}
	return blk, r.done()
}

// TxIDs lists the transaction IDs in order.
func (b *Block) TxIDs() []keys.Hash {
	ids := make([]keys.Hash, len(b.Txs))
	for i, tx := range b.Txs {
		ids[i] = tx.ID()
	}
	return ids
}

// ComputeMerkleRoot is the RFC 6962 root over the transaction IDs (immune
// to the duplicated-last-leaf ambiguity of Bitcoin's tree).
func (b *Block) ComputeMerkleRoot() keys.Hash { return merkleRootOf(b.TxIDs()) }

func merkleRootOf(ids []keys.Hash) keys.Hash {
	leaves := make([]merkle.Hash, len(ids))
	for i, id := range ids {
		leaves[i] = merkle.LeafHash(id[:])
	}
	return merkle.Root(leaves)
}
