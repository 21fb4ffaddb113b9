#!/usr/bin/env bash
# make example: build the bigram example's guest, train it, pack and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/example
mkdir -p "$out/bundle"
cp examples/bigram/bundle/manifest.json "$out/bundle/"
(cd guest-sdk/examples/bigram && GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -buildmode=c-shared -o "../../../$out/bundle/model.wasm" .)
go run ./examples/bigram/train -i examples/bigram/corpus.txt -o "$out/bundle/weights.dnt"
[ -f "$out/author.key" ] || bin/dna keygen -o "$out/author.key" >/dev/null
bin/dna bundle pack "$out/bundle" -o "$out/bigram.dna" --key "$out/author.key"
bin/dna run "$out/bigram.dna" -p "The sea" -n 200 --temp 0.9 --seed 3
