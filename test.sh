#!/usr/bin/env bash
# The whole test-suite, from a fresh clone: Rust unit, black-box and property tests,
# then the interop tests that drive Portvakt with third-party clients (npm
# openid-client v6, PyPI authlib, PyPI msal over TLS), then the admin portal and the story of
# examples/analytics-onboarding end to end in headless Chromium (Debian's chromium,
# driven by npm playwright-core; axe-core). Installs the
# npm and PyPI packages it needs (npm ci, pip in a venv), never a browser. Fails
# loudly when a tool is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Reuse one target directory outside the clone between runs.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/portvakt-target}"

for tool in cargo node npm python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test.sh: '$tool' is not installed. Install Rust (rustup), Node.js 20+ with npm and Python 3.11+ (Debian: apt-get install nodejs npm python3 python3-venv)." >&2
    exit 2
  fi
done
if [[ ! -x /usr/bin/chromium ]]; then
  echo "test.sh: /usr/bin/chromium is missing; the portal tests drive Debian's Chromium (apt-get install chromium chromium-driver)." >&2
  exit 2
fi

echo "== cargo test (unit, black-box, property tests) on SQLite, the embedded default"
cargo test --workspace --all-targets

# The same suite again on PostgreSQL: every store and every server a test makes gets
# a database of its own (portvakt_t_*) on this server. It must answer: a test that
# needs PostgreSQL fails, it never skips.
PG_SERVER="${PORTVAKT_TEST_PG_SERVER:-postgres://postgres@127.0.0.1:5432/test}"
if ! command -v psql >/dev/null 2>&1; then
  echo "test.sh: psql is missing; the PostgreSQL run needs PostgreSQL and its client (Debian: apt-get install postgresql)." >&2
  exit 2
fi
if ! psql "$PG_SERVER" -qAtc 'SELECT 1' >/dev/null; then
  echo "test.sh: PostgreSQL does not answer at $PG_SERVER (start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start, or set PORTVAKT_TEST_PG_SERVER)." >&2
  exit 2
fi
# Databases left by an earlier run (a test that panicked keeps its own for a look).
psql "$PG_SERVER" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'portvakt\_t\_%'" |
  while read -r db; do psql "$PG_SERVER" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done
echo "== cargo test again on PostgreSQL ($PG_SERVER)"
PORTVAKT_TEST_DATABASE="$PG_SERVER" cargo test --workspace --all-targets

echo "== the README's serve and first-token commands on a clean copy (ephemeral port)"
tests/readme/run.sh --copy

echo "== interop: npm openid-client v6, PyPI authlib and Microsoft's PyPI msal against the real binary"
cargo build -p portvakt
PORTVAKT_BIN="$CARGO_TARGET_DIR/debug/portvakt" bash tests/interop/run.sh

echo "== browser: the admin portal and the onboarding story in headless Chromium (playwright-core, axe-core)"
cargo build -p analytics-onboarding
PORTVAKT_BIN="$CARGO_TARGET_DIR/debug/portvakt" ANALYTICS_BIN="$CARGO_TARGET_DIR/debug/analytics-onboarding" bash tests/portal/run.sh
