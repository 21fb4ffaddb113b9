package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/dnahost/dnahost/bundle"
)

func cmdBundle(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usagef("dna bundle inspect|verify|pack|unpack ...")
	}
	switch args[0] {
	case "inspect":
		return bundleInspect(args[1:], out, errOut)
	case "verify":
		return bundleVerify(args[1:], out, errOut)
	case "pack":
		return bundlePack(args[1:], out, errOut)
	case "unpack":
		return bundleUnpack(args[1:], out, errOut)
	}
	return usagef("unknown bundle command %q (inspect, verify, pack, unpack)", args[0])
}

func bundleInspect(args []string, out, errOut io.Writer) error {
	fs := newFlags("bundle inspect", errOut)
	asJSON := fs.Bool("json", false, "print the manifest and ID as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna bundle inspect B.dna [--json]")
	}
	b, err := bundle.ReadFile(pos[0], bundle.ReadOptions{})
	if err != nil {
		return err
	}
	m := b.Manifest()
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"id": b.ID().String(), "signature": fmt.Sprintf("%x", b.Signature()), "manifest": m})
	}
	fmt.Fprintf(out, "bundle   %s\n", b.ID())
	fmt.Fprintf(out, "name     %s %s (%s, ABI %d)\n", m.Name, m.Version, m.Arch, m.ABI)
	fmt.Fprintf(out, "author   %s (signature verified)\n", m.Author)
	fmt.Fprintf(out, "model    vocabulary %d, context %d, stop tokens %v\n", m.Model.VocabSize, m.Model.ContextLength, m.Model.StopTokens)
	fmt.Fprintf(out, "entry    inference %s", m.Entry.Inference)
	if m.Entry.Consensus != "" {
		fmt.Fprintf(out, ", consensus %s", m.Entry.Consensus)
	}
	fmt.Fprintf(out, "; default rule %s\n", m.Consensus.Rule)
	fmt.Fprintf(out, "needs    %d memory pages, %d tensor bytes, %d handles, %d work units/token\n",
		m.Resources.MemoryPages, m.Resources.TensorBytes, m.Resources.Handles, m.Resources.WorkPerToken)
	fmt.Fprintf(out, "chunks   %d of %d bytes\n", len(b.Leaves())-1, m.ChunkSize)
	fmt.Fprintln(out, "files")
	for _, f := range m.Files {
		fmt.Fprintf(out, "  %-20s %12d bytes\n", f.Name, f.Size)
	}
	if len(m.Config) > 0 {
		fmt.Fprintln(out, "config")
		for _, k := range m.ConfigKeys() {
			fmt.Fprintf(out, "  %-20s %s\n", k, m.Config[k])
		}
	}
	if m.Weights != "" {
		data, _ := b.File(m.Weights)
		tf, err := bundle.ParseTensors(data)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "tensors  %d in %s\n", len(tf.Infos()), m.Weights)
		for _, ti := range tf.Infos() {
			fmt.Fprintf(out, "  %-24s %-5s %6d × %-6d %10d bytes\n", ti.Name, ti.DType, ti.Rows, ti.Cols, ti.Size)
		}
	}
	return nil
}

func bundleVerify(args []string, out, errOut io.Writer) error {
	fs := newFlags("bundle verify", errOut)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dna bundle verify B.dna")
	}
	b, err := bundle.ReadFile(pos[0], bundle.ReadOptions{})
	if err != nil {
		fmt.Fprintf(errOut, "INVALID: %v\n", err)
		return errFailed
	}
	if m := b.Manifest(); m.Weights != "" {
		data, _ := b.File(m.Weights)
		if _, err := bundle.ParseTensors(data); err != nil {
			fmt.Fprintf(errOut, "INVALID: %v\n", err)
			return errFailed
		}
	}
	fmt.Fprintf(out, "ok %s: %d chunks and the manifest match the Merkle root; author signature valid\n", b.ID(), len(b.Leaves())-1)
	return nil
}

// bundlePack builds a bundle from a directory holding manifest.json (a
// template: files, chunk size and author are filled in) and the files.
func bundlePack(args []string, out, errOut io.Writer) error {
	fs := newFlags("bundle pack", errOut)
	outPath := fs.String("o", "", "output bundle (.dna)")
	keyPath := fs.String("key", "", "author key file (default: the key in the user config directory)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *outPath == "" {
		return usagef("dna bundle pack DIR -o B.dna")
	}
	dir := pos[0]
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	var m bundle.Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	names := m.FileNames()
	if len(names) == 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Type().IsRegular() && e.Name() != "manifest.json" {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
	}
	var files []bundle.Source
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		files = append(files, bundle.Source{Name: n, Data: data})
	}
	key, err := loadAuthorKey(*keyPath, errOut)
	if err != nil {
		return err
	}
	b, err := bundle.Build(m, files, key)
	if err != nil {
		return err
	}
	if err := b.WriteFile(*outPath); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s  %s %s, %d files\n", b.ID(), b.Manifest().Name, b.Manifest().Version, len(files))
	return nil
}

func bundleUnpack(args []string, out, errOut io.Writer) error {
	fs := newFlags("bundle unpack", errOut)
	outDir := fs.String("o", "", "directory to write manifest.json and the files into")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *outDir == "" {
		return usagef("dna bundle unpack B.dna -o DIR")
	}
	b, err := bundle.ReadFile(pos[0], bundle.ReadOptions{})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*outDir, "manifest.json"), b.ManifestBytes(), 0o644); err != nil {
		return err
	}
	for _, f := range b.Manifest().Files {
		data, _ := b.File(f.Name)
		if err := os.WriteFile(filepath.Join(*outDir, f.Name), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "unpacked %s into %s\n", b.ID(), *outDir)
	return nil
}
