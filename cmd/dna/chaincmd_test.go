package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A devnet user's path: make a wallet, mine, send, confirm, look it up.
func TestWalletAndChainCommands(t *testing.T) {
	dir := setup(t)
	t.Setenv("DNA_DATADIR", filepath.Join(dir, "data"))
	t.Setenv("DNA_NET", "devnet")
	t.Setenv("DNA_WALLET", "")
	t.Setenv("DNA_WALLET_PASSPHRASE", "correct horse")
	alice := strings.Fields(mustDNA(t, "wallet", "new", "--light-kdf", "--name", "alice"))[1]
	bob := strings.Fields(mustDNA(t, "wallet", "new", "--name", "bob"))[1]
	if got := strings.TrimSpace(mustDNA(t, "wallet", "address")); got != alice {
		t.Fatalf("default address %q, want alice's %q", got, alice)
	}
	mustDNA(t, "chain", "mine", "-n", "3")
	if out := mustDNA(t, "wallet", "balance", alice); !strings.Contains(out, " 150 ") {
		t.Fatalf("after mining 3 blocks: %s", out)
	}
	txFile := filepath.Join(dir, "tx.hex")
	mustDNA(t, "wallet", "send", "--to", bob, "--amount", "12.5", "--fee", "0.001", "-o", txFile)
	// Too much is refused before anything is written.
	if code, _, errOut := dna(t, "wallet", "send", "--to", bob, "--amount", "1000"); code == 0 || !strings.Contains(errOut, "ErrInsufficientFunds") {
		t.Fatalf("overspend: %d %s", code, errOut)
	}
	mine := mustDNA(t, "chain", "mine", "--tx", txFile, "--to", bob)
	if !strings.Contains(mine, "block 4") || !strings.Contains(mine, "2 transactions") {
		t.Fatalf("mine: %s", mine)
	}
	if out := mustDNA(t, "wallet", "balance"); !strings.Contains(out, "137.499") || !strings.Contains(out, "62.501") {
		t.Fatalf("balances after the transfer:\n%s", out)
	}
	blk := mustDNA(t, "chain", "block", "4")
	i := strings.Index(blk, "tx 1")
	if i < 0 {
		t.Fatalf("block 4:\n%s", blk)
	}
	id := strings.Fields(blk[i:])[2]
	if out := mustDNA(t, "chain", "tx", id); !strings.Contains(out, "transfer 12.5") || !strings.Contains(out, "1 confirmations") {
		t.Fatalf("tx:\n%s", out)
	}
	if out := mustDNA(t, "chain", "tip"); !strings.Contains(out, "height   4") {
		t.Fatalf("tip:\n%s", out)
	}
	// A wrong passphrase opens nothing.
	t.Setenv("DNA_WALLET_PASSPHRASE", "wrong")
	if code, _, errOut := dna(t, "wallet", "address"); code == 0 || !strings.Contains(errOut, "passphrase") {
		t.Fatalf("wrong passphrase: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "wallet.dat")); err != nil {
		t.Fatal(err)
	}
	// Mainnet blocks are not mined locally.
	if code, _, _ := dna(t, "chain", "mine", "--net", "mainnet", "--to", alice); code != 2 {
		t.Fatalf("mainnet mining exit %d", code)
	}
}

func TestAmounts(t *testing.T) {
	for in, want := range map[string]uint64{"1": 100000000, "1.5": 150000000, "0.00000001": 1, "150u": 150, ".5": 50000000} {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1.000000001", "-1", "abc", "1e3", "184467440738"} {
		if _, err := parseAmount(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s := formatAmount(150000001); s != "1.50000001" {
		t.Errorf("format %s", s)
	}
}
