package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/chain/wallet"
	"github.com/dnahost/dnahost/keys"
)

type walletFlags struct {
	path     *string
	passFile *string
}

func addWalletFlags(fs *flag.FlagSet) walletFlags {
	return walletFlags{
		path:     fs.String("wallet", os.Getenv("DNA_WALLET"), "wallet file (default: DATADIR/wallet.dat; $DNA_WALLET)"),
		passFile: fs.String("passphrase-file", "", "read the passphrase from this file (else $DNA_WALLET_PASSPHRASE, else a prompt)"),
	}
}

func (w walletFlags) file(cf chainFlags) (string, error) {
	if *w.path != "" {
		return *w.path, nil
	}
	dir, err := cf.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "wallet.dat"), nil
}

// passphrase reads it from the file, the environment, or the terminal.
func (w walletFlags) passphrase(prompt string, errOut io.Writer) ([]byte, error) {
	if *w.passFile != "" {
		b, err := os.ReadFile(*w.passFile)
		if err != nil {
			return nil, err
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p, ok := os.LookupEnv("DNA_WALLET_PASSPHRASE"); ok {
		return []byte(p), nil
	}
	fmt.Fprint(errOut, prompt)
	defer fmt.Fprintln(errOut)
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return term.ReadPassword(int(os.Stdin.Fd()))
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

func (w walletFlags) open(cf chainFlags, errOut io.Writer) (*wallet.Wallet, error) {
	path, err := w.file(cf)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no wallet at %s: make one with 'dna wallet new'", path)
	}
	pass, err := w.passphrase("wallet passphrase: ", errOut)
	if err != nil {
		return nil, err
	}
	return wallet.Open(path, pass)
}

func cmdWallet(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usagef("dna wallet new|address|balance|send ...")
	}
	switch args[0] {
	case "new":
		return walletNew(args[1:], out, errOut)
	case "address":
		return walletAddress(args[1:], out, errOut)
	case "balance":
		return walletBalance(args[1:], out, errOut)
	case "send":
		return walletSend(args[1:], out, errOut)
	}
	return usagef("unknown wallet command %q (new, address, balance, send)", args[0])
}

// walletNew makes the wallet if there is none, and a new key in it.
func walletNew(args []string, out, errOut io.Writer) error {
	fs := newFlags("wallet new", errOut)
	cf := addChainFlags(fs)
	wf := addWalletFlags(fs)
	name := fs.String("name", "", "the key's name (default key-N)")
	light := fs.Bool("light-kdf", false, "cheap key derivation (tests and throwaway devnet wallets only)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	p, err := cf.params()
	if err != nil {
		return err
	}
	path, err := wf.file(cf)
	if err != nil {
		return err
	}
	var w *wallet.Wallet
	if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) {
		pass, err := wf.passphrase("new wallet passphrase: ", errOut)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		opts := wallet.Options{}
		if *light {
			opts = wallet.Options{Time: 1, MemoryKiB: 64, Threads: 1}
		}
		if w, err = wallet.Create(path, pass, opts); err != nil {
			return err
		}
		fmt.Fprintf(errOut, "created wallet %s\n", path)
	} else if w, err = wf.open(cf, errOut); err != nil {
		return err
	}
	defer w.Close()
	n := *name
	if n == "" {
		n = fmt.Sprintf("key-%d", len(w.Names())+1)
	}
	k, err := w.NewKey(n)
	if err != nil {
		return err
	}
	if err := w.Save(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s\n", n, k.Public().Address().Encode(p.AddressVersion))
	return nil
}

func walletAddress(args []string, out, errOut io.Writer) error {
	fs := newFlags("wallet address", errOut)
	cf := addChainFlags(fs)
	wf := addWalletFlags(fs)
	name := fs.String("name", "", "the key (default: the wallet's default)")
	all := fs.Bool("all", false, "list every key")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	p, err := cf.params()
	if err != nil {
		return err
	}
	w, err := wf.open(cf, errOut)
	if err != nil {
		return err
	}
	defer w.Close()
	names := []string{*name}
	if *all {
		names = w.Names()
	}
	for _, n := range names {
		info, err := w.Info(n)
		if err != nil {
			return err
		}
		if *all {
			mark := " "
			if info.Name == w.Default() {
				mark = "*"
			}
			fmt.Fprintf(out, "%s %-16s %s\n", mark, info.Name, info.Address.Encode(p.AddressVersion))
		} else {
			fmt.Fprintln(out, info.Address.Encode(p.AddressVersion))
		}
	}
	return nil
}

// walletBalance reads balances from the local chain store: an address
// given as an argument needs no wallet.
func walletBalance(args []string, out, errOut io.Writer) error {
	fs := newFlags("wallet balance", errOut)
	cf := addChainFlags(fs)
	wf := addWalletFlags(fs)
	name := fs.String("name", "", "the key (default: every key in the wallet)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	p, err := cf.params()
	if err != nil {
		return err
	}
	type row struct {
		name string
		addr keys.Address
	}
	var rows []row
	for _, a := range pos {
		addr, err := keys.ParseAddress(a, p.AddressVersion)
		if err != nil {
			return err
		}
		rows = append(rows, row{a, addr})
	}
	if len(pos) == 0 {
		w, err := wf.open(cf, errOut)
		if err != nil {
			return err
		}
		names := w.Names()
		if *name != "" {
			names = []string{*name}
		}
		for _, n := range names {
			info, err := w.Info(n)
			if err != nil {
				w.Close()
				return err
			}
			rows = append(rows, row{n, info.Address})
		}
		w.Close()
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	var total uint64
	for _, r := range rows {
		acc, err := c.Account(r.addr)
		if err != nil {
			return err
		}
		total += acc.Balance
		fmt.Fprintf(out, "%-16s %s %s (nonce %d)\n", r.name, r.addr.Encode(p.AddressVersion), formatAmount(acc.Balance), acc.Nonce)
	}
	if len(rows) > 1 {
		fmt.Fprintf(out, "total %s at height %d\n", formatAmount(total), c.Tip().Height)
	}
	return nil
}

// walletSend signs a transfer with the account's next nonce and checks it
// applies to the local chain's tip. It writes the transaction (hex) to -o
// or stdout: 'dna chain mine --tx' confirms it locally, and a node's API
// takes it for the network.
func walletSend(args []string, out, errOut io.Writer) error {
	fs := newFlags("wallet send", errOut)
	cf := addChainFlags(fs)
	wf := addWalletFlags(fs)
	name := fs.String("name", "", "the paying key (default: the wallet's default)")
	to := fs.String("to", "", "recipient address")
	amount := fs.String("amount", "", "coins to send (1.5) or base units (150000000u)")
	feeS := fs.String("fee", "0.00001", "fee")
	nonce := fs.Int64("nonce", -1, "nonce (default: the account's next; set it to queue several transactions)")
	outPath := fs.String("o", "", "write the signed transaction here (hex) instead of stdout")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" || *amount == "" {
		return usagef("dna wallet send --to ADDRESS --amount COINS [--fee COINS] [-o FILE]")
	}
	p, err := cf.params()
	if err != nil {
		return err
	}
	dst, err := keys.ParseAddress(*to, p.AddressVersion)
	if err != nil {
		return err
	}
	amt, err := parseAmount(*amount)
	if err != nil {
		return usagef("%v", err)
	}
	fee, err := parseAmount(*feeS)
	if err != nil {
		return usagef("%v", err)
	}
	w, err := wf.open(cf, errOut)
	if err != nil {
		return err
	}
	k, err := w.Key(*name)
	w.Close()
	if err != nil {
		return err
	}
	c, err := cf.open()
	if err != nil {
		return err
	}
	defer c.Close()
	acc, err := c.Account(k.Public().Address())
	if err != nil {
		return err
	}
	n := acc.Nonce
	if *nonce >= 0 {
		n = uint64(*nonce)
	}
	tx := &chain.Tx{Version: chain.TxVersion, Type: chain.TxTransfer, Nonce: n, Fee: fee,
		Payload: (&chain.Transfer{To: dst, Amount: amt}).Encode()}
	tx.Sign(k, c.GenesisHash())
	if *nonce < 0 {
		if err := c.CheckTx(tx); err != nil {
			return fmt.Errorf("the transfer would not apply: %w", err)
		}
	} else if err := chain.CheckTxSanity(tx, p, c.GenesisHash()); err != nil {
		return err
	}
	enc := hex.EncodeToString(tx.Encode())
	if *outPath != "" {
		if err := os.WriteFile(*outPath, []byte(enc+"\n"), 0o644); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out, enc)
	}
	fmt.Fprintf(errOut, "signed %s: %s\n", tx.ID(), describeTx(p, tx))
	return nil
}
