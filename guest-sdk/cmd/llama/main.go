package main

import (
	"github.com/dnahost/dnahost/guest-sdk/inference"
	"github.com/dnahost/dnahost/guest-sdk/llama"
)

func init() { inference.Register(llama.New()) }

func main() {}
