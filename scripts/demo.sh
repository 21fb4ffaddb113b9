#!/usr/bin/env bash
# make demo: import a model into a bundle, run it in the WebAssembly
# sandbox, then bring up a 4-node devnet and take a job through every stage
# (stake, compute, commit, reveal, verify, decide, record, settle).
# Uses ../shared/models/stories260K when present, else makes a small
# synthetic model with deterministic weights.
# make devnet: the same bundle, a devnet that stays up (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
dna=bin/dna
out=build/demo
mkdir -p "$out"
models=${DNA_SHARED_MODELS:-../shared/models}

step() { printf '\n== %s\n' "$*"; }

[ -f "$out/author.key" ] || $dna keygen -o "$out/author.key" >/dev/null

if [ -f "$models/stories260K/stories260K.bin" ]; then
  step "importing stories260K (a 260K-parameter Llama trained on TinyStories)"
  ck=$models/stories260K/stories260K.bin tok=$models/stories260K/tok512.bin name=stories260K
  prompt="Once upon a time"
else
  step "no ../shared/models here: making a small synthetic model (random weights, so the text is gibberish)"
  $dna synth llama2c -o "$out/synthetic.bin" --tokenizer "$out/synthetic-tok.bin" \
    --dim 64 --layers 4 --heads 4 --kv-heads 2 --vocab 512 --seq-len 256 --seed 7
  ck=$out/synthetic.bin tok=$out/synthetic-tok.bin name=synthetic
  prompt="the quick brown fox"
fi
$dna import llama2c "$ck" "$tok" -o "$out/$name.dna" --key "$out/author.key"

if [ "${DEVNET_ONLY:-}" = 1 ]; then
  step "dnahost devnet -n 4: four nodes on 127.0.0.1, node 0 publishes $name"
  exec bin/dnahost devnet -n 4 --reset --dir build/devnet --bundle "$out/$name.dna"
fi
$dna import llama2c "$ck" "$tok" -o "$out/$name-q8.dna" --quant q8 --key "$out/author.key"

step "dna bundle verify: every chunk against the Merkle root, and the author's signature"
$dna bundle verify "$out/$name.dna"

step "dna run (greedy), streaming from the sandbox"
$dna run "$out/$name.dna" -p "$prompt" -n 100

step "dna run --temp 0.8 --seed 42, twice: the fixed Gumbel noise makes it reproducible"
a=$($dna run "$out/$name.dna" -p "$prompt" -n 60 --temp 0.8 --seed 42 --json)
b=$($dna run "$out/$name.dna" -p "$prompt" -n 60 --temp 0.8 --seed 42 --json --threads 1 --engine interpreter)
echo "$a" | grep -E '"(text|digest|work_units|tokens_per_s)"'
da=$(echo "$a" | grep '"digest"') db=$(echo "$b" | grep '"digest"')
ta=$(echo "$a" | tr -d ' \n' | sed 's/.*"tokens":\(\[[^]]*\]\).*/\1/')
tb=$(echo "$b" | tr -d ' \n' | sed 's/.*"tokens":\(\[[^]]*\]\).*/\1/')
if [ "$da" = "$db" ] && [ "$ta" = "$tb" ]; then
  echo "same tokens and digest with 1 thread on the interpreter: deterministic"
else
  echo "MISMATCH between runs" >&2
  exit 1
fi

step "the q8 bundle"
$dna run "$out/$name-q8.dna" -p "$prompt" -n 60

step "dnahost devnet -n 4: four node processes on 127.0.0.1 run a job end to end"
bin/dnahost devnet -n 4 --reset --dir build/devnet --bundle "$out/$name.dna" \
  --demo "$prompt" --tokens 48 --replication 3
