#!/usr/bin/env bash
# make fuzz: run every fuzz target of both modules for $FUZZTIME each.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
run() {
  local dir=$1
  (cd "$dir" && go list ./... | while read -r pkg; do
    go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' | while read -r target; do
      echo "== $pkg $target"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
    done
  done)
}
run .
run guest-sdk
