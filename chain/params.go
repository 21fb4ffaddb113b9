package chain

import (
	"math/big"
	"time"

	"github.com/dnahost/dnahost/keys"
)

// Coin is one DNA in base units.
const Coin = 100_000_000

// Params are a network's consensus parameters. They are values: a network
// is its Params, and two nodes with different Params are on different
// chains (the genesis hash is part of every signature).
type Params struct {
	Name string
	// AddressVersion is the Base58Check version byte (§2.2.2: 0x00).
	AddressVersion byte
	// DefaultPort is where nodes listen by default.
	DefaultPort int

	// Genesis block contents.
	GenesisTime  int64 // unix ms
	GenesisBits  uint32
	GenesisNonce uint64

	// Proof of work.
	PowLimitBits     uint32        // the easiest target allowed, in compact form
	TargetBlockTime  time.Duration // the spacing retargeting aims for
	RetargetInterval uint64        // blocks between retargets (0: never; every block at PowLimitBits)
	MaxRetarget      int64         // a retarget changes the target by at most this factor
	MedianTimeBlocks int           // blocks in the median time past (11)
	MaxFutureTime    time.Duration // how far a timestamp may be ahead of the clock

	// Money.
	InitialSubsidy  uint64 // coinbase subsidy at height 0 (50 coins)
	HalvingInterval uint64 // blocks between halvings (1,000,000)

	// Jobs (§2.4).
	MinJobAge      time.Duration // a job's result may enter a block only this long after the job
	DisputeWindow  time.Duration // after a result, how long a dispute may come
	MaxJobDuration time.Duration // a job's deadline is at most this far ahead
	DisputeBounty  uint64        // percent of a slashed stake paid to the disputer (rest burned)
	MaxReplication int           // nodes per job at most

	// Sizes.
	MaxBlockBytes int // encoded block
	MaxTxBytes    int // encoded transaction
	MaxBlockTxs   int
}

// PowLimit is the easiest target allowed.
func (p *Params) PowLimit() *big.Int { return CompactToBig(p.PowLimitBits) }

// MainNet is the production network: 2-minute blocks, retargeting every
// 720 blocks (a day), results 10 minutes after their job at the earliest
// (§2.4.1), a day to dispute.
var MainNet = Params{
	Name:             "mainnet",
	AddressVersion:   0x00,
	DefaultPort:      7710,
	GenesisTime:      1_795_000_000_000,
	GenesisBits:      0x1f00ffff,
	GenesisNonce:     mainnetGenesisNonce,
	PowLimitBits:     0x1f00ffff,
	TargetBlockTime:  2 * time.Minute,
	RetargetInterval: 720,
	MaxRetarget:      4,
	MedianTimeBlocks: 11,
	MaxFutureTime:    2 * time.Hour,
	InitialSubsidy:   50 * Coin,
	HalvingInterval:  1_000_000,
	MinJobAge:        10 * time.Minute,
	DisputeWindow:    24 * time.Hour,
	MaxJobDuration:   30 * 24 * time.Hour,
	DisputeBounty:    50,
	MaxReplication:   32,
	MaxBlockBytes:    4 << 20,
	MaxTxBytes:       128 << 10,
	MaxBlockTxs:      20_000,
}

// TestNet is MainNet with a different genesis and address version, an
// easier limit, 1-minute blocks and hourly retargets.
var TestNet = Params{
	Name:             "testnet",
	AddressVersion:   0x6f,
	DefaultPort:      17710,
	GenesisTime:      1_795_000_000_000,
	GenesisBits:      0x2000ffff,
	GenesisNonce:     testnetGenesisNonce,
	PowLimitBits:     0x2000ffff,
	TargetBlockTime:  time.Minute,
	RetargetInterval: 60,
	MaxRetarget:      4,
	MedianTimeBlocks: 11,
	MaxFutureTime:    2 * time.Hour,
	InitialSubsidy:   50 * Coin,
	HalvingInterval:  1_000_000,
	MinJobAge:        time.Minute,
	DisputeWindow:    time.Hour,
	MaxJobDuration:   7 * 24 * time.Hour,
	DisputeBounty:    50,
	MaxReplication:   32,
	MaxBlockBytes:    4 << 20,
	MaxTxBytes:       128 << 10,
	MaxBlockTxs:      20_000,
}

// DevNet is for one machine and tests: blocks in milliseconds at the
// easiest target, no retargeting, results after 2 s, a 5 s dispute window.
var DevNet = Params{
	Name:             "devnet",
	AddressVersion:   0x6f,
	DefaultPort:      27710,
	GenesisTime:      1_795_000_000_000,
	GenesisBits:      0x2100ffff,
	GenesisNonce:     devnetGenesisNonce,
	PowLimitBits:     0x2100ffff,
	TargetBlockTime:  10 * time.Millisecond,
	RetargetInterval: 0,
	MaxRetarget:      4,
	MedianTimeBlocks: 11,
	MaxFutureTime:    15 * time.Second,
	InitialSubsidy:   50 * Coin,
	HalvingInterval:  1_000_000,
	MinJobAge:        2 * time.Second,
	DisputeWindow:    5 * time.Second,
	MaxJobDuration:   time.Hour,
	DisputeBounty:    50,
	MaxReplication:   32,
	MaxBlockBytes:    4 << 20,
	MaxTxBytes:       128 << 10,
	MaxBlockTxs:      20_000,
}

// ParamsByName returns mainnet, testnet or devnet.
func ParamsByName(name string) (*Params, bool) {
	for _, p := range []*Params{&MainNet, &TestNet, &DevNet} {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Subsidy is the coinbase subsidy at a height: InitialSubsidy halved every
// HalvingInterval blocks (§2.3.1), zero after 64 halvings.
func (p *Params) Subsidy(height uint64) uint64 {
	h := height / p.HalvingInterval
	if h >= 64 {
		return 0
	}
	return p.InitialSubsidy >> h
}

// Genesis returns the network's first block.
func (p *Params) Genesis() *Block {
	cb := &Tx{Version: TxVersion, Type: TxCoinbase, Payload: (&Coinbase{Height: 0,
		Extra: []byte("dnahost " + p.Name + ": the work is the proof")}).Encode()}
	b := &Block{Header: Header{Version: BlockVersion, Height: 0, Timestamp: p.GenesisTime,
		Bits: p.GenesisBits, Nonce: p.GenesisNonce}, Txs: []*Tx{cb}}
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	return b
}

// GenesisHash identifies the network; it is bound into every signature.
func (p *Params) GenesisHash() keys.Hash { return p.Genesis().Header.Hash() }
