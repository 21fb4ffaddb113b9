package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dnahost/dnahost/examples/bigram"
)

func main() {
	in := flag.String("i", "", "training text")
	out := flag.String("o", "weights.dnt", "output tensor file")
	flag.Parse()
	text, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, err := bigram.Weights(text)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
