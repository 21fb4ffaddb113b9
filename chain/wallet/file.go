package wallet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// readFile reads a wallet file, refusing anything but a regular file of at
// most maxFileSize bytes before reading it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, formatErr("%s is not a regular file", path)
	}
	if fi.Size() > maxFileSize {
		return nil, formatErr("%s: %d bytes, more than %d", path, fi.Size(), maxFileSize)
	}
	// The limit holds even if the file grows after Stat.
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, formatErr("%s: more than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// writeAtomic replaces path with data: a temporary file in the same folder
// (so the rename cannot cross file systems), fsync, rename, fsync of the
// folder so the rename itself is durable. A crash leaves the old file or the
// new one, plus at worst a stray temporary file that Open never reads.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("wallet: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("wallet: save %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability is in doubt.
		return fmt.Errorf("wallet: save %s: sync folder: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // folders cannot be opened for fsync there; rename is durable enough
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
