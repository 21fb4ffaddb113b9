package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dnahost/dnahost/keys"
)

func cmdKeygen(args []string, out, errOut io.Writer) error {
	fs := newFlags("keygen", errOut)
	path := fs.String("o", "", "write the key to this file (must not exist)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return usagef("-o FILE is required")
	}
	k, err := keys.GenerateKey()
	if err != nil {
		return err
	}
	if err := keys.WriteKeyFile(*path, k); err != nil {
		return err
	}
	fmt.Fprintf(out, "public key %s\n", k.Public().Hex())
	return nil
}

// defaultKeyPath is where the author key lives when --key is not given.
func defaultKeyPath() (string, error) {
	if p := os.Getenv("DNA_AUTHOR_KEY"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --key given and no config directory: %w", err)
	}
	return filepath.Join(dir, "dnahost", "author.key"), nil
}

// loadAuthorKey reads the key at path, or the default key, making the
// default key on first use.
func loadAuthorKey(path string, errOut io.Writer) (*keys.PrivateKey, error) {
	if path != "" {
		return keys.ReadKeyFile(path)
	}
	p, err := defaultKeyPath()
	if err != nil {
		return nil, err
	}
	k, err := keys.ReadKeyFile(p)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	if k, err = keys.GenerateKey(); err != nil {
		return nil, err
	}
	if err := keys.WriteKeyFile(p, k); err != nil {
		return nil, err
	}
	fmt.Fprintf(errOut, "made a new author key %s (public key %s)\n", p, k.Public().Hex())
	return k, nil
}
