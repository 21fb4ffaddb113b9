package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// applyConfig fills flags not set on the command line from DNAHOST_*
// environment variables, then from the config file's "name = value" lines
// (the flag names; # starts a comment).
func applyConfig(fs *flag.FlagSet, file string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		env := "DNAHOST_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
			set[f.Name] = true
		}
	})
	if file == "" {
		return errors.Join(errs...)
	}
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		if s == "" {
			continue
		}
		name, val, ok := strings.Cut(s, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: want name = value", file, line))
			continue
		}
		name, val = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(val), `"`)
		if fs.Lookup(name) == nil {
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q", file, line, name))
			continue
		}
		if set[name] {
			continue
		}
		if err := fs.Set(name, val); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %w", file, line, name, err))
		}
	}
	errs = append(errs, sc.Err())
	return errors.Join(errs...)
}
