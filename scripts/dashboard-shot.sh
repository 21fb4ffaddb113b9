#!/usr/bin/env bash
# Screenshot of the node dashboard with live data: builds the node/api
# test binary, whose TestDashboardScreenshot starts a three-node devnet in
# process (one node lazy, so verification has something to refute), runs
# jobs through it, serves node 0's API and has headless Chromium render the
# page — once to check the page's script rendered the chain height and the
# job IDs, once for the screenshot.
#
#   scripts/dashboard-shot.sh [out.png]    (default docs/dashboard.png)
#
# Chromium is $DNA_CHROMIUM, or chromium / chromium-browser / google-chrome
# on the PATH; when there is none it is installed with apt-get (Debian's
# chromium package). Uses the shared stories260K model when ../shared/models
# has it (DNA_SHARED_MODELS), else a synthetic one.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
BUILD=${BUILD:-build}
OUT=${1:-${DNA_DASHBOARD_SHOT:-docs/dashboard.png}}
MAX_BYTES=$((400 * 1024))

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

find_chromium() {
  if [ -n "${DNA_CHROMIUM:-}" ]; then
    echo "$DNA_CHROMIUM"
    return
  fi
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then
      command -v "$b"
      return
    fi
  done
}

BROWSER=$(find_chromium)
if [ -z "$BROWSER" ]; then
  say "Chromium not found: installing it with apt-get (package chromium)"
  SUDO=
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=sudo
    else
      echo "dashboard-shot: need Chromium; install it (apt-get install -y chromium) or set DNA_CHROMIUM" >&2
      exit 1
    fi
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  BROWSER=$(find_chromium)
  [ -n "$BROWSER" ] || { echo "dashboard-shot: Chromium did not install" >&2; exit 1; }
fi
say "browser: $BROWSER ($("$BROWSER" --version 2>/dev/null || echo 'version unknown'))"

say "building the node/api test binary"
mkdir -p "$BUILD"
"$GO" test -c -o "$BUILD/nodeapi.test" ./node/api/

mkdir -p "$(dirname "$OUT")"
ABS_OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
TEST_BIN="$(cd "$BUILD" && pwd)/nodeapi.test"

say "starting a 3-node devnet in process, running jobs, rendering the dashboard"
(cd node/api && DNA_DASHBOARD_SHOT="$ABS_OUT" DNA_CHROMIUM="$BROWSER" \
  "$TEST_BIN" -test.run '^TestDashboardScreenshot$' -test.count=1 -test.v -test.timeout 10m)

# The result is a PNG of some substance and small enough to commit.
[ -s "$OUT" ] || { echo "dashboard-shot: $OUT missing" >&2; exit 1; }
magic=$(head -c 8 "$OUT" | od -An -tx1 | tr -d ' \n')
[ "$magic" = 89504e470d0a1a0a ] || { echo "dashboard-shot: $OUT is not a PNG" >&2; exit 1; }
size=$(wc -c <"$OUT")
[ "$size" -ge 20480 ] || { echo "dashboard-shot: $OUT is only $size bytes" >&2; exit 1; }
[ "$size" -le "$MAX_BYTES" ] || { echo "dashboard-shot: $OUT is $size bytes, over $MAX_BYTES" >&2; exit 1; }
say "wrote $OUT ($((size / 1024)) KiB)"
