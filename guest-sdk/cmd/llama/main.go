// Command llama is the inference module that dna import llama2c puts in a
// bundle: the llama package registered as the module's model.
package main

import (
	"github.com/dnahost/dnahost/guest-sdk/inference"
	"github.com/dnahost/dnahost/guest-sdk/llama"
)

func init() { inference.Register(llama.New()) }

func main() {}
