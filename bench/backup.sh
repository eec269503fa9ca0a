#!/usr/bin/env bash
# Backup under load (issue #16). Run on purpose; not part of the test-suite.
#
#   bench/backup.sh        # BENCH_FILL seconds of load to fill the sign-in log first
#
# A release server takes client-credentials load (wrk) for BENCH_FILL s so its sign-in
# log holds real records; then the same load runs BENCH_DURATION s twice, once alone
# and once with `portvakt backup` started a second in. Reported: requests/s, p99 and
# the slowest request of each, and how long the backup took and how large it is. The
# question: does a backup stall token requests (issue: not for more than a few ms)?
#
# Environment: BENCH_FILL (30), BENCH_DURATION (10), BENCH_THREADS (2),
# BENCH_CONNECTIONS (32), CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILL=${BENCH_FILL:-30}; DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}; CONNECTIONS=${BENCH_CONNECTIONS:-32}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
(( FILL <= 600 && DURATION <= 120 )) || { echo "BENCH_FILL ≤ 600, BENCH_DURATION ≤ 120" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ensure_wrk

say "cargo build --release -p portvakt"
(cd "$ROOT" && cargo build --release -q -p portvakt)
RUN=$(mktemp -d -t portvakt-bench-backup.XXXXXX)
cp "$TARGET/release/portvakt" "$RUN/"
PID=""
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT

write_cc_import "$RUN/import.json"
PORT=$(free_port)
PORTVAKT_LOG=warn "$RUN/portvakt" serve --data "$RUN/data" --listen "127.0.0.1:$PORT" \
  --import "$RUN/import.json" --max-connections-per-address 0 >"$RUN/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/bench/oauth2/token"
load() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1s" --timeout 10s -s "$ROOT/bench/wrk/token.lua" "$URL" | sed -n 's/^WRKJSON //p'; }

say "filling the sign-in log: ${FILL} s of client credentials"
load "$FILL" >/dev/null
sleep 1
say "load alone: ${DURATION} s"
ALONE=$(load "$DURATION")
say "load with a backup a second in: ${DURATION} s"
( sleep 1; s=$(date +%s.%N); "$RUN/portvakt" backup --data "$RUN/data" "$RUN/backup.tar" >"$RUN/backup.out" 2>&1;
  e=$(date +%s.%N); python3 -c "print(f'{$e-$s:.2f}')" > "$RUN/backup.secs" ) &
BK=$!
WITH=$(load "$DURATION")
wait "$BK"
python3 - "$ALONE" "$WITH" "$(cat "$RUN/backup.secs")" "$(stat -c %s "$RUN/backup.tar")" "$(cat "$RUN/backup.out")" <<'PY'
import json, sys
alone, with_, secs, size, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
for r in (alone, with_):
    if r["non2xx"] or r["timeout"] or r["connect"]:
        sys.exit(f"refusing a run with errors: {r}")
rate = lambda r: r["requests"] / (r["duration_us"] / 1e6)
print("\n| load | req/s | p50 | p99 | slowest |")
print("|---|---:|---:|---:|---:|")
for name, r in (("alone", alone), ("with a backup running", with_)):
    print(f"| {name} | {rate(r):,.0f} | {r['p50_us']/1000:.2f} ms | {r['p99_us']/1000:.2f} ms | {r['max_us']/1000:.1f} ms |")
print(f"\nbackup: {secs} s, {size/1e6:,.0f} MB ({rate(with_)/rate(alone)*100:.1f} % of the throughput alone while it ran)")
print(out)
PY
