package chain_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/chaintest"
	"github.com/dnahost/dnahost/keys"
)

// Crash safety: a node killed at any point while it mines and reorganises
// must reopen to a valid chain whose state is exactly a replay of its best
// chain from genesis, with every block it finished processing still there
// and its tip on the heaviest branch it stores, and must be able to carry
// on (checkRecovered).
//
// TestCrashSIGKILL runs the workload in a child process (this test binary
// again, running TestCrashChild) on a real directory and kills it with
// SIGKILL after a random time. TestCrashPowerLoss runs it in-process on a
// crashable in-memory file system and, at a random file-system write,
// takes the state a power cut would leave (what was synced, plus a random
// share of what was not), then opens that. Half the trials of each aim at
// a reorganisation, where the chain commits twice (the block, then the
// switch).
//
// DNA_CRASH_TRIALS sets the number of trials of each (default 5; make
// crashtest runs 100) and DNA_CRASH_SEED the first seed (default: the
// time; each trial logs its seed).

const (
	crashChildEnv = "DNA_CRASH_CHILD" // the child's store directory
	crashSeedEnv  = "DNA_CRASH_SEED"
)

func crashTrials(t *testing.T) int {
	if s := os.Getenv("DNA_CRASH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("DNA_CRASH_TRIALS=%q", s)
		}
		return n
	}
	return 5
}

func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv(crashSeedEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q", crashSeedEnv, s)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// Kinds of ProcessBlock call the rig makes on the chain under test.
const (
	kindMine  = "mine"  // a block on the tip
	kindSide  = "side"  // a block of a competing branch, not yet heavier
	kindReorg = "reorg" // the branch block that makes it heavier
)

// crashRig drives the chain under test (a) with workload blocks and, now
// and then, a competing branch of depth 1..20 that an in-memory mirror (b)
// builds from the fork point with another workload, one block longer, so
// that a reorganises to it in one batch.
type crashRig struct {
	tb     testing.TB
	rng    *rand.Rand
	a, b   *chaintest.Env
	wa, wb *chaintest.Workload
	// before and after bracket every ProcessBlock on a.
	before func(kind string, blk *chain.Block)
	after  func(tip chain.TipInfo)

	blocks, reorgs int
}

func newCrashRig(tb testing.TB, seed uint64, a *chaintest.Env) *crashRig {
	r := &crashRig{tb: tb, rng: rand.New(rand.NewPCG(seed, 1)), a: a, b: chaintest.OpenMem(tb, nil),
		wa: chaintest.NewWorkload(seed, 6), wb: chaintest.NewWorkload(seed^0x5eed, 6),
		before: func(string, *chain.Block) {}, after: func(chain.TipInfo) {}}
	r.b.Clock.Set(a.Clock.Now())
	return r
}

// fund mines a block to each workload account.
func (r *crashRig) fund() {
	for _, n := range r.wa.Names {
		blk := r.a.Block(chaintest.Addr(n))
		r.submit(kindMine, blk)
		r.mirror(blk)
	}
}

// round mines 1..8 workload blocks, then half the time a fork.
func (r *crashRig) round() {
	for n := 1 + r.rng.IntN(8); n > 0; n-- {
		blk := r.build()
		r.submit(kindMine, blk)
		r.mirror(blk)
	}
	if r.rng.IntN(2) == 0 {
		r.fork(1 + r.rng.IntN(20))
	}
}

// fork mines depth blocks on a alone, then has b (still at the fork point)
// mine depth+1 of its own and feeds them to a: the last one reorganises it.
func (r *crashRig) fork(depth int) {
	for i := 0; i < depth; i++ {
		r.submit(kindMine, r.build())
	}
	branch := make([]*chain.Block, 0, depth+1)
	for i := 0; i <= depth; i++ {
		branch = append(branch, r.wb.Step(r.b))
	}
	if now := r.b.Clock.Now(); now.After(r.a.Clock.Now()) {
		r.a.Clock.Set(now)
	}
	var res *chain.ProcessResult
	for i, blk := range branch {
		kind := kindSide
		if i == depth {
			kind = kindReorg
		}
		res = r.submit(kind, blk)
		if i < depth && res.MainChain {
			r.tb.Fatalf("branch block %d of %d joined the best chain early", i+1, depth+1)
		}
	}
	if !res.Reorg || res.Detached != depth || res.Attached != depth+1 {
		r.tb.Fatalf("fork of depth %d: %+v", depth, res)
	}
	if r.a.Chain.Tip().Hash != r.b.Chain.Tip().Hash {
		r.tb.Fatal("after the reorganisation the tip is not the branch's")
	}
}

// build makes a solved workload block on a's tip without processing it.
func (r *crashRig) build() *chain.Block {
	e := r.a
	e.Clock.Advance(time.Duration(r.rng.IntN(400)) * time.Millisecond)
	txs := r.wa.Txs(e)
	e.Clock.Advance(e.Chain.Params().TargetBlockTime)
	blk, err := e.Chain.NewBlockTemplate(r.wa.Miner, txs, nil)
	if err != nil {
		r.tb.Fatal(err)
	}
	chaintest.Solve(r.tb, blk)
	return blk
}

// submit processes blk on a, bracketed by the hooks.
func (r *crashRig) submit(kind string, blk *chain.Block) *chain.ProcessResult {
	r.before(kind, blk)
	res, err := r.a.Chain.ProcessBlock(blk)
	if err != nil {
		r.tb.Fatalf("%s block %d: %v", kind, blk.Header.Height, err)
	}
	r.blocks++
	if res.Reorg {
		r.reorgs++
	}
	r.after(r.a.Chain.Tip())
	if kind == kindMine && !res.MainChain {
		r.tb.Fatalf("mined block %d did not join the best chain", blk.Header.Height)
	}
	return res
}

// mirror gives a's new tip block to b.
func (r *crashRig) mirror(blk *chain.Block) {
	if t := time.UnixMilli(blk.Header.Timestamp); r.b.Clock.Now().Before(t) {
		r.b.Clock.Set(t)
	}
	res, err := r.b.Chain.ProcessBlock(blk)
	if err != nil || !res.MainChain {
		r.tb.Fatalf("mirroring block %d: %+v %v", blk.Header.Height, res, err)
	}
}

// blockRef names a block.
type blockRef struct {
	Hash   keys.Hash
	Height uint64
}

func (b blockRef) String() string { return fmt.Sprintf("%d/%s", b.Height, b.Hash.String()[:12]) }

// crashPoint is what the rig was doing when it died: the tip after the
// last ProcessBlock that returned (and how many blocks and reorganisations
// had been processed by then), and the block being processed, if any.
type crashPoint struct {
	LastDone       blockRef
	Blocks, Reorgs int
	Kind           string // of the call in flight; "" between calls
	InFlight       blockRef
}

func (p crashPoint) where() string {
	switch p.Kind {
	case "":
		return "between blocks"
	case kindMine:
		return "mid-mining (connecting a block)"
	case kindSide:
		return "mid-branch (storing a side block)"
	default:
		return "mid-reorg"
	}
}

// checkRecovered checks a chain reopened after a crash at p: it is valid,
// it kept every block processed before the crash, its tip is the heaviest
// block it stores that it was given, its indexes agree with its blocks,
// its state is that of a replay of its best chain from genesis, and it
// mines on.
func checkRecovered(t *testing.T, e *chaintest.Env, p crashPoint) {
	t.Helper()
	c := e.Chain
	if err := c.CheckInvariants(); err != nil {
		t.Fatalf("invariants after the crash: %v", err)
	}
	tip := c.Tip()
	got := blockRef{tip.Hash, tip.Height}
	if got != p.LastDone && (p.Kind == "" || got != p.InFlight) {
		t.Fatalf("recovered tip %s; the last block processed left %s (in flight: %s %s)", got, p.LastDone, p.Kind, p.InFlight)
	}
	if p.Kind != "" && p.InFlight.Height > p.LastDone.Height {
		if _, err := c.BlockByHash(p.InFlight.Hash); err == nil && got != p.InFlight {
			t.Fatalf("the store has block %s, heavier than the recovered tip %s", p.InFlight, got)
		}
	}
	// The height and transaction indexes describe exactly the best chain.
	prev := c.GenesisHash()
	for h := uint64(1); h <= tip.Height; h++ {
		blk, err := c.BlockByHeight(h)
		if err != nil {
			t.Fatalf("best-chain block %d: %v", h, err)
		}
		if blk.Header.PrevHash != prev {
			t.Fatalf("best-chain block %d does not follow block %d", h, h-1)
		}
		prev = blk.Hash()
		for i, tx := range blk.Txs {
			if _, loc, err := c.Tx(tx.ID()); err != nil || loc.Block != prev || loc.Index != i {
				t.Fatalf("transaction %d of block %d indexed at %+v (%v)", i, h, loc, err)
			}
		}
	}
	if prev != tip.Hash {
		t.Fatal("the height index does not end at the tip")
	}
	if _, err := c.HashAtHeight(tip.Height + 1); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("a height index entry above the tip (%v)", err)
	}
	r := chaintest.OpenMem(t, nil)
	r.Replay(c, 1, tip.Height)
	if r.Digest() != e.Digest() {
		t.Fatalf("state at %s differs from a replay from genesis", got)
	}
	// It carries on: a workload block on the recovered tip.
	if ts := time.UnixMilli(tip.Timestamp); e.Clock.Now().Before(ts) {
		e.Clock.Set(ts)
	}
	w := chaintest.NewWorkload(tip.Height, 6)
	blk := w.Step(e)
	if c.Tip().Hash != blk.Hash() {
		t.Fatal("the block mined after recovery did not join the best chain")
	}
	if err := c.CheckInvariants(); err != nil {
		t.Fatalf("invariants after mining on: %v", err)
	}
	r.Replay(c, tip.Height+1, tip.Height+1)
	if r.Digest() != e.Digest() {
		t.Fatal("state after mining on differs from the replay's")
	}
}

// reopenAfterCrash opens the crashed store, saying whether opening it
// finished a reorganisation.
func reopenAfterCrash(t *testing.T, configure func(o *chain.Options)) (*chaintest.Env, string) {
	t.Helper()
	var log bytes.Buffer
	e := chaintest.Open(t, func(o *chain.Options) {
		configure(o)
		o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	if strings.Contains(log.String(), "reorganised") {
		return e, ", finishing the reorganisation on opening"
	}
	return e, ""
}

// crashTally counts where trials died.
type crashTally struct {
	mu     sync.Mutex
	where  map[string]int
	blocks int
	reorgs int
	tipped int // recovered to the in-flight block
	opened int // reorganised on opening
}

func (c *crashTally) add(p crashPoint, tip blockRef, finished string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.where == nil {
		c.where = map[string]int{}
	}
	c.where[p.where()]++
	c.blocks += p.Blocks
	c.reorgs += p.Reorgs
	if p.Kind != "" && tip == p.InFlight {
		c.tipped++
	}
	if finished != "" {
		c.opened++
	}
}

func (c *crashTally) log(t *testing.T, trials int, start time.Time) {
	t.Logf("%d trials in %v: %v; %d recovered with the in-flight block (%d by finishing its reorganisation on opening); %d blocks and %d reorganisations processed before the crashes",
		trials, time.Since(start).Round(time.Millisecond), c.where, c.tipped, c.opened, c.blocks, c.reorgs)
}

// TestCrashChild is the process TestCrashSIGKILL kills: it runs the rig
// on the store in $DNA_CRASH_CHILD until killed (or two minutes pass),
// logging each ProcessBlock call to the progress file there.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("run by TestCrashSIGKILL")
	}
	seed, err := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// One write(2) a line: the kernel keeps it when the process dies.
	logf, err := os.OpenFile(filepath.Join(dir, "progress"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a := chaintest.Open(t, func(o *chain.Options) { o.Dir = filepath.Join(dir, "chain") })
	rig := newCrashRig(t, seed, a)
	line := func(s string) {
		if _, err := logf.WriteString(s + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	done := func(tip chain.TipInfo) {
		line(fmt.Sprintf("D %s %d %d %d", hex.EncodeToString(tip.Hash[:]), tip.Height, rig.blocks, rig.reorgs))
	}
	rig.before = func(kind string, blk *chain.Block) {
		h := blk.Hash()
		line(fmt.Sprintf("P %s %s %d", kind, hex.EncodeToString(h[:]), blk.Header.Height))
		if kind == kindReorg {
			fmt.Println(kindReorg) // for a parent aiming at a reorganisation
		}
	}
	rig.after = done
	done(a.Chain.Tip())
	fmt.Println("crash child ready")
	rig.fund()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		rig.round()
	}
	t.Error("not killed within two minutes")
}

// readProgress reads the child's progress file: where it died.
func readProgress(t *testing.T, path string) (p crashPoint) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(hash, height string) blockRef {
		var r blockRef
		h, err := hex.DecodeString(hash)
		if err != nil || len(h) != len(r.Hash) {
			t.Fatalf("progress: hash %q", hash)
		}
		copy(r.Hash[:], h)
		if r.Height, err = strconv.ParseUint(height, 10, 64); err != nil {
			t.Fatalf("progress: height %q", height)
		}
		return r
	}
	lines := strings.Split(string(raw), "\n")
	lines = lines[:len(lines)-1] // complete lines only
	seenDone := false
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 4 && f[0] == "P":
			p.Kind, p.InFlight = f[1], ref(f[2], f[3])
		case len(f) == 5 && f[0] == "D":
			p.LastDone, p.Kind, p.InFlight = ref(f[1], f[2]), "", blockRef{}
			p.Blocks, _ = strconv.Atoi(f[3])
			p.Reorgs, _ = strconv.Atoi(f[4])
			seenDone = true
		default:
			t.Fatalf("progress: line %q", l)
		}
	}
	if !seenDone {
		t.Fatal("progress: no tip recorded")
	}
	return p
}

// A process killed with SIGKILL at a random moment while mining and
// reorganising reopens to a valid chain with the state of a replay. Half
// the trials kill it 50..1500 ms after it starts mining; the other half
// aim at a reorganisation (a short time mostly spent in one), killing it
// 0..3 ms after it starts processing the block that causes its k-th one,
// for a random k in 1..25.
func TestCrashSIGKILL(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1", "ios", "android":
		t.Skipf("no SIGKILL of a child test process on %s", runtime.GOOS)
	}
	trials, seed := crashTrials(t), crashSeed(t)
	t.Logf("%d trials from seed %d (%s=%d to repeat)", trials, seed, crashSeedEnv, seed)
	var tally crashTally
	start := time.Now()
	for i := 0; i < trials; i++ {
		s := seed + uint64(i)
		t.Run(fmt.Sprintf("trial=%d", i), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(s, 2))
			delay := time.Duration(50+rng.IntN(1450)) * time.Millisecond
			aim := 0 // the reorganisation to kill it in, if any
			if rng.IntN(2) == 1 {
				aim, delay = 1+rng.IntN(25), time.Duration(rng.IntN(3000))*time.Microsecond
			}
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			// The child's own temporary directories land in dir too:
			// nothing of it outlives the test.
			cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashSeedEnv+"="+strconv.FormatUint(s, 10), "TMPDIR="+dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var stdout bytes.Buffer
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != "crash child ready" {
				stdout.WriteString(sc.Text() + "\n")
			}
			drained, aimed := make(chan struct{}), make(chan struct{})
			go func() {
				reorgs := 0
				for sc.Scan() {
					if sc.Text() == kindReorg {
						if reorgs++; reorgs == aim {
							close(aimed)
						}
						continue
					}
					stdout.WriteString(sc.Text() + "\n")
				}
				close(drained)
			}()
			exited := make(chan error, 1)
			go func() { <-drained; exited <- cmd.Wait() }()
			when := fmt.Sprintf("%v after it started mining", delay)
			if aim > 0 {
				when = fmt.Sprintf("%v into the block causing reorganisation %d", delay, aim)
				select {
				case err := <-exited:
					t.Fatalf("seed %d: the child exited by itself (%v):\n%s%s", s, err, stdout.String(), stderr.String())
				case <-aimed:
				}
			}
			select {
			case err := <-exited:
				t.Fatalf("seed %d: the child exited by itself (%v):\n%s%s", s, err, stdout.String(), stderr.String())
			case <-time.After(delay):
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("seed %d: the child ended with %v, not by SIGKILL:\n%s%s", s, err, stdout.String(), stderr.String())
			}

			p := readProgress(t, filepath.Join(dir, "progress"))
			e, finished := reopenAfterCrash(t, func(o *chain.Options) { o.Dir = filepath.Join(dir, "chain") })
			tip := e.Chain.Tip()
			t.Logf("seed %d: killed %s, %s (in flight: %s %s), %d blocks and %d reorganisations done; reopened at %d%s",
				s, when, p.where(), p.Kind, p.InFlight, p.Blocks, p.Reorgs, tip.Height, finished)
			checkRecovered(t, e, p)
			tally.add(p, blockRef{tip.Hash, tip.Height}, finished)
		})
	}
	tally.log(t, trials, start)
}

// powerCut is an errorfs injector that, before the n-th write operation
// once armed, clones the file system as a power cut would leave it.
type powerCut struct {
	mem     *vfs.MemFS
	rng     *rand.Rand
	mu      sync.Mutex
	armed   bool
	n       int        // write operations left before the cut
	only    string     // count only writes in ProcessBlock calls of this kind
	point   crashPoint // now
	at      crashPoint // at the cut
	crashed *vfs.MemFS
	percent int
	op      errorfs.Op
}

func (pc *powerCut) String() string { return "power cut" }

func (pc *powerCut) MaybeError(op errorfs.Op) error {
	if op.Kind.ReadOrWrite() != errorfs.OpIsWrite {
		return nil
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if !pc.armed || pc.crashed != nil || pc.only != "" && pc.point.Kind != pc.only {
		return nil
	}
	if pc.n--; pc.n > 0 {
		return nil
	}
	pc.op, pc.at = op, pc.point
	cfg := vfs.CrashCloneCfg{}
	if pc.rng.IntN(4) > 0 {
		// Some unsynced writes reached the disk.
		cfg.UnsyncedDataPercent, cfg.RNG = pc.rng.IntN(101), pc.rng
	}
	pc.percent = cfg.UnsyncedDataPercent
	pc.crashed = pc.mem.CrashClone(cfg)
	return nil
}

func (pc *powerCut) state(f func(p *crashPoint)) {
	pc.mu.Lock()
	f(&pc.point)
	pc.mu.Unlock()
}

// Power lost at a random file-system write while mining and
// reorganising: the store reopens from what was synced (and a random share
// of what was not) to a valid chain with the state of a replay, keeping
// every block whose processing had returned.
func TestCrashPowerLoss(t *testing.T) {
	trials, seed := crashTrials(t), crashSeed(t)
	t.Logf("%d trials from seed %d (%s=%d to repeat)", trials, seed, crashSeedEnv, seed)
	var tally crashTally
	start := time.Now()
	for i := 0; i < trials; i++ {
		s := seed + uint64(i)
		t.Run(fmt.Sprintf("trial=%d", i), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(s, 3))
			pc := &powerCut{mem: vfs.NewCrashableMem(), rng: rng, n: 1 + rng.IntN(1500)}
			if rng.IntN(2) == 1 {
				pc.only, pc.n = kindReorg, 1+rng.IntN(60)
			}
			when := fmt.Sprintf("write %d", pc.n)
			if pc.only != "" {
				when = fmt.Sprintf("write %d within reorganising calls", pc.n)
			}
			a := chaintest.Open(t, func(o *chain.Options) {
				o.FS = errorfs.Wrap(pc.mem, pc)
				o.Dir = "/chain"
			})
			rig := newCrashRig(t, s, a)
			rig.before = func(kind string, blk *chain.Block) {
				pc.state(func(p *crashPoint) { p.Kind, p.InFlight = kind, blockRef{blk.Hash(), blk.Header.Height} })
			}
			rig.after = func(tip chain.TipInfo) {
				pc.state(func(p *crashPoint) {
					p.LastDone, p.Kind, p.InFlight = blockRef{tip.Hash, tip.Height}, "", blockRef{}
					p.Blocks, p.Reorgs = rig.blocks, rig.reorgs
				})
			}
			tip := a.Chain.Tip()
			pc.point.LastDone = blockRef{tip.Hash, tip.Height}
			rig.fund()
			pc.mu.Lock()
			pc.armed = true
			pc.mu.Unlock()
			for rounds := 0; ; rounds++ {
				pc.mu.Lock()
				cut := pc.crashed != nil
				pc.mu.Unlock()
				if cut {
					break
				}
				if rounds == 10_000 {
					t.Fatal("no power cut")
				}
				rig.round()
			}
			pc.mu.Lock()
			p, crashed, op, percent := pc.at, pc.crashed, pc.op, pc.percent
			pc.mu.Unlock()
			a.Chain.Close()

			e, finished := reopenAfterCrash(t, func(o *chain.Options) {
				o.FS = crashed
				o.Dir = "/chain"
			})
			got := e.Chain.Tip()
			t.Logf("seed %d: power cut before %s (%s %s), %d%% of unsynced data kept, %s (in flight: %s %s), %d blocks and %d reorganisations done; reopened at %d%s",
				s, when, opName(op.Kind), filepath.Base(op.Path), percent, p.where(), p.Kind, p.InFlight, p.Blocks, p.Reorgs, got.Height, finished)
			checkRecovered(t, e, p)
			tally.add(p, blockRef{got.Hash, got.Height}, finished)
		})
	}
	tally.log(t, trials, start)
}

func opName(k errorfs.OpKind) string {
	switch k {
	case errorfs.OpCreate:
		return "create"
	case errorfs.OpLink:
		return "link"
	case errorfs.OpRemove, errorfs.OpRemoveAll:
		return "remove"
	case errorfs.OpRename:
		return "rename"
	case errorfs.OpReuseForWrite:
		return "reuse"
	case errorfs.OpMkdirAll:
		return "mkdir"
	case errorfs.OpLock:
		return "lock"
	case errorfs.OpFileClose:
		return "close"
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		return "write"
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return "sync"
	case errorfs.OpFileFlush:
		return "flush"
	case errorfs.OpFilePreallocate:
		return "preallocate"
	}
	return fmt.Sprint(int(k))
}
