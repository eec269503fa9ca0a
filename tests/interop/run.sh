#!/usr/bin/env bash
# Interop tests: drive a built Portvakt binary with third-party clients:
# npm openid-client v6 + jose (node --test), then PyPI authlib + requests,
# Microsoft's msal over TLS, and schemathesis against the admin API's OpenAPI document
# (pytest, in python/.venv: every test_*.py there). Needs Node 20+ with npm, and Python 3.11+ with venv.
#
#   PORTVAKT_BIN=/path/to/target/debug/portvakt bash tests/interop/run.sh
#
# Both runners always run; the script exits non-zero if either failed.
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
# The tests spawn the binary from their own working directories.
PORTVAKT_BIN="$(cd "$(dirname "$PORTVAKT_BIN")" && pwd)/$(basename "$PORTVAKT_BIN")"
export PORTVAKT_BIN

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "run.sh: '$PYTHON' is not installed. Install Python 3.11+ with venv (Debian: apt-get install python3 python3-venv)." >&2
  exit 2
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "run.sh: $("$PYTHON" --version 2>&1) is too old; the authlib tests need Python 3.11+ (set PYTHON=...)." >&2
  exit 2
fi

npm ci --no-audit --no-fund
status=0
node --test openid-client.test.mjs openid-client-user.test.mjs || status=$?

echo "== interop: PyPI authlib (requests client), msal and schemathesis against the real binary"
venv=python/.venv
if [[ ! -x "$venv/bin/python" ]]; then
  "$PYTHON" -m venv --clear "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements.txt
pytest_status=0
(cd python && exec .venv/bin/python -m pytest) || pytest_status=$?

if (( status == 0 )); then status=$pytest_status; fi
exit "$status"
