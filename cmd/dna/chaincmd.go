package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/keys"
)

// chainFlags are the flags every chain and wallet command takes.
type chainFlags struct {
	net     *string
	datadir *string
}

func addChainFlags(fs *flag.FlagSet) chainFlags {
	return chainFlags{
		net:     fs.String("net", envOr("DNA_NET", "devnet"), "network: devnet, testnet or mainnet ($DNA_NET)"),
		datadir: fs.String("datadir", os.Getenv("DNA_DATADIR"), "data directory (default: the user data dir's dnahost/NET; $DNA_DATADIR)"),
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (f chainFlags) params() (*chain.Params, error) {
	p, ok := chain.ParamsByName(*f.net)
	if !ok {
		return nil, usagef("unknown network %q (devnet, testnet, mainnet)", *f.net)
	}
	return p, nil
}

// dir is the network's data directory.
func (f chainFlags) dir() (string, error) {
	if *f.datadir != "" {
		return *f.datadir, nil
	}
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --datadir and no home directory: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "dnahost", *f.net), nil
}

// open opens the network's chain store.
func (f chainFlags) open() (*chain.Chain, error) {
	p, err := f.params()
	if err != nil {
		return nil, err
	}
	dir, err := f.dir()
	if err != nil {
		return nil, err
	}
	c, err := chain.Open(chain.Options{Params: p, Dir: filepath.Join(dir, "chain")})
	if err != nil && strings.Contains(err.Error(), "lock") {
		return nil, fmt.Errorf("%w (is a dnahost node using %s?)", err, dir)
	}
	return c, err
}

func cmdChain(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usagef("dna chain tip|block|tx|job|jobs|mine ...")
	}
	switch args[0] {
	case "tip":
		return chainTip(args[1:], out, errOut)
	case "block":
		return chainBlock(args[1:], out, errOut)
	case "tx":
		return chainTx(args[1:], out, errOut)
	case "job":
		return chainJob(args[1:], out, errOut)
	case "jobs":
		return chainJobs(args[1:], out, errOut)
	case "mine":
		return chainMine(args[1:], out, errOut)
	}
	return usagef("unknown chain command %q (tip, block, tx, job, jobs, mine)", args[0])
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatAmount writes base units as coins with up to 8 decimals.
func formatAmount(v uint64) string {
	s := fmt.Sprintf("%d.%08d", v/chain.Coin, v%chain.Coin)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// parseAmount reads coins ("1.5") or base units with a "u" suffix ("150u").
func parseAmount(s string) (uint64, error) {
	if u, ok := strings.CutSuffix(s, "u"); ok {
		return strconv.ParseUint(u, 10, 64)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 8 || whole == "" && frac == "" {
		return 0, fmt.Errorf("amount %q: at most 8 decimals", s)
	}
	w, err := strconv.ParseUint(strings.TrimPrefix(whole, "+"), 10, 64)
	if whole == "" {
		w, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("amount %q: %v", s, err)
	}
	f := uint64(0)
	if frac != "" {
		f, err = strconv.ParseUint(frac+strings.Repeat("0", 8-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("amount %q: %v", s, err)
		}
	}
	if w > (^uint64(0)-f)/chain.Coin {
		return 0, fmt.Errorf("amount %q too large", s)
	}
	return w*chain.Coin + f, nil
}

func chainTip(args []string, out, errOut io.Writer) error {
	fs := newFlags("chain tip", errOut)
	cf := addChainFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	tip := c.Tip()
	sp, err := c.Supply()
	if err != nil {
		return err
	}
	jobs, err := c.JobCounts()
	if err != nil {
		return err
	}
	byName := map[string]int{}
	for s, n := range jobs {
		byName[s.String()] = n
	}
	if *asJSON {
		return printJSON(out, map[string]any{"network": c.Params().Name, "height": tip.Height, "hash": tip.Hash.String(),
			"time": time.UnixMilli(tip.Timestamp).UTC(), "bits": fmt.Sprintf("%08x", tip.Bits), "work": tip.Work.String(),
			"minted": sp.Minted, "burned": sp.Burned, "jobs": byName})
	}
	fmt.Fprintf(out, "network  %s\n", c.Params().Name)
	fmt.Fprintf(out, "height   %d\n", tip.Height)
	fmt.Fprintf(out, "hash     %s\n", tip.Hash)
	fmt.Fprintf(out, "time     %s (chain time %s)\n", time.UnixMilli(tip.Timestamp).UTC().Format(time.RFC3339Nano),
		time.UnixMilli(tip.MedianTime).UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "target   %08x (work %s)\n", tip.Bits, tip.Work)
	fmt.Fprintf(out, "supply   %s minted, %s burned\n", formatAmount(sp.Minted), formatAmount(sp.Burned))
	var parts []string
	for _, k := range sortedKeys(byName) {
		parts = append(parts, fmt.Sprintf("%s %d", k, byName[k]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(out, "jobs     %s\n", strings.Join(parts, ", "))
	return nil
}

func parseHash(s string) (keys.Hash, error) {
	h, err := keys.ParseHash(s)
	if err != nil {
		return h, usagef("%q is not a 64-digit hex hash", s)
	}
	return h, nil
}

func chainBlock(args []string, out, errOut io.Writer) error {
	fs := newFlags("chain block", errOut)
	cf := addChainFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna chain block HEIGHT|HASH [--json]")
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	var b *chain.Block
	if h, perr := strconv.ParseUint(pos[0], 10, 64); perr == nil {
		b, err = c.BlockByHeight(h)
	} else {
		hash, herr := parseHash(pos[0])
		if herr != nil {
			return herr
		}
		b, err = c.BlockByHash(hash)
	}
	if err != nil {
		return err
	}
	v := blockJSON(c.Params(), b)
	if *asJSON {
		return printJSON(out, v)
	}
	fmt.Fprintf(out, "block    %s\nheight   %d\nprevious %s\nmerkle   %s\ntime     %s\ntarget   %08x\nnonce    %d\n",
		b.Hash(), b.Header.Height, b.Header.PrevHash, b.Header.MerkleRoot,
		time.UnixMilli(b.Header.Timestamp).UTC().Format(time.RFC3339Nano), b.Header.Bits, b.Header.Nonce)
	for i, tx := range b.Txs {
		fmt.Fprintf(out, "tx %-4d  %s %s\n", i, tx.ID(), describeTx(c.Params(), tx))
	}
	return nil
}

func blockJSON(p *chain.Params, b *chain.Block) map[string]any {
	var txs []any
	for _, tx := range b.Txs {
		txs = append(txs, txJSON(p, tx))
	}
	return map[string]any{"hash": b.Hash().String(), "height": b.Header.Height, "previous": b.Header.PrevHash.String(),
		"merkle_root": b.Header.MerkleRoot.String(), "timestamp": b.Header.Timestamp, "bits": fmt.Sprintf("%08x", b.Header.Bits),
		"nonce": b.Header.Nonce, "txs": txs}
}

// describeTx is one line about a transaction.
func describeTx(p *chain.Params, tx *chain.Tx) string {
	if tx.Type == chain.TxCoinbase {
		cb, err := chain.DecodeCoinbase(tx.Payload)
		if err != nil {
			return "coinbase (undecodable)"
		}
		return fmt.Sprintf("coinbase %s to %s", formatAmount(cb.Amount), cb.To.Encode(p.AddressVersion))
	}
	from := tx.Sender().Encode(p.AddressVersion)
	body, err := tx.Body()
	if err != nil {
		return tx.Type.String() + " (undecodable)"
	}
	job := tx.JobID.String()[:16]
	switch b := body.(type) {
	case *chain.Transfer:
		return fmt.Sprintf("transfer %s from %s to %s (fee %s)", formatAmount(b.Amount), from, b.To.Encode(p.AddressVersion), formatAmount(tx.Fee))
	case *chain.JobEscrow:
		return fmt.Sprintf("job %s by %s: reward %s, %d nodes", job, from, formatAmount(b.Reward), b.Replication)
	case *chain.Stake:
		return fmt.Sprintf("stake %s on job %s by %s", formatAmount(b.Amount), job, from)
	case *chain.Result:
		return fmt.Sprintf("result %s of job %s, %d agreeing", b.ResultHash.String()[:16], job, len(b.Agree))
	case *chain.Dispute:
		return fmt.Sprintf("dispute of job %s by %s", job, from)
	}
	return tx.Type.String()
}

func txJSON(p *chain.Params, tx *chain.Tx) map[string]any {
	v := map[string]any{"id": tx.ID().String(), "type": tx.Type.String(), "summary": describeTx(p, tx)}
	if tx.Type != chain.TxCoinbase {
		v["from"] = tx.Sender().Encode(p.AddressVersion)
		v["nonce"], v["fee"] = tx.Nonce, tx.Fee
		if !tx.JobID.IsZero() {
			v["job"] = tx.JobID.String()
		}
	}
	if tx.Type == chain.TxCoinbase {
		if cb, err := chain.DecodeCoinbase(tx.Payload); err == nil {
			v["body"] = cb
		}
	} else if body, err := tx.Body(); err == nil {
		v["body"] = body
	}
	return v
}

func chainTx(args []string, out, errOut io.Writer) error {
	fs := newFlags("chain tx", errOut)
	cf := addChainFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna chain tx ID [--json]")
	}
	id, err := parseHash(pos[0])
	if err != nil {
		return err
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	tx, loc, err := c.Tx(id)
	if err != nil {
		return err
	}
	if *asJSON {
		v := txJSON(c.Params(), tx)
		v["block"], v["height"], v["index"] = loc.Block.String(), loc.Height, loc.Index
		v["confirmations"] = c.Tip().Height - loc.Height + 1
		return printJSON(out, v)
	}
	fmt.Fprintf(out, "tx       %s\n%s\nin block %d (%s) at %d, %d confirmations\n", id, describeTx(c.Params(), tx),
		loc.Height, loc.Block, loc.Index, c.Tip().Height-loc.Height+1)
	return nil
}

func jobJSON(p *chain.Params, j *chain.Job) map[string]any {
	var stakes []any
	for _, s := range j.Stakes {
		stakes = append(stakes, map[string]any{"node": s.Node.Encode(p.AddressVersion), "amount": s.Amount})
	}
	var agree []string
	for _, a := range j.Agree {
		agree = append(agree, a.Encode(p.AddressVersion))
	}
	v := map[string]any{"id": j.ID.String(), "state": j.State.String(), "client": j.Client.Encode(p.AddressVersion),
		"bundle": j.BundleRoot.String(), "reward": j.Reward, "replication": j.Replication, "min_stake": j.MinStake,
		"deadline": j.Deadline, "created_at": j.CreatedAt, "stakes": stakes}
	if j.State >= chain.JobCompleted && !j.ResultTx.IsZero() {
		v["result"] = j.ResultHash.String()
		v["result_tx"] = j.ResultTx.String()
		v["agree"] = agree
		v["settle_at"] = j.SettleAt
	}
	return v
}

func chainJob(args []string, out, errOut io.Writer) error {
	fs := newFlags("chain job", errOut)
	cf := addChainFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna chain job ID [--json]")
	}
	id, err := parseHash(pos[0])
	if err != nil {
		return err
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	j, err := c.Job(id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(out, jobJSON(c.Params(), j))
	}
	printJob(out, c.Params(), j)
	return nil
}

func printJob(out io.Writer, p *chain.Params, j *chain.Job) {
	fmt.Fprintf(out, "job      %s (%s)\n", j.ID, j.State)
	fmt.Fprintf(out, "client   %s\nbundle   %s\nreward   %s for %d nodes, stake at least %s\n", j.Client.Encode(p.AddressVersion),
		j.BundleRoot, formatAmount(j.Reward), j.Replication, formatAmount(j.MinStake))
	fmt.Fprintf(out, "deadline %s\n", time.UnixMilli(j.Deadline).UTC().Format(time.RFC3339))
	for _, s := range j.Stakes {
		fmt.Fprintf(out, "stake    %s by %s\n", formatAmount(s.Amount), s.Node.Encode(p.AddressVersion))
	}
	if j.State >= chain.JobCompleted && !j.ResultTx.IsZero() {
		fmt.Fprintf(out, "result   %s (tx %s), %d agreeing; dispute window until %s\n", j.ResultHash, j.ResultTx, len(j.Agree),
			time.UnixMilli(j.SettleAt).UTC().Format(time.RFC3339))
	}
}

func chainJobs(args []string, out, errOut io.Writer) error {
	fs := newFlags("chain jobs", errOut)
	cf := addChainFlags(fs)
	max := fs.Int("n", 50, "list at most this many")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	jobs := c.OpenJobs(*max)
	if *asJSON {
		var v []any
		for _, j := range jobs {
			v = append(v, jobJSON(c.Params(), j))
		}
		return printJSON(out, v)
	}
	for _, j := range jobs {
		fmt.Fprintf(out, "%s  %-9s reward %s, %d/%d staked\n", j.ID, j.State, formatAmount(j.Reward), len(j.Stakes), j.Replication)
	}
	return nil
}

// chainMine mines blocks locally (devnet and testnet): the way to get coins
// and confirm transactions without a network.
func chainMine(args []string, out, errOut io.Writer) error {
	fs := newFlags("chain mine", errOut)
	cf := addChainFlags(fs)
	to := fs.String("to", "", "address paid the coinbase (default: the wallet's default key)")
	n := fs.Int("n", 1, "blocks to mine")
	var txFiles multiFlag
	fs.Var(&txFiles, "tx", "include the signed transaction in this file (hex, from 'dna wallet send -o'); repeatable")
	wf := addWalletFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	p, err := cf.params()
	if err != nil {
		return err
	}
	if p.Name == "mainnet" {
		return usagef("local mining is for devnet and testnet; mainnet blocks come from the network")
	}
	var addr keys.Address
	if *to != "" {
		if addr, err = keys.ParseAddress(*to, p.AddressVersion); err != nil {
			return err
		}
	} else {
		w, err := wf.open(cf, errOut)
		if err != nil {
			return fmt.Errorf("%w (or give --to ADDRESS)", err)
		}
		k, err := w.Key("")
		w.Close()
		if err != nil {
			return err
		}
		addr = k.Public().Address()
	}
	var txs []*chain.Tx
	for _, f := range txFiles {
		tx, err := readTxFile(f)
		if err != nil {
			return err
		}
		txs = append(txs, tx)
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, tx := range txs {
		if err := c.CheckTx(tx); err != nil {
			return fmt.Errorf("transaction %s does not apply: %w", tx.ID().String()[:16], err)
		}
	}
	pool := chain.NewMempool(c, chain.MempoolConfig{MinFeeRate: 1})
	for _, tx := range txs {
		if err := pool.Add(tx); err != nil {
			return fmt.Errorf("transaction %s: %w", tx.ID().String()[:16], err)
		}
	}
	m := &chain.Miner{Chain: c, Pool: pool, To: addr, Extra: []byte("dna chain mine")}
	for i := 0; i < *n; i++ {
		start := time.Now()
		b, err := m.MineBlock(context.Background())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "block %d %s (%d transactions, %v)\n", b.Header.Height, b.Hash(), len(b.Txs), time.Since(start).Round(time.Millisecond))
	}
	if pool.Len() > 0 {
		return fmt.Errorf("%d transactions were not mined", pool.Len())
	}
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func readTxFile(path string) (*chain.Tx, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) > 1<<20 {
		return nil, fmt.Errorf("%s: %d bytes is not a transaction", path, len(raw))
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%s: not hex: %v", path, err)
	}
	tx, err := chain.DecodeTx(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tx, nil
}
