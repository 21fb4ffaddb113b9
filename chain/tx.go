package chain

import (
	"github.com/dnahost/dnahost/keys"
)

// TxVersion is the transaction format version.
const TxVersion = 1

// TxType says what a transaction does.
type TxType uint8

const (
	TxCoinbase  TxType = 0 // the block's reward; first in every block, unsigned
	TxTransfer  TxType = 1 // move coins to an address
	TxJobEscrow TxType = 2 // a client creates a job, locking its reward
	TxStake     TxType = 3 // a compute node bonds stake to a job
	TxResult    TxType = 4 // the consensus result of a job, with its certificate
	TxDispute   TxType = 5 // evidence that a recorded result is wrong
)

var txTypeNames = map[TxType]string{TxCoinbase: "coinbase", TxTransfer: "transfer", TxJobEscrow: "job",
	TxStake: "stake", TxResult: "result", TxDispute: "dispute"}

func (t TxType) String() string {
	if s, ok := txTypeNames[t]; ok {
		return s
	}
	return "unknown"
}

// Tx is a signed transaction. The sender is the account of PubKey; Nonce
// must be the account's next; Fee goes to the block's miner. JobID names
// the job the transaction concerns (zero for transfers and coinbases).
type Tx struct {
	Version  uint16
	Type     TxType
	Nonce    uint64
	Fee      uint64
	LockTime uint64 // the lowest block height that may include it (0: any)
	JobID    keys.Hash
	PubKey   []byte // compressed secp256k1 key (33 bytes); empty for a coinbase
	Payload  []byte // the type's fields, one Encode per type
	Sig      []byte // 64 bytes over SigHash; empty for a coinbase
}

// Size caps of transaction fields.
const (
	maxPayload = 96 << 10
	sigSize    = keys.SignatureSize
)

// encode writes the transaction, with or without its signature:
//
//	u16 version ‖ u8 type ‖ u64 nonce ‖ u64 fee ‖ u64 lock time ‖ job id[32] ‖
//	u8 n ‖ pubkey[n] ‖ u32 n ‖ payload[n] ‖ u8 n ‖ sig[n]
func (tx *Tx) encode(withSig bool) []byte {
	w := make(writer, 0, 128+len(tx.Payload))
	w.u16(tx.Version)
	w.u8(uint8(tx.Type))
	w.u64(tx.Nonce)
	w.u64(tx.Fee)
	w.u64(tx.LockTime)
	w.hash(tx.JobID)
	w.u8(uint8(len(tx.PubKey)))
	w = append(w, tx.PubKey...)
	w.bytes(tx.Payload)
	if withSig {
		w.u8(uint8(len(tx.Sig)))
		w = append(w, tx.Sig...)
	}
	return w
}

// Encode is the transaction's canonical bytes.
func (tx *Tx) Encode() []byte { return tx.encode(true) }

// ID is SHA-256d of the canonical bytes. Signatures are 64-byte low-S, so
// they cannot be rewritten to change an ID.
func (tx *Tx) ID() keys.Hash { return keys.DoubleSHA256(tx.Encode()) }

// SigHash is what the sender signs: the encoding without the signature,
// bound to one network by its genesis hash.
func (tx *Tx) SigHash(genesis keys.Hash) keys.Hash {
	return keys.DomainHash("dna-tx", append(genesis[:], tx.encode(false)...))
}

// Sign sets PubKey and Sig.
func (tx *Tx) Sign(k *keys.PrivateKey, genesis keys.Hash) {
	tx.PubKey = k.Public().Bytes()
	tx.Sig = k.Sign(tx.SigHash(genesis))
}

// Sender is the address of the signing key (zero for a coinbase or an
// unparseable key, which sanity checks refuse).
func (tx *Tx) Sender() keys.Address {
	if len(tx.PubKey) == 0 {
		return keys.Address{}
	}
	return keys.Address(keys.Hash160(tx.PubKey))
}

// DecodeTx parses a transaction; sizes are checked before anything is
// allocated, and the encoding must be canonical (it re-encodes to b).
func DecodeTx(b []byte) (*Tx, error) {
	r := &reader{b: b, what: "tx"}
	tx := &Tx{Version: r.u16(), Type: TxType(r.u8()), Nonce: r.u64(), Fee: r.u64(), LockTime: r.u64(), JobID: r.hash()}
	n := int(r.u8())
	if r.err == nil && n != 0 && n != keys.PublicKeySize {
		r.fail("public key of %d bytes", n)
	}
	if pk := r.take(n); n > 0 && pk != nil {
		tx.PubKey = append([]byte(nil), pk...)
	}
	tx.Payload = r.bytes(maxPayload)
	n = int(r.u8())
	if r.err == nil && n != 0 && n != sigSize {
		r.fail("signature of %d bytes", n)
	}
	if s := r.take(n); n > 0 && s != nil {
		tx.Sig = append([]byte(nil), s...)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return tx, nil
}

// CheckTxSanity applies the context-free rules: version, type, sizes, the
// payload decodes, amounts are positive, and the signature verifies.
// Coinbase rules that need the block are in CheckBlockSanity.
func CheckTxSanity(tx *Tx, p *Params, genesis keys.Hash) error {
	if tx.Version != TxVersion {
		return ruleErr(ErrBadVersion, "transaction version %d", tx.Version)
	}
	if size := len(tx.Encode()); size > p.MaxTxBytes {
		return ruleErr(ErrTxTooBig, "transaction of %d bytes, limit %d", size, p.MaxTxBytes)
	}
	if tx.Type == TxCoinbase {
		if len(tx.PubKey) != 0 || len(tx.Sig) != 0 || tx.Nonce != 0 || tx.Fee != 0 || tx.LockTime != 0 || !tx.JobID.IsZero() {
			return ruleErr(ErrEncoding, "coinbase with sender fields")
		}
		_, err := DecodeCoinbase(tx.Payload)
		return err
	}
	body, err := tx.Body()
	if err != nil {
		return err
	}
	if err := body.sanity(tx, p); err != nil {
		return err
	}
	pub, err := keys.ParsePublicKey(tx.PubKey)
	if err != nil {
		return ruleErr(ErrBadSignature, "sender key: %v", err)
	}
	if err := pub.Verify(tx.SigHash(genesis), tx.Sig); err != nil {
		return ruleErr(ErrBadSignature, "%v", err)
	}
	return nil
}

// TxBody is a decoded payload.
type TxBody interface {
	Encode() []byte
	sanity(tx *Tx, p *Params) error
}

// Body decodes the payload of a non-coinbase transaction.
func (tx *Tx) Body() (TxBody, error) {
	switch tx.Type {
	case TxTransfer:
		return DecodeTransfer(tx.Payload)
	case TxJobEscrow:
		return DecodeJobEscrow(tx.Payload)
	case TxStake:
		return DecodeStake(tx.Payload)
	case TxResult:
		return DecodeResult(tx.Payload)
	case TxDispute:
		return DecodeDispute(tx.Payload)
	}
	return nil, ruleErr(ErrBadTxType, "transaction type %d", tx.Type)
}
