#!/usr/bin/env bash
# Interop tests: drive a built Portvakt binary with third-party clients
# (npm openid-client v6 + jose). Needs Node 20+ and npm.
#
#   PORTVAKT_BIN=/path/to/target/debug/portvakt bash tests/interop/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ -z "${PORTVAKT_BIN:-}" ]]; then
  echo "run.sh: PORTVAKT_BIN is not set; point it at a built portvakt binary" >&2
  exit 2
fi
if [[ ! -x "$PORTVAKT_BIN" ]]; then
  echo "run.sh: PORTVAKT_BIN=$PORTVAKT_BIN is not an executable file" >&2
  exit 2
fi
# The test spawns the binary from its own working directory.
PORTVAKT_BIN="$(cd "$(dirname "$PORTVAKT_BIN")" && pwd)/$(basename "$PORTVAKT_BIN")"
export PORTVAKT_BIN

npm ci --no-audit --no-fund
node --test openid-client.test.mjs
