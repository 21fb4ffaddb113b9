package chain

// Tests of the canonical binary codecs: every decoder of outside bytes
// (transactions, their payloads, headers, blocks, sync messages) and of
// stored records (accounts, jobs, supply, undo logs, block index records).
// For each: round trips of representative values (fields empty and at their
// caps), refusal of every truncation, trailing bytes and over-cap lengths
// with the documented rule codes, no allocation driven by an unchecked
// length, and a fuzz target whose property is that decoding never panics,
// fails only with an encoding code, and accepts only canonical bytes
// (encode(decode(b)) == b).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dnahost/dnahost/keys"
)

// codecGenesis is the network hash the sample transactions are signed for.
var codecGenesis = keys.SHA256([]byte("codec test genesis"))

// codecKey is a deterministic key (as chaintest.Key, which this package's
// internal tests cannot import).
func codecKey(name string) *keys.PrivateKey {
	for j := 0; ; j++ {
		seed := sha256.Sum256([]byte(fmt.Sprintf("codec test %s %d", name, j)))
		if k, err := keys.ParsePrivateKey(seed[:]); err == nil {
			return k
		}
	}
}

func codecAddr(name string) keys.Address { return codecKey(name).Public().Address() }

func codecHash(name string) keys.Hash { return keys.SHA256([]byte(name)) }

// codecFill is n deterministic bytes (every value 0..255 appears).
func codecFill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

// codecAddrs is n distinct addresses in ascending order.
func codecAddrs(n int) []keys.Address {
	out := make([]keys.Address, n)
	for i := range out {
		out[i] = keys.Address(keys.Hash160([]byte{byte(i), byte(i >> 8)}))
	}
	slices.SortFunc(out, func(a, b keys.Address) int { return bytes.Compare(a[:], b[:]) })
	return out
}

func codecSigned(signer string, tx *Tx) *Tx {
	tx.Version = TxVersion
	tx.Sign(codecKey(signer), codecGenesis)
	return tx
}

// codecEqual compares decoded values field by field, nil and empty slices
// alike (the encodings cannot tell them apart); it reads unexported fields
// too.
func codecEqual(a, b any) bool { return codecEqualValue(reflect.ValueOf(a), reflect.ValueOf(b)) }

func codecEqualValue(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return codecEqualValue(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !codecEqualValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !codecEqualValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return a.Uint() == b.Uint()
	case reflect.String:
		return a.String() == b.String()
	}
	panic("codecEqual: unsupported kind " + a.Kind().String())
}

// Sample values.

type codecTxSample struct {
	name string
	tx   *Tx
	sane bool // passes CheckTxSanity on DevNet for codecGenesis
}

func codecTxSamples(big bool) []codecTxSample {
	job := codecHash("job")
	s := []codecTxSample{
		{"coinbase", &Tx{Version: TxVersion, Type: TxCoinbase,
			Payload: (&Coinbase{Height: 1, To: codecAddr("miner"), Amount: 50 * Coin}).Encode()}, true},
		{"coinbase max extra", &Tx{Version: TxVersion, Type: TxCoinbase,
			Payload: (&Coinbase{Height: math.MaxUint64, To: codecAddr("miner"), Amount: math.MaxUint64,
				Extra: codecFill(maxCoinbaseExtra, 1)}).Encode()}, true},
		{"transfer", codecSigned("alice", &Tx{Type: TxTransfer, Fee: 1000,
			Payload: (&Transfer{To: codecAddr("bob"), Amount: 7 * Coin}).Encode()}), true},
		{"transfer lock time", codecSigned("alice", &Tx{Type: TxTransfer, Nonce: 5, Fee: 1, LockTime: 99,
			Payload: (&Transfer{To: codecAddr("bob"), Amount: 1}).Encode()}), true},
		{"job escrow", codecSigned("client", &Tx{Type: TxJobEscrow, Nonce: 1, Fee: 500, JobID: job,
			Payload: (&JobEscrow{BundleRoot: codecHash("bundle"), Reward: 100 * Coin, Replication: 3,
				MinStake: Coin, Deadline: 1_800_000_000_000}).Encode()}), true},
		{"job escrow max rule", codecSigned("client", &Tx{Type: TxJobEscrow, Nonce: 2, Fee: 500, JobID: codecHash("job 2"),
			Payload: (&JobEscrow{BundleRoot: codecHash("bundle"), Reward: 1, Replication: 32,
				MinStake: math.MaxUint64, Deadline: math.MaxInt64, Rule: string(codecFill(maxRuleLen, 2))}).Encode()}), true},
		{"stake", codecSigned("node", &Tx{Type: TxStake, Nonce: 9, Fee: 10, JobID: job,
			Payload: (&Stake{Amount: Coin}).Encode()}), true},
		{"result", codecSigned("node", &Tx{Type: TxResult, Nonce: 10, Fee: 10, JobID: job,
			Payload: (&Result{BundleRoot: codecHash("bundle"), ResultHash: codecHash("output"), Rule: "majority",
				Certificate: codecFill(100, 3), Agree: codecAddrs(3)}).Encode()}), true},
		{"dispute", codecSigned("watcher", &Tx{Type: TxDispute, Fee: 10, JobID: job,
			Payload: (&Dispute{Evidence: codecFill(50, 4)}).Encode()}), true},
		{"unsigned", &Tx{Version: TxVersion, Type: TxTransfer,
			Payload: (&Transfer{To: codecAddr("bob"), Amount: 1}).Encode()}, false},
		{"zero", &Tx{}, false},
		{"all max", &Tx{Version: math.MaxUint16, Type: math.MaxUint8, Nonce: math.MaxUint64, Fee: math.MaxUint64,
			LockTime: math.MaxUint64, JobID: keys.Hash(bytes.Repeat([]byte{0xff}, 32)),
			PubKey: bytes.Repeat([]byte{0xff}, keys.PublicKeySize), Sig: bytes.Repeat([]byte{0xff}, sigSize)}, false},
	}
	if big {
		s = append(s,
			codecTxSample{"result max fields", codecSigned("node", &Tx{Type: TxResult, Nonce: 11, JobID: job,
				Payload: (&Result{BundleRoot: codecHash("bundle"), Rule: string(codecFill(maxRuleLen, 5)),
					Certificate: codecFill(MaxCertificate, 6), Agree: codecAddrs(32)}).Encode()}), true},
			codecTxSample{"result 255 agreeing", codecSigned("node", &Tx{Type: TxResult, Nonce: 12, JobID: job,
				Payload: (&Result{Agree: codecAddrs(255)}).Encode()}), false},
			codecTxSample{"dispute max evidence", codecSigned("watcher", &Tx{Type: TxDispute, Nonce: 1, JobID: job,
				Payload: (&Dispute{Evidence: codecFill(MaxEvidence, 7)}).Encode()}), true},
			codecTxSample{"max payload", codecSigned("alice", &Tx{Type: TxTransfer, Nonce: 1,
				Payload: codecFill(maxPayload, 8)}), false},
		)
	}
	return s
}

func codecTxs(big bool) []*Tx {
	var out []*Tx
	for _, s := range codecTxSamples(big) {
		out = append(out, s.tx)
	}
	return out
}

func codecHeaders() []*Header {
	return []*Header{
		{},
		{Version: BlockVersion, Height: 1, PrevHash: DevNet.GenesisHash(), MerkleRoot: codecHash("root"),
			Timestamp: DevNet.GenesisTime + 1000, Bits: DevNet.GenesisBits, Nonce: 42},
		{Version: math.MaxUint32, Height: math.MaxUint64, PrevHash: keys.Hash(bytes.Repeat([]byte{0xff}, 32)),
			MerkleRoot: keys.Hash(bytes.Repeat([]byte{0xff}, 32)), Timestamp: -1, Bits: math.MaxUint32, Nonce: math.MaxUint64},
		{Timestamp: math.MinInt64},
	}
}

func codecBlock(height uint64, txs ...*Tx) *Block {
	b := &Block{Header: Header{Version: BlockVersion, Height: height, PrevHash: codecHash("parent"),
		Timestamp: DevNet.GenesisTime + int64(height)*1000, Bits: DevNet.GenesisBits, Nonce: height * 7}, Txs: txs}
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	return b
}

func codecBlocks(big bool) []*Block {
	out := []*Block{
		codecBlock(0),
		codecBlock(1, codecTxs(false)[0]),
		codecBlock(2, codecTxs(false)...),
		codecBlock(4, codecTxs(false)[0], codecTxs(false)[2], codecTxs(false)[6]),
		MainNet.Genesis(), TestNet.Genesis(), DevNet.Genesis(),
	}
	if big {
		out = append(out, codecBlock(3, codecTxs(true)...))
	}
	return out
}

func codecJobs(big bool) []*Job {
	out := []*Job{
		{},
		{ID: codecHash("job"), Client: codecAddr("client"), BundleRoot: codecHash("bundle"), Reward: 100 * Coin,
			Replication: 3, MinStake: Coin, Deadline: 1_800_000_000_000, Rule: "majority", CreatedAt: 1_795_000_000_000,
			State: JobCompleted, Stakes: []StakeEntry{{codecAddr("a"), Coin}, {codecAddr("b"), 2 * Coin}, {codecAddr("c"), 3}},
			ResultHash: codecHash("output"), ResultRule: "majority", ResultTx: codecHash("tx"), Agree: codecAddrs(2),
			CompletedAt: 1_795_000_600_000, SettleAt: 1_795_086_600_000},
	}
	if big {
		j := &Job{ID: codecHash("big job"), Reward: math.MaxUint64, Replication: 255, MinStake: math.MaxUint64,
			Deadline: -1, Rule: string(codecFill(maxRuleLen, 9)), CreatedAt: math.MinInt64, State: 255,
			ResultRule: string(codecFill(maxRuleLen, 10)), Agree: codecAddrs(255),
			CompletedAt: math.MaxInt64, SettleAt: -2, ClosedAt: math.MinInt64}
		for i, a := range codecAddrs(255) {
			j.Stakes = append(j.Stakes, StakeEntry{Node: a, Amount: math.MaxUint64 - uint64(i)})
		}
		out = append(out, j)
	}
	return out
}

func codecUndos(big bool) [][]undoEntry {
	out := [][]undoEntry{
		nil,
		{
			{key: accountKey(codecAddr("alice")), present: true, val: (&Account{Balance: 5, Nonce: 1}).encode()},
			{key: jobKey(codecHash("job")), present: false},
			{key: nil, present: true, val: nil},
			{key: []byte{keySupply}, present: true, val: (&Supply{Minted: 1}).encode()},
		},
	}
	if big {
		out = append(out, []undoEntry{
			{key: []byte("k"), present: false},
			{key: codecFill(1<<10, 11), present: true, val: codecFill(1<<20, 12)},
		})
	}
	return out
}

// codecCodec is one decoder under test, with its encoder and samples.
type codecCodec struct {
	name   string
	decode func([]byte) (any, error)
	encode func(any) []byte
	values func(big bool) []any
	codes  []ErrorCode // the codes its errors may carry
}

// codecMaxBlock is the block size the block and Blocks decoders are given.
var codecMaxBlock = DevNet.MaxBlockBytes

func codecAnys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func codecDecode[T any](f func([]byte) (T, error)) func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		v, err := f(b)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

var codecEnc = []ErrorCode{ErrEncoding}
var codecEncCap = []ErrorCode{ErrEncoding, ErrFieldTooLarge}

func codecCodecs() []codecCodec {
	return []codecCodec{
		{"Tx", codecDecode(DecodeTx), func(v any) []byte { return v.(*Tx).Encode() },
			func(big bool) []any { return codecAnys(codecTxs(big)) }, codecEncCap},
		{"Transfer", codecDecode(DecodeTransfer), func(v any) []byte { return v.(*Transfer).Encode() },
			func(bool) []any {
				return codecAnys([]*Transfer{{}, {To: codecAddr("bob"), Amount: 1},
					{To: keys.Address(bytes.Repeat([]byte{0xff}, 20)), Amount: math.MaxUint64}})
			}, codecEnc},
		{"JobEscrow", codecDecode(DecodeJobEscrow), func(v any) []byte { return v.(*JobEscrow).Encode() },
			func(bool) []any {
				return codecAnys([]*JobEscrow{{}, {BundleRoot: codecHash("b"), Reward: 1, Replication: 3, MinStake: 2,
					Deadline: 3, Rule: "majority"}, {Reward: math.MaxUint64, Replication: 255, MinStake: math.MaxUint64,
					Deadline: math.MinInt64, Rule: string(codecFill(maxRuleLen, 13))}})
			}, codecEncCap},
		{"Stake", codecDecode(DecodeStake), func(v any) []byte { return v.(*Stake).Encode() },
			func(bool) []any { return codecAnys([]*Stake{{}, {Amount: 1}, {Amount: math.MaxUint64}}) }, codecEnc},
		{"Result", codecDecode(DecodeResult), func(v any) []byte { return v.(*Result).Encode() },
			func(big bool) []any {
				rs := []*Result{{}, {BundleRoot: codecHash("b"), ResultHash: codecHash("r"), Rule: "majority",
					Certificate: codecFill(40, 14), Agree: codecAddrs(1)}, {Agree: codecAddrs(5)}}
				if big {
					rs = append(rs, &Result{Rule: string(codecFill(maxRuleLen, 15)),
						Certificate: codecFill(MaxCertificate, 16), Agree: codecAddrs(255)})
				}
				return codecAnys(rs)
			}, codecEncCap},
		{"Dispute", codecDecode(DecodeDispute), func(v any) []byte { return v.(*Dispute).Encode() },
			func(big bool) []any {
				ds := []*Dispute{{}, {Evidence: []byte{0}}, {Evidence: codecFill(300, 17)}}
				if big {
					ds = append(ds, &Dispute{Evidence: codecFill(MaxEvidence, 18)})
				}
				return codecAnys(ds)
			}, codecEncCap},
		{"Coinbase", codecDecode(DecodeCoinbase), func(v any) []byte { return v.(*Coinbase).Encode() },
			func(bool) []any {
				return codecAnys([]*Coinbase{{}, {Height: 7, To: codecAddr("miner"), Amount: 50 * Coin, Extra: []byte("tag")},
					{Height: math.MaxUint64, Amount: math.MaxUint64, Extra: codecFill(maxCoinbaseExtra, 19)}})
			}, codecEncCap},
		{"Header", codecDecode(DecodeHeader), func(v any) []byte { return v.(*Header).Encode() },
			func(bool) []any { return codecAnys(codecHeaders()) }, codecEnc},
		{"Block", codecDecode(func(b []byte) (*Block, error) { return DecodeBlock(b, codecMaxBlock) }),
			func(v any) []byte { return v.(*Block).Encode() },
			func(big bool) []any { return codecAnys(codecBlocks(big)) },
			[]ErrorCode{ErrEncoding, ErrFieldTooLarge, ErrBlockTooBig}},
		{"GetHeaders", codecDecode(DecodeGetHeaders), func(v any) []byte { return v.(*GetHeaders).Encode() },
			func(bool) []any {
				loc := make([]keys.Hash, MaxLocatorHashes)
				for i := range loc {
					loc[i] = codecHash(fmt.Sprint("locator ", i))
				}
				return codecAnys([]*GetHeaders{{}, {Locator: loc[:1]}, {Locator: loc[:8]},
					{Locator: loc, Stop: codecHash("stop")}})
			}, codecEnc},
		{"Headers", codecDecode(DecodeHeaders), func(v any) []byte { return v.(*Headers).Encode() },
			func(big bool) []any {
				ms := []*Headers{{}, {Headers: codecHeaders()}}
				if big {
					m := &Headers{}
					for i := range MaxHeadersPerMsg {
						h := *codecHeaders()[1]
						h.Height = uint64(i)
						m.Headers = append(m.Headers, &h)
					}
					ms = append(ms, m)
				}
				return codecAnys(ms)
			}, codecEnc},
		{"GetBlocks", codecDecode(DecodeGetBlocks), func(v any) []byte { return v.(*GetBlocks).Encode() },
			func(bool) []any {
				hs := make([]keys.Hash, MaxBlocksPerMsg)
				for i := range hs {
					hs[i] = codecHash(fmt.Sprint("block ", i))
				}
				return codecAnys([]*GetBlocks{{}, {Hashes: hs[:1]}, {Hashes: hs}})
			}, codecEnc},
		{"Blocks", codecDecode(func(b []byte) (*Blocks, error) { return DecodeBlocks(b, codecMaxBlock) }),
			func(v any) []byte { return v.(*Blocks).Encode() },
			func(big bool) []any {
				var raws [][]byte
				for _, b := range codecBlocks(big) {
					raws = append(raws, b.Encode())
				}
				full := make([][]byte, MaxBlocksPerMsg)
				for i := range full {
					full[i] = raws[i%len(raws)]
				}
				return codecAnys([]*Blocks{{}, {Blocks: [][]byte{nil}}, {Blocks: raws[:2]}, {Blocks: raws}, {Blocks: full}})
			}, codecEncCap},
		{"Account", codecDecode(decodeAccount), func(v any) []byte { return v.(*Account).encode() },
			func(bool) []any {
				return codecAnys([]*Account{{}, {Balance: 5, Nonce: 1}, {Balance: math.MaxUint64, Nonce: math.MaxUint64}})
			}, codecEnc},
		{"Job", codecDecode(decodeJob), func(v any) []byte { return v.(*Job).encode() },
			func(big bool) []any { return codecAnys(codecJobs(big)) }, codecEncCap},
		{"Supply", codecDecode(decodeSupply), func(v any) []byte { return v.(*Supply).encode() },
			func(bool) []any {
				return codecAnys([]*Supply{{}, {Minted: 50 * Coin, Burned: 1}, {Minted: math.MaxUint64, Burned: math.MaxUint64}})
			}, codecEnc},
		{"Undo", codecDecode(decodeUndo), func(v any) []byte { return encodeUndo(v.([]undoEntry)) },
			func(big bool) []any { return codecAnys(codecUndos(big)) }, codecEncCap},
	}
}

func codecByName(name string) codecCodec {
	if name == "BlockStore" { // as Chain.loadBlock reads a stored block
		c := codecByName("Block")
		c.decode = codecDecode(func(b []byte) (*Block, error) { return DecodeBlock(b, 1<<62) })
		return c
	}
	for _, c := range codecCodecs() {
		if c.name == name {
			return c
		}
	}
	panic("no codec " + name)
}

// codecCheckErr fails unless err carries one of codes.
func codecCheckErr(t testing.TB, what string, err error, codes ...ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: decoded, want an error coded %v", what, codes)
	}
	if !slices.Contains(codes, CodeOf(err)) {
		t.Fatalf("%s: error %v (code %v), want one of %v", what, err, CodeOf(err), codes)
	}
}

// Round trips.

func TestCodecRoundTrip(t *testing.T) {
	for _, c := range codecCodecs() {
		t.Run(c.name, func(t *testing.T) {
			for i, v := range c.values(true) {
				b := c.encode(v)
				in := bytes.Clone(b)
				got, err := c.decode(in)
				if err != nil {
					t.Fatalf("sample %d (%d bytes): %v", i, len(b), err)
				}
				// The decoded value must own its bytes: stores and
				// connections reuse their buffers.
				for j := range in {
					in[j] ^= 0xa5
				}
				if !codecEqual(v, got) {
					t.Fatalf("sample %d: decoded %+v, want %+v", i, got, v)
				}
				if again := c.encode(got); !bytes.Equal(again, b) {
					t.Fatalf("sample %d: re-encoding differs", i)
				}
			}
		})
	}
}

func TestCodecTxRoundTrip(t *testing.T) {
	for _, s := range codecTxSamples(true) {
		b := s.tx.Encode()
		got, err := DecodeTx(b)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.ID() != s.tx.ID() || got.ID() != keys.DoubleSHA256(b) {
			t.Fatalf("%s: ID changed in a round trip", s.name)
		}
		if got.SigHash(codecGenesis) != s.tx.SigHash(codecGenesis) {
			t.Fatalf("%s: signature hash changed in a round trip", s.name)
		}
		// The signed bytes are the encoding less the signature's length
		// and bytes.
		if unsigned := s.tx.encode(false); !bytes.Equal(unsigned, b[:len(b)-1-len(s.tx.Sig)]) {
			t.Fatalf("%s: unsigned encoding is not a prefix of the encoding", s.name)
		}
		err = CheckTxSanity(got, &DevNet, codecGenesis)
		if s.sane && err != nil {
			t.Fatalf("%s: decoded transaction fails sanity: %v", s.name, err)
		}
		if !s.sane && err == nil {
			t.Fatalf("%s: decoded transaction passes sanity", s.name)
		}
		if s.tx.Type == TxCoinbase || !s.sane {
			continue
		}
		body, err := got.Body()
		if err != nil {
			t.Fatalf("%s: body: %v", s.name, err)
		}
		if !bytes.Equal(body.Encode(), s.tx.Payload) {
			t.Fatalf("%s: body re-encodes differently", s.name)
		}
	}
	if _, err := (&Tx{Type: 6}).Body(); CodeOf(err) != ErrBadTxType {
		t.Fatalf("unknown type body: %v", err)
	}
}

func TestCodecBlockRoundTrip(t *testing.T) {
	for i, blk := range codecBlocks(true) {
		b := blk.Encode()
		got, err := DecodeBlock(b, len(b))
		if err != nil {
			t.Fatalf("block %d at its own size: %v", i, err)
		}
		if got.Hash() != blk.Hash() || got.ComputeMerkleRoot() != blk.Header.MerkleRoot ||
			!slices.Equal(got.TxIDs(), blk.TxIDs()) {
			t.Fatalf("block %d: hash, merkle root or IDs changed in a round trip", i)
		}
		if _, err := DecodeBlock(b, len(b)-1); CodeOf(err) != ErrBlockTooBig {
			t.Fatalf("block %d a byte over the limit: %v", i, err)
		}
		if _, err := DecodeBlock(b, 1<<62); err != nil { // as the store reads it
			t.Fatalf("block %d from the store: %v", i, err)
		}
	}
	// The genesis blocks decode to what the parameters make.
	for _, p := range []*Params{&MainNet, &TestNet, &DevNet} {
		got, err := DecodeBlock(p.Genesis().Encode(), p.MaxBlockBytes)
		if err != nil || got.Hash() != p.GenesisHash() {
			t.Fatalf("%s genesis: %v", p.Name, err)
		}
	}
}

// TestCodecIndexRecords checks the block index record (header ‖ u8
// status, decoded inline by Chain.load, which wants exactly
// HeaderSize+1 bytes) round-trips through DecodeHeader.
func TestCodecIndexRecords(t *testing.T) {
	for _, h := range codecHeaders() {
		for _, st := range []nodeStatus{0, statusHaveData, statusHaveData | statusValid, statusInvalid, 0xff} {
			n := &blockNode{header: *h, status: st}
			v := n.encode()
			if len(v) != HeaderSize+1 {
				t.Fatalf("record of %d bytes", len(v))
			}
			got, err := DecodeHeader(v[:HeaderSize])
			if err != nil || *got != *h || nodeStatus(v[HeaderSize]) != st {
				t.Fatalf("record does not round-trip: %v", err)
			}
		}
	}
}

// Golden vectors pin the byte layouts documented on the encoders (and so
// every ID and hash).

func TestCodecGoldenHeader(t *testing.T) {
	h := &Header{Version: 1, Height: 0x0102030405060708, PrevHash: keys.Hash(bytes.Repeat([]byte{0x11}, 32)),
		MerkleRoot: keys.Hash(bytes.Repeat([]byte{0x22}, 32)), Timestamp: -2, Bits: 0x1d00ffff, Nonce: 0xdeadbeef}
	want := "01000000" + "0807060504030201" + strings.Repeat("11", 32) + strings.Repeat("22", 32) +
		"feffffffffffffff" + "ffff001d" + "efbeadde00000000"
	if got := hex.EncodeToString(h.Encode()); got != want {
		t.Fatalf("header encoding\n got %s\nwant %s", got, want)
	}
	if HeaderSize != len(want)/2 {
		t.Fatalf("HeaderSize %d, encoding %d bytes", HeaderSize, len(want)/2)
	}
	if got := h.Hash().String(); got != codecGoldenHeaderHash {
		t.Fatalf("header hash %s, want %s", got, codecGoldenHeaderHash)
	}
}

func TestCodecGoldenTx(t *testing.T) {
	pub := append([]byte{0x02}, bytes.Repeat([]byte{0xab}, 32)...)
	tx := &Tx{Version: 1, Type: TxTransfer, Nonce: 3, Fee: 1000, LockTime: 9, PubKey: pub,
		Payload: (&Transfer{To: keys.Address(bytes.Repeat([]byte{0x33}, 20)), Amount: 5}).Encode(),
		Sig:     bytes.Repeat([]byte{0x44}, 64)}
	payload := strings.Repeat("33", 20) + "0500000000000000"
	want := "0100" + "01" + "0300000000000000" + "e803000000000000" + "0900000000000000" + strings.Repeat("00", 32) +
		"21" + "02" + strings.Repeat("ab", 32) + "1c000000" + payload + "40" + strings.Repeat("44", 64)
	if got := hex.EncodeToString(tx.Encode()); got != want {
		t.Fatalf("tx encoding\n got %s\nwant %s", got, want)
	}
	if got := tx.ID().String(); got != codecGoldenTxID {
		t.Fatalf("tx ID %s, want %s", got, codecGoldenTxID)
	}
	cb := &Coinbase{Height: 2, To: keys.Address(bytes.Repeat([]byte{0x55}, 20)), Amount: 7, Extra: []byte("hi")}
	wantCB := "0200000000000000" + strings.Repeat("55", 20) + "0700000000000000" + "02000000" + "6869"
	if got := hex.EncodeToString(cb.Encode()); got != wantCB {
		t.Fatalf("coinbase encoding\n got %s\nwant %s", got, wantCB)
	}
}

const (
	codecGoldenHeaderHash = "fd9db3b316eee927cca2a741bf019c61686f1b34f6047728bb8a4534ba144dfa"
	codecGoldenTxID       = "574034f688ce9c21a3aab0f20000c1cb4524e6414efba9a0779690c55915c337"
)

// Refusals.

// codecCuts lists the truncation points of an n-byte encoding: all of
// them, but for long ones only the first and last 4 KiB and a stride
// between (the middle is the inside of one opaque field).
func codecCuts(n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if n <= 1<<14 || i < 1<<12 || i >= n-1<<12 || i%251 == 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestCodecTruncatedAndTrailing(t *testing.T) {
	for _, c := range codecCodecs() {
		t.Run(c.name, func(t *testing.T) {
			for i, v := range c.values(true) {
				b := c.encode(v)
				for _, n := range codecCuts(len(b)) {
					_, err := c.decode(b[:n:n])
					codecCheckErr(t, fmt.Sprintf("sample %d cut to %d of %d bytes", i, n, len(b)), err, ErrEncoding)
				}
				for _, extra := range [][]byte{{0}, {0xff}, make([]byte, 32), bytes.Repeat([]byte{0xff}, 4)} {
					_, err := c.decode(append(bytes.Clone(b), extra...))
					codecCheckErr(t, fmt.Sprintf("sample %d with %d trailing bytes", i, len(extra)), err, ErrEncoding)
				}
			}
		})
	}
}

// codecW builds hand-made encodings.
type codecW struct{ w writer }

func (c *codecW) u8(v uint8) *codecW     { c.w.u8(v); return c }
func (c *codecW) u16(v uint16) *codecW   { c.w.u16(v); return c }
func (c *codecW) u32(v uint32) *codecW   { c.w.u32(v); return c }
func (c *codecW) u64(v uint64) *codecW   { c.w.u64(v); return c }
func (c *codecW) raw(b []byte) *codecW   { c.w = append(c.w, b...); return c }
func (c *codecW) zeros(n int) *codecW    { return c.raw(make([]byte, n)) }
func (c *codecW) field(b []byte) *codecW { c.w.bytes(b); return c }
func (c *codecW) bytes() []byte          { return c.w }
func codecBuild() *codecW                { return &codecW{} }
func codecTxHead(typ TxType) *codecW {
	return codecBuild().u16(TxVersion).u8(uint8(typ)).zeros(8 + 8 + 8 + 32)
}
func codecTxWith(pub, sig []byte) []byte { return (&Tx{Version: 1, PubKey: pub, Sig: sig}).Encode() }
func codecBlockHead(n uint32) *codecW    { return codecBuild().raw(codecHeaders()[1].Encode()).u32(n) }
func codecJobHead() *codecW              { return codecBuild().zeros(32 + 20 + 32 + 8 + 1 + 8 + 8) }
func codecUndoHead(present byte) *codecW { return codecBuild().u32(1).u8(present) }
func codecBlocksMsg(raw []byte) []byte   { return (&Blocks{Blocks: [][]byte{raw}}).Encode() }
func codecHashes(n int) []keys.Hash      { return make([]keys.Hash, n) }
func codecHeadersMsg(n, hdrs int) []byte {
	return codecBuild().u16(uint16(n)).zeros(hdrs * HeaderSize).bytes()
}
func codecCertResult(cert []byte) []byte { return (&Result{Certificate: cert}).Encode() }
func codecRuleResult(rule string) []byte { return (&Result{Rule: rule}).Encode() }
func codecEvidence(ev []byte) []byte     { return (&Dispute{Evidence: ev}).Encode() }
func codecExtra(extra []byte) []byte     { return (&Coinbase{Extra: extra}).Encode() }
func codecEscrowRule(rule string) []byte { return (&JobEscrow{Rule: rule}).Encode() }
func codecJobRules(r, rr string) []byte  { return (&Job{Rule: r, ResultRule: rr}).encode() }
func codecUndoKV(key, val []byte) []byte {
	return encodeUndo([]undoEntry{{key: key, present: true, val: val}})
}
func codecTxPayload(payload []byte) []byte { return (&Tx{Version: 1, Payload: payload}).Encode() }

// codecRefusals are hand-made encodings each decoder must refuse, with the
// code it must give.
func codecRefusals() []struct {
	name, codec string
	in          []byte
	code        ErrorCode
} {
	over := strings.Repeat("r", maxRuleLen+1)
	hugeLen := uint32(math.MaxUint32)
	return []struct {
		name, codec string
		in          []byte
		code        ErrorCode
	}{
		// Transactions.
		{"payload over cap", "Tx", codecTxPayload(make([]byte, maxPayload+1)), ErrFieldTooLarge},
		{"payload length 2^32-1", "Tx", codecTxHead(TxTransfer).u8(0).u32(hugeLen).bytes(), ErrFieldTooLarge},
		{"payload at cap, bytes missing", "Tx", codecTxHead(TxTransfer).u8(0).u32(maxPayload).zeros(10).bytes(), ErrEncoding},
		{"public key of 32 bytes", "Tx", codecTxWith(make([]byte, 32), nil), ErrEncoding},
		{"public key of 34 bytes", "Tx", codecTxWith(make([]byte, 34), nil), ErrEncoding},
		{"public key of 1 byte", "Tx", codecTxWith(make([]byte, 1), nil), ErrEncoding},
		{"public key length 255", "Tx", codecTxHead(TxTransfer).u8(255).zeros(300).bytes(), ErrEncoding},
		{"signature of 63 bytes", "Tx", codecTxWith(nil, make([]byte, 63)), ErrEncoding},
		{"signature of 65 bytes", "Tx", codecTxWith(nil, make([]byte, 65)), ErrEncoding},
		{"signature of 1 byte", "Tx", codecTxWith(nil, make([]byte, 1)), ErrEncoding},
		{"escrow rule over cap", "JobEscrow", codecEscrowRule(over), ErrFieldTooLarge},
		{"escrow rule length 2^32-1", "JobEscrow", codecBuild().zeros(32 + 8 + 1 + 8 + 8).u32(hugeLen).bytes(), ErrFieldTooLarge},
		{"result rule over cap", "Result", codecRuleResult(over), ErrFieldTooLarge},
		{"result certificate over cap", "Result", codecCertResult(make([]byte, MaxCertificate+1)), ErrFieldTooLarge},
		{"result certificate length 2^32-1", "Result", codecBuild().zeros(64).u32(0).u32(hugeLen).bytes(), ErrFieldTooLarge},
		{"result agreeing nodes missing", "Result", codecBuild().zeros(64).u32(0).u32(0).u8(2).zeros(39).bytes(), ErrEncoding},
		{"result 255 agreeing, none present", "Result", codecBuild().zeros(64).u32(0).u32(0).u8(255).bytes(), ErrEncoding},
		{"dispute evidence over cap", "Dispute", codecEvidence(make([]byte, MaxEvidence+1)), ErrFieldTooLarge},
		{"dispute evidence length 2^32-1", "Dispute", codecBuild().u32(hugeLen).bytes(), ErrFieldTooLarge},
		{"coinbase extra over cap", "Coinbase", codecExtra(make([]byte, maxCoinbaseExtra+1)), ErrFieldTooLarge},
		{"coinbase extra length 2^32-1", "Coinbase", codecBuild().zeros(8 + 20 + 8).u32(hugeLen).bytes(), ErrFieldTooLarge},
		// Blocks.
		{"block shorter than a header", "Block", codecHeaders()[1].Encode()[:HeaderSize-1], ErrEncoding},
		{"block without a count", "Block", codecHeaders()[1].Encode(), ErrEncoding},
		{"block count over the bytes", "Block", codecBlockHead(3).zeros(11).bytes(), ErrEncoding},
		{"block count 2^32-1", "Block", codecBlockHead(hugeLen).zeros(64).bytes(), ErrEncoding},
		{"block count over maxTxsDecoded", "BlockStore", codecBlockHead(maxTxsDecoded + 1).zeros(4 * (maxTxsDecoded + 1)).bytes(), ErrEncoding},
		{"block over the size limit", "Block", codecBlockHead(0).zeros(codecMaxBlock).bytes(), ErrBlockTooBig},
		{"block tx length 2^32-1", "Block", codecBlockHead(1).u32(hugeLen).zeros(8).bytes(), ErrFieldTooLarge},
		{"block tx length over the bytes", "Block", codecBlockHead(1).u32(200).zeros(8).bytes(), ErrEncoding},
		{"block with an empty tx", "Block", codecBlockHead(1).u32(0).bytes(), ErrEncoding},
		{"block with a bad tx", "Block", codecBlockHead(1).field(codecTxWith(make([]byte, 5), nil)).bytes(), ErrEncoding},
		{"block with an over-cap tx payload", "Block", codecBlockHead(1).field(codecTxPayload(make([]byte, maxPayload+1))).bytes(), ErrFieldTooLarge},
		// Sync messages.
		{"locator over the cap", "GetHeaders", (&GetHeaders{Locator: codecHashes(MaxLocatorHashes + 1)}).Encode(), ErrEncoding},
		{"locator count 65535", "GetHeaders", codecBuild().u16(math.MaxUint16).zeros(64).bytes(), ErrEncoding},
		{"locator count over the bytes", "GetHeaders", codecBuild().u16(2).zeros(63).bytes(), ErrEncoding},
		{"headers over the cap", "Headers", codecHeadersMsg(MaxHeadersPerMsg+1, MaxHeadersPerMsg+1), ErrEncoding},
		{"headers count 65535", "Headers", codecHeadersMsg(math.MaxUint16, 1), ErrEncoding},
		{"headers count over the bytes", "Headers", codecHeadersMsg(3, 2), ErrEncoding},
		{"headers count under the bytes", "Headers", codecHeadersMsg(1, 2), ErrEncoding},
		{"getblocks over the cap", "GetBlocks", (&GetBlocks{Hashes: codecHashes(MaxBlocksPerMsg + 1)}).Encode(), ErrEncoding},
		{"getblocks count 65535", "GetBlocks", codecBuild().u16(math.MaxUint16).bytes(), ErrEncoding},
		{"blocks over the cap", "Blocks", (&Blocks{Blocks: make([][]byte, MaxBlocksPerMsg+1)}).Encode(), ErrEncoding},
		{"blocks count 65535", "Blocks", codecBuild().u16(math.MaxUint16).zeros(64).bytes(), ErrEncoding},
		{"blocks count over the bytes", "Blocks", codecBuild().u16(2).zeros(7).bytes(), ErrEncoding},
		{"block in blocks over maxBlock", "Blocks", codecBlocksMsg(make([]byte, codecMaxBlock+1)), ErrFieldTooLarge},
		{"block in blocks length 2^32-1", "Blocks", codecBuild().u16(1).u32(hugeLen).bytes(), ErrFieldTooLarge},
		// Stored records.
		{"job rule over cap", "Job", codecJobRules(over, ""), ErrFieldTooLarge},
		{"job result rule over cap", "Job", codecJobRules("", over), ErrFieldTooLarge},
		{"job rule length 2^32-1", "Job", codecJobHead().u32(hugeLen).bytes(), ErrFieldTooLarge},
		{"job stakes over the bytes", "Job", codecJobHead().u32(0).u64(0).u8(0).u8(255).zeros(200).bytes(), ErrEncoding},
		{"job agreeing over the bytes", "Job",
			codecJobHead().u32(0).u64(0).u8(0).u8(0).zeros(32).u32(0).zeros(32).u8(255).zeros(100).bytes(), ErrEncoding},
		{"undo count over the bytes", "Undo", codecBuild().u32(2).u8(1).u32(0).u32(0).bytes(), ErrEncoding},
		{"undo count 2^32-1", "Undo", codecBuild().u32(hugeLen).zeros(64).bytes(), ErrEncoding},
		{"undo key over cap", "Undo", codecUndoKV(make([]byte, 1<<10+1), nil), ErrFieldTooLarge},
		{"undo value over cap", "Undo", codecUndoKV(nil, make([]byte, 1<<20+1)), ErrFieldTooLarge},
		{"undo key length 2^32-1", "Undo", codecUndoHead(1).u32(hugeLen).zeros(4).bytes(), ErrFieldTooLarge},
		{"undo value length 2^32-1", "Undo", codecUndoHead(1).u32(0).u32(hugeLen).bytes(), ErrFieldTooLarge},
		{"undo present flag 2", "Undo", codecUndoHead(2).u32(0).u32(0).bytes(), ErrEncoding},
		{"undo present flag 255", "Undo", codecUndoHead(255).u32(1).u8('a').u32(0).bytes(), ErrEncoding},
	}
}

func TestCodecRefusals(t *testing.T) {
	for _, r := range codecRefusals() {
		c := codecByName(r.codec)
		_, err := c.decode(r.in)
		codecCheckErr(t, r.name, err, r.code)
		if r.codec == "Undo" && !errors.Is(err, errCorrupt) {
			t.Fatalf("%s: undo error %v is not errCorrupt", r.name, err)
		}
	}
	// The limits are inclusive: a field exactly at its cap decodes.
	atCap := map[string][]byte{
		"Tx":        codecTxPayload(make([]byte, maxPayload)),
		"JobEscrow": codecEscrowRule(strings.Repeat("r", maxRuleLen)),
		"Result":    codecCertResult(make([]byte, MaxCertificate)),
		"Dispute":   codecEvidence(make([]byte, MaxEvidence)),
		"Coinbase":  codecExtra(make([]byte, maxCoinbaseExtra)),
		"Job":       codecJobRules(strings.Repeat("r", maxRuleLen), strings.Repeat("r", maxRuleLen)),
		"Undo":      codecUndoKV(make([]byte, 1<<10), make([]byte, 1<<20)),
		"Blocks":    codecBlocksMsg(make([]byte, codecMaxBlock)),
	}
	for name, in := range atCap {
		if _, err := codecByName(name).decode(in); err != nil {
			t.Fatalf("%s at its cap: %v", name, err)
		}
	}
}

// codecAllocated is the fewest bytes f allocated over a few runs (the
// minimum discounts allocation by anything else running).
func codecAllocated(f func()) uint64 {
	best := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// TestCodecHostileLengths checks that a length or count prefix claiming
// more than the input holds is refused before anything of that size is
// allocated.
func TestCodecHostileLengths(t *testing.T) {
	const limit = 8 << 10 // bytes a refusal may allocate
	cases := []struct {
		codec string
		in    []byte
	}{
		{"Tx", codecTxHead(TxTransfer).u8(0).u32(maxPayload).bytes()},
		{"Tx", codecTxHead(TxTransfer).u8(0).u32(math.MaxUint32).bytes()},
		{"JobEscrow", codecBuild().zeros(32 + 8 + 1 + 8 + 8).u32(maxRuleLen).bytes()},
		{"Result", codecBuild().zeros(64).u32(0).u32(MaxCertificate).bytes()},
		{"Result", codecBuild().zeros(64).u32(0).u32(0).u8(255).bytes()},
		{"Dispute", codecBuild().u32(MaxEvidence).bytes()},
		{"Dispute", codecBuild().u32(math.MaxUint32).bytes()},
		{"Coinbase", codecBuild().zeros(8 + 20 + 8).u32(maxCoinbaseExtra).bytes()},
		{"Block", codecBlockHead(math.MaxUint32).bytes()},
		{"Block", codecBlockHead(maxTxsDecoded).bytes()},
		{"Block", codecBlockHead(1).u32(uint32(codecMaxBlock)).bytes()},
		{"GetHeaders", codecBuild().u16(MaxLocatorHashes).bytes()},
		{"Headers", codecBuild().u16(MaxHeadersPerMsg).bytes()},
		{"GetBlocks", codecBuild().u16(MaxBlocksPerMsg).bytes()},
		{"Blocks", codecBuild().u16(MaxBlocksPerMsg).zeros(60).bytes()},
		{"Blocks", codecBuild().u16(1).u32(uint32(codecMaxBlock)).bytes()},
		{"Job", codecJobHead().u32(maxRuleLen).bytes()},
		{"Job", codecJobHead().u32(0).u64(0).u8(0).u8(255).bytes()},
		{"Undo", codecBuild().u32(math.MaxUint32).zeros(64).bytes()},
		{"Undo", codecUndoHead(1).u32(0).u32(1 << 20).bytes()},
		{"Undo", codecUndoHead(1).u32(1 << 10).zeros(4).bytes()},
	}
	for i, c := range cases {
		dec := codecByName(c.codec).decode
		var err error
		n := codecAllocated(func() { _, err = dec(c.in) })
		if err == nil {
			t.Fatalf("case %d (%s): decoded", i, c.codec)
		}
		if n > limit {
			t.Fatalf("case %d (%s): refusing %d bytes allocated %d", i, c.codec, len(c.in), n)
		}
	}
}

// TestCodecCorruptHeightRecord: a main-chain height record of the wrong
// length is a corrupt store, reported as such (it used to panic
// converting the value to a hash).
func TestCodecCorruptHeightRecord(t *testing.T) {
	p := DevNet
	c, err := Open(Options{Params: &p, Dir: "/chain", FS: vfs.NewMem(), Clock: func() time.Time {
		return time.UnixMilli(p.GenesisTime)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if h, err := c.HashAtHeight(0); err != nil || h != c.GenesisHash() {
		t.Fatalf("genesis at height 0: %v", err)
	}
	for _, v := range [][]byte{nil, {1}, make([]byte, 31), make([]byte, 33)} {
		if err := c.db.Set(heightKey(0), v, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.HashAtHeight(0); !errors.Is(err, errCorrupt) {
			t.Fatalf("height record of %d bytes: %v", len(v), err)
		}
	}
}

// Fuzz targets. Each is seeded with the valid encodings of its samples
// (those up to 1 KiB: the fuzzer minimizes every new interesting input,
// which for inputs of several KiB can stall a short run for its whole
// -fuzzminimizetime) and checks, for any input: no panic; a refusal
// carries one of the decoder's encoding codes; and an accepted input is
// canonical: it re-encodes to itself, and decoding that again gives an
// equal value.

func codecSeeds(c codecCodec) [][]byte {
	var out [][]byte
	for _, v := range c.values(true) {
		if b := c.encode(v); len(b) <= 1<<10 {
			out = append(out, b)
		}
	}
	return out
}

func codecFuzz(f *testing.F, name string, extra func(t *testing.T, v any)) {
	c := codecByName(name)
	for _, s := range codecSeeds(c) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := c.decode(b)
		if err != nil {
			codecCheckErr(t, "refusal", err, c.codes...)
			return
		}
		enc := c.encode(v)
		if !bytes.Equal(enc, b) {
			t.Fatalf("non-canonical: %x decodes but re-encodes as %x", b, enc)
		}
		again, err := c.decode(enc)
		if err != nil || !codecEqual(v, again) {
			t.Fatalf("re-decoding differs: %v", err)
		}
		if extra != nil {
			extra(t, v)
		}
	})
}

func FuzzDecodeTx(f *testing.F) {
	codecFuzz(f, "Tx", func(t *testing.T, v any) {
		tx := v.(*Tx)
		// What a node does next with a decoded transaction must not
		// panic either.
		_ = tx.ID()
		_ = tx.Sender()
		if body, err := tx.Body(); err == nil {
			_ = body.Encode()
		}
		_ = CheckTxSanity(tx, &DevNet, codecGenesis)
	})
}

func FuzzDecodeTransfer(f *testing.F)  { codecFuzz(f, "Transfer", nil) }
func FuzzDecodeJobEscrow(f *testing.F) { codecFuzz(f, "JobEscrow", nil) }
func FuzzDecodeStake(f *testing.F)     { codecFuzz(f, "Stake", nil) }
func FuzzDecodeResult(f *testing.F)    { codecFuzz(f, "Result", nil) }
func FuzzDecodeDispute(f *testing.F)   { codecFuzz(f, "Dispute", nil) }
func FuzzDecodeCoinbase(f *testing.F)  { codecFuzz(f, "Coinbase", nil) }

func FuzzDecodeHeader(f *testing.F) {
	codecFuzz(f, "Header", func(t *testing.T, v any) {
		h := v.(*Header)
		_ = h.Hash()
		_ = CheckHeaderSanity(h, &DevNet, time.UnixMilli(DevNet.GenesisTime))
	})
}

func FuzzDecodeGetHeaders(f *testing.F) { codecFuzz(f, "GetHeaders", nil) }
func FuzzDecodeHeaders(f *testing.F)    { codecFuzz(f, "Headers", nil) }
func FuzzDecodeGetBlocks(f *testing.F)  { codecFuzz(f, "GetBlocks", nil) }
func FuzzDecodeAccount(f *testing.F)    { codecFuzz(f, "Account", nil) }
func FuzzDecodeJob(f *testing.F)        { codecFuzz(f, "Job", nil) }
func FuzzDecodeSupply(f *testing.F)     { codecFuzz(f, "Supply", nil) }
func FuzzDecodeUndo(f *testing.F)       { codecFuzz(f, "Undo", nil) }

// FuzzDecodeBlock fuzzes the size limit too: over it, the only answer is
// ErrBlockTooBig.
func FuzzDecodeBlock(f *testing.F) {
	for _, s := range codecSeeds(codecByName("Block")) {
		f.Add(s, uint32(len(s)))
		f.Add(s, uint32(codecMaxBlock))
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint32) {
		blk, err := DecodeBlock(b, int(max))
		if len(b) > int(max) {
			codecCheckErr(t, "over the limit", err, ErrBlockTooBig)
			return
		}
		if err != nil {
			codecCheckErr(t, "refusal", err, ErrEncoding, ErrFieldTooLarge)
			return
		}
		if enc := blk.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("non-canonical: %x decodes but re-encodes as %x", b, enc)
		}
		again, err := DecodeBlock(b, len(b))
		if err != nil || !codecEqual(blk, again) {
			t.Fatalf("re-decoding differs: %v", err)
		}
		_ = blk.Hash()
		_ = blk.ComputeMerkleRoot()
		_ = CheckBlockSanity(blk, &DevNet, codecGenesis, time.UnixMilli(DevNet.GenesisTime))
	})
}

// FuzzDecodeBlocks fuzzes the per-block limit too.
func FuzzDecodeBlocks(f *testing.F) {
	for _, s := range codecSeeds(codecByName("Blocks")) {
		f.Add(s, uint32(codecMaxBlock))
		f.Add(s, uint32(100))
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint32) {
		m, err := DecodeBlocks(b, int(max))
		if err != nil {
			codecCheckErr(t, "refusal", err, ErrEncoding, ErrFieldTooLarge)
			return
		}
		for _, raw := range m.Blocks {
			if len(raw) > int(max) {
				t.Fatalf("block of %d bytes accepted under a limit of %d", len(raw), max)
			}
		}
		if enc := m.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("non-canonical: %x decodes but re-encodes as %x", b, enc)
		}
	})
}

// The hand-made encodings above must say what they mean: each helper's
// output decodes where a valid one is expected (a guard against a test
// passing because its input was malformed in some other way).
func TestCodecBuildersAreValid(t *testing.T) {
	valid := []struct {
		codec string
		in    []byte
	}{
		{"Tx", codecTxHead(TxTransfer).u8(0).u32(0).u8(0).bytes()},
		{"JobEscrow", codecBuild().zeros(32 + 8 + 1 + 8 + 8).u32(0).bytes()},
		{"Result", codecBuild().zeros(64).u32(0).u32(0).u8(0).bytes()},
		{"Coinbase", codecBuild().zeros(8 + 20 + 8).u32(0).bytes()},
		{"Block", codecBlockHead(0).bytes()},
		{"Headers", codecHeadersMsg(2, 2)},
		{"Job", codecJobHead().u32(0).u64(0).u8(0).u8(0).zeros(32).u32(0).zeros(32).u8(0).zeros(24).bytes()},
		{"Undo", codecUndoHead(1).u32(0).u32(0).bytes()},
		{"Undo", codecUndoHead(0).u32(1).u8('a').u32(0).bytes()},
	}
	for _, v := range valid {
		if _, err := codecByName(v.codec).decode(v.in); err != nil {
			t.Fatalf("%s builder: %v", v.codec, err)
		}
	}
}
