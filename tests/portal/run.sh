#!/usr/bin/env bash
# The admin portal (portal.mjs) and the story of the analytics-onboarding demo
# (story.mjs) end to end in real headless Chromium: playwright-core drives Debian's
# /usr/bin/chromium (no browser is downloaded), axe-core checks every page. Needs
# Node 20+ with npm and Debian's chromium.
#
#   PORTVAKT_BIN=$T/debug/portvakt ANALYTICS_BIN=$T/debug/analytics-onboarding bash tests/portal/run.sh
#
# Screenshots go to $PORTVAKT_ARTIFACTS (default: target/portal-screenshots in the
# repository).
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
if [[ -z "${ANALYTICS_BIN:-}" || ! -x "${ANALYTICS_BIN:-}" ]]; then
  echo "run.sh: ANALYTICS_BIN='${ANALYTICS_BIN:-}' is not an executable; build it with cargo build -p analytics-onboarding" >&2
  exit 2
fi
# The tests spawn the binaries from their own working directory.
PORTVAKT_BIN="$(cd "$(dirname "$PORTVAKT_BIN")" && pwd)/$(basename "$PORTVAKT_BIN")"
ANALYTICS_BIN="$(cd "$(dirname "$ANALYTICS_BIN")" && pwd)/$(basename "$ANALYTICS_BIN")"
export PORTVAKT_BIN ANALYTICS_BIN

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "run.sh: $CHROMIUM is missing; the portal tests drive Debian's Chromium. Install it: apt-get install chromium chromium-driver" >&2
  exit 2
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: '$tool' is not installed. Install Node.js 20+ with npm (Debian: apt-get install nodejs npm)." >&2
    exit 2
  fi
done

# playwright-core has no install script; make sure nothing fetches a browser anyway.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund
exec node --test --test-reporter=spec portal.mjs story.mjs form_post.mjs
