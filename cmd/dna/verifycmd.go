package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/runtime"
)

func cmdVerify(args []string, out, errOut io.Writer) error {
	fs := newFlags("verify", errOut)
	claimPath := fs.String("claim", "", "claim file: what `dna run --json` printed")
	mode := fs.String("mode", "full", "full (every position and the digest) or rastic (spot checks)")
	samples := fs.Int("samples", verify.DefaultSamples, "RASTiC: interior positions to recompute")
	seed := fs.Uint64("seed", 0, "RASTiC: seed choosing the positions (0: a fresh random seed)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	engine := fs.String("engine", "wazero", "WebAssembly engine: "+engineNames())
	noCache := fs.Bool("no-cache", false, "do not use the on-disk compilation cache")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *claimPath == "" {
		return usagef("dna verify B.dna --claim CLAIM.json [--mode rastic|full] [--samples K] [--json]")
	}
	m, err := verify.ParseMode(*mode)
	if err != nil {
		return usagef("%v", err)
	}
	eng, err := runtime.ParseEngine(*engine)
	if err != nil {
		return usagef("%v", err)
	}
	raw, err := readLimited(*claimPath, verify.MaxClaimBytes)
	if err != nil {
		return usagef("%v", err)
	}
	claim, err := verify.ParseClaim(raw)
	if err != nil {
		return usagef("%s: %v", *claimPath, err)
	}
	if *seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		*seed = binary.LittleEndian.Uint64(b[:])
	}
	b, err := bundle.ReadFile(pos[0], bundle.ReadOptions{})
	if err != nil {
		return usagef("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rt, err := runtime.New(ctx, runtime.Config{Engine: eng, NoDiskCache: *noCache})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	md, err := rt.Load(ctx, b)
	if err != nil {
		return err
	}
	defer md.Close(ctx)
	rep, err := verify.New(md).Verify(ctx, claim, verify.Options{Mode: m, Samples: *samples, Seed: *seed})
	if errors.Is(err, verify.ErrBundle) || errors.Is(err, verify.ErrJob) || errors.Is(err, verify.ErrClaim) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out, rep)
	}
	if !rep.Valid {
		return errFailed
	}
	return nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
