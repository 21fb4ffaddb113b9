package chain

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dnahost/dnahost/keys"
)

func bigHex(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	return v
}

// Bitcoin's compact vectors (Core's arith_uint256 tests, btcd's difficulty
// tests): what bits expand to, and the canonical bits of that value (zero
// where bits is not canonical and its value is zero or negative).
var compactVectors = []struct {
	bits      uint32
	value     string
	canonical uint32
}{
	{0x00000000, "0", 0},
	{0x00123456, "0", 0},
	{0x01003456, "0", 0},
	{0x02000056, "0", 0},
	{0x03000000, "0", 0},
	{0x04000000, "0", 0},
	{0x00923456, "0", 0}, // negative zero
	{0x01803456, "0", 0},
	{0x01123456, "0x12", 0x01120000},
	{0x02008000, "0x80", 0x02008000},
	{0x02123456, "0x1234", 0x02123400},
	{0x03123456, "0x123456", 0x03123456},
	{0x04123456, "0x12345600", 0x04123456},
	{0x04923456, "-0x12345600", 0},
	{0x05009234, "0x92340000", 0x05009234},
	{0x20123456, "0x1234560000000000000000000000000000000000000000000000000000000000", 0x20123456},
	{0x1d00ffff, "0x00000000ffff0000000000000000000000000000000000000000000000000000", 0x1d00ffff},
	{0x1b0404cb, "0x00000000000404cb000000000000000000000000000000000000000000000000", 0x1b0404cb},
}

func TestCompactVectors(t *testing.T) {
	for _, v := range compactVectors {
		want := bigHex(t, v.value)
		if got := CompactToBig(v.bits); got.Cmp(want) != 0 {
			t.Errorf("CompactToBig(%08x) = %#x, want %#x", v.bits, got, want)
		}
		if want.Sign() < 0 {
			continue // BigToCompact takes non-negative targets only
		}
		if got := BigToCompact(want); got != v.canonical {
			t.Errorf("BigToCompact(%#x) = %08x, want %08x", want, got, v.canonical)
		}
	}
}

// BigToCompact rounds down to 23 bits of mantissa, keeps the sign bit
// clear, and is a fixed point of CompactToBig on its own output.
func TestCompactRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for bitLen := 1; bitLen <= 256; bitLen++ {
		for range 8 {
			n := new(big.Int).SetBit(new(big.Int), bitLen-1, 1)
			for i := range bitLen - 1 {
				n.SetBit(n, i, uint(rng.IntN(2)))
			}
			c := BigToCompact(n)
			if c&0x00800000 != 0 {
				t.Fatalf("BigToCompact(%#x) = %08x has the sign bit", n, c)
			}
			v := CompactToBig(c)
			if v.Cmp(n) > 0 {
				t.Fatalf("BigToCompact(%#x) = %08x rounds up to %#x", n, c, v)
			}
			// 16 bits or more of mantissa survive: the loss is under 2^-15.
			if loss := new(big.Int).Sub(n, v); loss.Lsh(loss, 15).Cmp(n) > 0 {
				t.Fatalf("BigToCompact(%#x) = %08x loses %#x", n, c, loss.Rsh(loss, 15))
			}
			if again := BigToCompact(v); again != c {
				t.Fatalf("compact %08x → %#x → %08x", c, v, again)
			}
		}
	}
	for _, p := range []*Params{&MainNet, &TestNet, &DevNet} {
		for _, bits := range []uint32{p.PowLimitBits, p.GenesisBits} {
			if got := BigToCompact(CompactToBig(bits)); got != bits {
				t.Errorf("%s: %08x is not canonical (%08x)", p.Name, bits, got)
			}
		}
	}
}

func TestWorkOf(t *testing.T) {
	// Bitcoin's genesis block is worth 0x100010001 hashes.
	if got := WorkOf(0x1d00ffff); got.Cmp(big.NewInt(0x100010001)) != 0 {
		t.Fatalf("WorkOf(1d00ffff) = %#x, want 0x100010001", got)
	}
	for _, bits := range []uint32{0, 0x04923456, 0x01003456} {
		if got := WorkOf(bits); got.Sign() != 0 {
			t.Errorf("WorkOf(%08x) = %v for a target that is not positive", bits, got)
		}
	}
	// Easiest to hardest: each harder target is worth strictly more.
	ladder := []uint32{0x2100ffff, 0x2000ffff, 0x1f00ffff, 0x1d00ffff, 0x1b0404cb, 0x05009234, 0x03123456, 0x01120000}
	for i := 1; i < len(ladder); i++ {
		if WorkOf(ladder[i]).Cmp(WorkOf(ladder[i-1])) <= 0 {
			t.Errorf("WorkOf(%08x) = %v not above WorkOf(%08x) = %v", ladder[i], WorkOf(ladder[i]), ladder[i-1], WorkOf(ladder[i-1]))
		}
	}
	// Monotone (not increasing) over random targets.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		a, b := rng.Uint32()&0x207fffff, rng.Uint32()&0x207fffff
		ta, tb := CompactToBig(a), CompactToBig(b)
		if ta.Sign() <= 0 || tb.Sign() <= 0 {
			continue
		}
		if ta.Cmp(tb) < 0 && WorkOf(a).Cmp(WorkOf(b)) < 0 {
			t.Fatalf("target %08x < %08x but WorkOf %v < %v", a, b, WorkOf(a), WorkOf(b))
		}
	}
}

// retargetParams retargets every 10 one-second blocks, up to ×4 either
// way, under DevNet's limit; genesis is 256 times harder than the limit so
// the target has room to ease.
func retargetParams() Params {
	p := DevNet
	p.RetargetInterval = 10
	p.TargetBlockTime = time.Second
	p.MaxRetarget = 4
	p.GenesisBits = 0x2000ffff
	return p
}

func TestNextBits(t *testing.T) {
	p := retargetParams()
	const parent = 0x1d00ffff
	want := p.TargetBlockTime.Milliseconds() * int64(p.RetargetInterval) // 10 s
	cases := []struct {
		name        string
		height      uint64
		first, last int64
		bits        uint32
	}{
		{"off the interval", 11, 0, 1, parent},
		{"off the interval, slow", 19, 0, 1 << 40, parent},
		{"height zero", 0, 0, 1, parent},
		{"on time", 10, 1000, 1000 + want, parent},
		{"twice as fast", 20, 0, want / 2, 0x1c7fff80},
		{"twice as slow", 20, 0, want * 2, 0x1d01fffe},
		{"much faster clamps at ÷4", 30, 0, 1, 0x1c3fffc0},
		{"time backwards clamps at ÷4", 30, 5000, 0, 0x1c3fffc0},
		{"much slower clamps at ×4", 30, 0, want * 100, 0x1d03fffc},
	}
	for _, c := range cases {
		if got := nextBits(&p, c.height, parent, c.first, c.last); got != c.bits {
			t.Errorf("%s: nextBits = %08x, want %08x", c.name, got, c.bits)
		}
	}
	// Never above the limit, however slow.
	for _, start := range []uint32{p.PowLimitBits, 0x2040ffff, 0x2000ffff} {
		got := nextBits(&p, 10, start, 0, want*100)
		if CompactToBig(got).Cmp(p.PowLimit()) > 0 {
			t.Errorf("from %08x: %08x above the limit %08x", start, got, p.PowLimitBits)
		}
	}
	if got := nextBits(&p, 10, p.PowLimitBits, 0, want*100); got != p.PowLimitBits {
		t.Errorf("slow at the limit: %08x, want the limit %08x", got, p.PowLimitBits)
	}
	// Without retargeting every block is at the limit.
	p.RetargetInterval = 0
	if got := nextBits(&p, 10, parent, 0, 1); got != p.PowLimitBits {
		t.Errorf("no retargeting: %08x, want %08x", got, p.PowLimitBits)
	}
}

// retargetChain is a chain on retargetParams with a clock the test moves.
type retargetChain struct {
	t     *testing.T
	c     *Chain
	now   time.Time
	miner keys.Address
}

// mine advances the clock by step and mines an empty block on the tip.
func (r *retargetChain) mine(step time.Duration) *Block {
	r.t.Helper()
	r.now = r.now.Add(step)
	b, err := r.c.NewBlockTemplate(r.miner, nil, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	solveForTest(&b.Header)
	res, err := r.c.ProcessBlock(b)
	if err != nil || !res.MainChain {
		r.t.Fatalf("block %d: %+v %v", b.Header.Height, res, err)
	}
	return b
}

func solveForTest(h *Header) {
	target := CompactToBig(h.Bits)
	for h.Nonce = 0; HashToBig(h.Hash()).Cmp(target) > 0; h.Nonce++ {
	}
}

func TestRetargetChain(t *testing.T) {
	p := retargetParams()
	r := &retargetChain{t: t, now: time.UnixMilli(p.GenesisTime), miner: keys.Address{1}}
	c, err := Open(Options{Params: &p, Dir: "/chain", FS: vfs.NewMem(), Clock: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.c = c
	genesis := CompactToBig(p.GenesisBits)

	// Ten seconds a block, ten times slower than the target: the target
	// eases by the most a retarget allows.
	for h := 1; h < 10; h++ {
		if b := r.mine(10 * time.Second); b.Header.Bits != p.GenesisBits {
			t.Fatalf("block %d off the interval has bits %08x", h, b.Header.Bits)
		}
	}
	// A block at the retarget height keeping its parent's bits is refused.
	stale, err := c.NewBlockTemplate(r.miner, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stale.Header.Bits = p.GenesisBits
	solveForTest(&stale.Header)
	if _, err := c.ProcessBlock(stale); CodeOf(err) != ErrBadBits {
		t.Fatalf("stale bits at the retarget: %v", err)
	}
	eased := r.mine(10 * time.Second).Header.Bits
	if got, want := CompactToBig(eased), new(big.Int).Mul(genesis, big.NewInt(p.MaxRetarget)); got.Cmp(want) != 0 {
		t.Fatalf("after a slow interval: target %#x, want %#x (×%d)", got, want, p.MaxRetarget)
	}

	// A millisecond a block: the target hardens by the most allowed.
	for h := 11; h < 20; h++ {
		if b := r.mine(time.Millisecond); b.Header.Bits != eased {
			t.Fatalf("block %d off the interval has bits %08x, want %08x", h, b.Header.Bits, eased)
		}
	}
	hardened := r.mine(time.Millisecond).Header.Bits
	if got := CompactToBig(hardened); got.Cmp(CompactToBig(eased)) >= 0 || got.Cmp(genesis) != 0 {
		t.Fatalf("after a fast interval: target %#x, want %#x (÷%d)", got, genesis, p.MaxRetarget)
	}

	// Twice as fast as the target, within the clamp: harder, but by less.
	for h := 21; h < 30; h++ {
		r.mine(500 * time.Millisecond)
	}
	if got := c.NextBits(); CompactToBig(got).Cmp(genesis) >= 0 || CompactToBig(got).Cmp(new(big.Int).Rsh(genesis, 2)) <= 0 {
		t.Fatalf("after a half-speed interval: %08x, want between ÷4 and the previous %08x", got, hardened)
	}
}

func TestSubsidy(t *testing.T) {
	p := MainNet
	for _, c := range []struct {
		height uint64
		want   uint64
	}{
		{0, 50 * Coin},
		{999_999, 50 * Coin},
		{1_000_000, 25 * Coin},
		{1_999_999, 25 * Coin},
		{2_000_000, 1_250_000_000},
		{32_000_000, 50 * Coin >> 32},
		{33_000_000, 0}, // 50 coins are under 2^33 base units
		{64_000_000, 0},
		{^uint64(0), 0},
	} {
		if got := p.Subsidy(c.height); got != c.want {
			t.Errorf("Subsidy(%d) = %d, want %d", c.height, got, c.want)
		}
	}
	// The shift is well defined for every halving: with a subsidy of all
	// ones it halves 63 times, then stops at 64.
	p.InitialSubsidy = ^uint64(0)
	for h := uint64(0); h < 70; h++ {
		want := uint64(0)
		if h < 64 {
			want = ^uint64(0) >> h
		}
		if got := p.Subsidy(h * p.HalvingInterval); got != want {
			t.Errorf("after %d halvings: %d, want %d", h, got, want)
		}
	}
	// Every coin ever minted: under twice the first era's.
	var total uint64
	for h := uint64(0); h < 64; h++ {
		total += MainNet.Subsidy(h*MainNet.HalvingInterval) * MainNet.HalvingInterval
	}
	if limit := 2 * MainNet.InitialSubsidy * MainNet.HalvingInterval; total >= limit || total < limit-limit/1e6 {
		t.Errorf("total supply %d, want just under %d", total, limit)
	}
}

// The genesis blocks meet their own targets and hash to the constants
// pinned in nonces.go.
func TestGenesisBlocks(t *testing.T) {
	for _, c := range []struct {
		p    *Params
		hash string
	}{
		{&MainNet, "000091b7de9fa0ea5c1335f32abb545dcd5a92ea7fb0f644047fc19d8fc1bbc2"},
		{&TestNet, "0046288329d5eec4ab168c9961d5ffc8a901df9202309c136287f6503a5baf65"},
		{&DevNet, "b33b4a6b44aa0308ae2d3fab6e0570c4cd46e8ce994231ab4e158af96e99d07b"},
	} {
		g := c.p.Genesis()
		if got := g.Hash().String(); got != c.hash {
			t.Errorf("%s genesis %s, want %s", c.p.Name, got, c.hash)
		}
		if got := c.p.GenesisHash(); got != g.Hash() {
			t.Errorf("%s GenesisHash %s differs from the block's", c.p.Name, got)
		}
		if g.Header.Bits != c.p.PowLimitBits {
			t.Errorf("%s genesis bits %08x, limit %08x", c.p.Name, g.Header.Bits, c.p.PowLimitBits)
		}
		if err := CheckProofOfWork(&g.Header, c.p); err != nil {
			t.Errorf("%s genesis: %v", c.p.Name, err)
		}
		if err := CheckBlockSanity(g, c.p, g.Hash(), time.UnixMilli(c.p.GenesisTime)); err != nil {
			t.Errorf("%s genesis: %v", c.p.Name, err)
		}
		// The pinned nonce is the first that works, so it is not arbitrary.
		h := g.Header
		for h.Nonce = 0; h.Nonce < c.p.GenesisNonce; h.Nonce++ {
			if CheckProofOfWork(&h, c.p) == nil {
				t.Errorf("%s: nonce %d already meets the target, before %d", c.p.Name, h.Nonce, c.p.GenesisNonce)
				break
			}
		}
	}
}
