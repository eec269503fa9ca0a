#!/usr/bin/env bash
# Run the README's commands the way a newcomer does, so that the README cannot drift
# from what works. The commands are read out of README.md (one source of truth):
#
#   <!-- readme-test: serve -->         the next ```sh block starts the server
#   <!-- readme-test: first-token -->   the next ```sh block imports a tenant and asks
#                                       for a client-credentials token
#   <!-- readme-test: demo -->          the next ```sh block starts the onboarding demo
#
#   tests/readme/run.sh              in this checkout, on the documented defaults
#                                    (127.0.0.1:8400, ./portvakt-data): what .ci/run
#                                    does on its clean clone
#   tests/readme/run.sh --copy       on a clean copy of this checkout (tracked and
#                                    untracked-but-not-ignored files), on an ephemeral
#                                    port: what ./test.sh does
#
# It waits for /health, runs the first-token block, checks that it printed an access
# token, then stops the server with SIGTERM and requires exit status 0. Then it starts
# the demo, waits for its URLs, checks that Analytics and the demo tenant answer, and
# stops it the same way.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODE=${1:-in-place}

block() { # the ```sh block after the marker $1
  awk -v m="<!-- readme-test: $1 -->" '
    $0 == m { found = 1; next }
    found && /^```sh$/ { inblock = 1; next }
    inblock && /^```$/ { exit }
    inblock { print }' "$ROOT/README.md"
}
SERVE=$(block serve)
FIRST=$(block first-token)
DEMO=$(block demo)
if [[ -z "$SERVE" || -z "$FIRST" || -z "$DEMO" ]]; then
  echo "readme test: README.md lost its '<!-- readme-test: serve -->', 'first-token' or 'demo' block" >&2
  exit 1
fi
if [[ $(printf '%s\n' "$SERVE" | wc -l) -ne 1 ]]; then
  echo "readme test: the serve block must be one command, got:" >&2; printf '%s\n' "$SERVE" >&2
  exit 1
fi

case "$MODE" in
  in-place) WORK=$ROOT; ADDR=127.0.0.1:8400; EXTRA=""; DEMO_EXTRA="" ;;
  --copy)
    # A fixed path, and tar keeps modification times: cargo can reuse the release
    # build of the last run instead of compiling the workspace again.
    WORK=${TMPDIR:-/tmp}/portvakt-readme-copy-$(id -u)
    rm -rf "$WORK"; mkdir -p "$WORK"
    (cd "$ROOT" && git ls-files -z -c -o --exclude-standard | while IFS= read -r -d '' f; do
        [[ -e "$f" && "$f" != portvakt-data/* && "$f" != analytics-demo-data/* ]] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -xf - -C "$WORK"
    ADDR=""; EXTRA=" --listen 127.0.0.1:0"
    DEMO_EXTRA=" --listen 127.0.0.1:0 --portvakt-listen 127.0.0.1:0" ;;
  *) echo "usage: tests/readme/run.sh [--copy]" >&2; exit 2 ;;
esac
cd "$WORK"
for d in portvakt-data analytics-demo-data; do
  if [[ -e $d ]]; then
    echo "readme test: $WORK/$d exists; the README's first run starts on a fresh data directory" >&2
    exit 1
  fi
done

OUT=$(mktemp /tmp/portvakt-readme-out.XXXXXX)
echo "== readme: $SERVE$EXTRA   (in $WORK)"
# setsid: the server runs in its own process group, so it can be signalled alone.
setsid bash -c "exec $SERVE$EXTRA" >"$OUT" 2>&1 &
RUNNER=$!
cleanup() { kill -KILL -- -"$RUNNER" 2>/dev/null || true; }
trap cleanup EXIT

# The first run compiles (release): allow for it.
deadline=$((SECONDS + 1800))
while :; do
  if ! kill -0 "$RUNNER" 2>/dev/null; then
    echo "readme test: the README's serve command exited before it was ready:" >&2
    tail -50 "$OUT" >&2; exit 1
  fi
  if [[ -z "$ADDR" ]]; then
    ADDR=$(sed -n 's|^Portvakt listening on http://||p' "$OUT" | head -1)
  fi
  if [[ -n "$ADDR" ]] && curl -fsS "http://$ADDR/health" >/dev/null 2>&1; then break; fi
  if (( SECONDS > deadline )); then echo "readme test: no /health after 30 min" >&2; tail -50 "$OUT" >&2; exit 1; fi
  sleep 1
done
echo "== readme: /health answers at $ADDR"

# The first-token block, pointed at the address the server really listens on.
FIRST=${FIRST//127.0.0.1:8400/$ADDR}
TOKEN_OUT=$(bash -euo pipefail -c "$FIRST" 2>&1) || {
  echo "readme test: the README's first-token commands failed:" >&2; echo "$TOKEN_OUT" >&2; exit 1; }
if ! grep -q '"access_token":"ey' <<<"$TOKEN_OUT"; then
  echo "readme test: the first-token commands printed no access token:" >&2; echo "$TOKEN_OUT" >&2; exit 1
fi
echo "== readme: the first-token block got an access token"

# SIGTERM to the portvakt process itself (cargo run waits for it and passes on its
# exit status).
PID=$(pgrep -g "$RUNNER" -x portvakt | head -1)
if [[ -z "$PID" ]]; then echo "readme test: cannot find the portvakt process" >&2; exit 1; fi
kill -TERM "$PID"
set +e
wait "$RUNNER"; STATUS=$?
set -e
trap - EXIT
if [[ $STATUS -ne 0 ]]; then
  echo "readme test: after SIGTERM the server exited with $STATUS, not 0:" >&2; tail -20 "$OUT" >&2; exit 1
fi
if ! grep -q '^Portvakt stopped' "$OUT"; then
  echo "readme test: the server did not say it stopped gracefully" >&2; tail -20 "$OUT" >&2; exit 1
fi
echo "== readme: stopped by SIGTERM, exit 0"
rm -rf "$WORK/portvakt-data" "$WORK/contoso.json"

# The demo: its URLs and credentials, one per line, then "Ready.".
echo "== readme: $DEMO$DEMO_EXTRA   (in $WORK)"
setsid bash -c "exec $DEMO$DEMO_EXTRA" >"$OUT" 2>&1 &
RUNNER=$!
trap cleanup EXIT
deadline=$((SECONDS + 1800))
until grep -q '^Ready\.' "$OUT"; do
  if ! kill -0 "$RUNNER" 2>/dev/null; then
    echo "readme test: the README's demo command exited before it was ready:" >&2
    tail -50 "$OUT" >&2; exit 1
  fi
  if (( SECONDS > deadline )); then echo "readme test: the demo was not ready after 30 min" >&2; tail -50 "$OUT" >&2; exit 1; fi
  sleep 1
done
line() { sed -n "s|^$1: ||p" "$OUT" | head -1; }
ISSUER=$(line Portvakt); PORTAL=$(line Portal); ANALYTICS=$(line Analytics)
for k in Portvakt Portal Analytics User Password "TOTP secret"; do
  if [[ -z "$(line "$k")" ]]; then echo "readme test: the demo printed no '$k:' line" >&2; cat "$OUT" >&2; exit 1; fi
done
curl -fsS "$ISSUER/.well-known/openid-configuration" | grep -q '"issuer"' || {
  echo "readme test: the demo's issuer $ISSUER does not answer discovery" >&2; exit 1; }
curl -fsS "$ANALYTICS" | grep -q 'href="/signin"' || {
  echo "readme test: $ANALYTICS does not show the wizard's sign-in" >&2; exit 1; }
[[ $(curl -s -o /dev/null -w '%{http_code}' "$PORTAL") == 303 ]] || {
  echo "readme test: the portal $PORTAL does not send to the sign-in" >&2; exit 1; }
echo "== readme: the demo answers (Portvakt $ISSUER, Analytics $ANALYTICS)"
PID=$(pgrep -g "$RUNNER" -x analytics-onboa | head -1)
if [[ -z "$PID" ]]; then echo "readme test: cannot find the analytics-onboarding process" >&2; exit 1; fi
kill -TERM "$PID"
set +e
wait "$RUNNER"; STATUS=$?
set -e
trap - EXIT
if [[ $STATUS -ne 0 ]] || ! grep -q '^stopped' "$OUT"; then
  echo "readme test: after SIGTERM the demo exited with $STATUS:" >&2; tail -20 "$OUT" >&2; exit 1
fi
echo "== readme: the demo stopped by SIGTERM, exit 0"
rm -f "$OUT"
# Leave the checkout as it was: the runs made the data directories.
rm -rf "$WORK/analytics-demo-data"
exit 0
