#!/usr/bin/env bash
# make fuzz: run every fuzz target of both modules for $FUZZTIME each.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
run() {
  local dir=$1 pkg target
  local pkgs
  pkgs=$(cd "$dir" && go list ./... </dev/null)
  for pkg in $pkgs; do
    for target in $(cd "$dir" && go test -list '^Fuzz' "$pkg" </dev/null | grep '^Fuzz' || true); do
      echo "== $pkg $target"
      (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" </dev/null)
    done
  done
}
run .
run guest-sdk
