package guests

import _ "embed"

//go:embed llama.wasm
var llama []byte

// Llama is the inference module of guest-sdk/cmd/llama.
func Llama() []byte { return llama }

// BuildFlags are the flags `make guest` uses; the freshness test uses them too.
var BuildFlags = []string{"build", "-trimpath", "-ldflags=-s -w", "-buildmode=c-shared"}
