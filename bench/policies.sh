#!/usr/bin/env bash
# Conditional Access benchmarks (issue #12). Run on purpose; not part of the tests.
#
#   bench/policies.sh          # 3 rounds × 10 s
#
# 1. Evaluation in-process: `cargo bench -p portvakt-policy --bench evaluate` (195
#    policies, a user in 1,000 groups, 40 named locations).
# 2. Client credentials on one release server, tenant `ca` (195 policies, 1,000 groups,
#    40 named locations: bench/policies.py) against tenant `plain` (none), the same
#    client and wrk settings, alternating per round; the median of the per-round
#    ratios. Goal: ≥ 90 %.
#
# Environment: BENCH_ROUNDS (3), BENCH_DURATION (10, ≤ 120), BENCH_WARMUP (3),
# BENCH_THREADS (2), BENCH_CONNECTIONS (32), CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${BENCH_ROUNDS:-3}; DURATION=${BENCH_DURATION:-10}; WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}; CONNECTIONS=${BENCH_CONNECTIONS:-32}
(( DURATION <= 120 && WARMUP <= 120 )) || { echo "BENCH_DURATION/BENCH_WARMUP ≤ 120" >&2; exit 2; }
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
command -v wrk >/dev/null || { echo "bench/policies.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "policy evaluation in-process (cargo bench -p portvakt-policy --bench evaluate)"
(cd "$ROOT" && cargo bench -q -p portvakt-policy --bench evaluate 2>/dev/null) | tee /tmp/portvakt-policy-bench.txt

say "cargo build --release -p portvakt"
(cd "$ROOT" && cargo build --release -q -p portvakt)
RUN=$(mktemp -d /tmp/portvakt-policies.XXXXXX)
trap 'kill $PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$RUN"' EXIT
export BENCH_BASIC
BENCH_BASIC=$(printf 'bench:bench-secret-0123456789abcdef' | base64 -w0)
python3 "$ROOT/bench/policies.py" "$RUN/import.json" bench bench-secret-0123456789abcdef
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORTVAKT_LOG=warn "$TARGET/release/portvakt" serve --data "$RUN/data" --listen "127.0.0.1:$PORT" \
  --import "$RUN/import.json" --max-connections-per-address 0 >"$RUN/log" 2>&1 &
PID=$!
for _ in $(seq 1 600); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done
for t in plain ca; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -u bench:bench-secret-0123456789abcdef \
    -d grant_type=client_credentials -d scope=api://analytics/.default "http://127.0.0.1:$PORT/$t/oauth2/token")
  [[ $code == 200 ]] || { echo "tenant $t: token request answered $code" >&2; cat "$RUN/log" >&2; exit 1; }
done
rate() { # tenant seconds -> requests/s
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" -s "$ROOT/bench/wrk/token.lua" "http://127.0.0.1:$PORT/$1/oauth2/token" \
    | python3 -c 'import json,sys
for l in sys.stdin:
    if l.startswith("WRKJSON "):
        d=json.loads(l[8:]); assert d["non2xx"]==0, d; print(round(d["requests"]/(d["duration_us"]/1e6)))'
}
rate plain "$WARMUP" >/dev/null; rate ca "$WARMUP" >/dev/null
RATIOS=(); PLAIN=(); CA=()
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then p=$(rate plain "$DURATION"); c=$(rate ca "$DURATION"); else c=$(rate ca "$DURATION"); p=$(rate plain "$DURATION"); fi
  PLAIN+=("$p"); CA+=("$c")
  RATIOS+=("$(python3 -c "print(round($c/$p*100,1))")")
  say "round $r: no policies $p/s, 195 policies $c/s (${RATIOS[-1]} %)"
done
python3 - "${PLAIN[*]}" "${CA[*]}" "${RATIOS[*]}" <<'PY'
import statistics, sys
p = [int(x) for x in sys.argv[1].split()]; c = [int(x) for x in sys.argv[2].split()]; r = [float(x) for x in sys.argv[3].split()]
print(f"client credentials: no policies {statistics.median(p)}/s, 195 policies {statistics.median(c)}/s, "
      f"median of per-round ratios {statistics.median(r)} % (rounds: {', '.join(f'{x} %' for x in r)}); goal ≥ 90 %")
PY
