#!/usr/bin/env bash
# A/B of two Portvakt binaries on the client-credentials grant (for profiling work):
#   bench/ab.sh OLD_BINARY NEW_BINARY
# Starts both on loopback, then alternates wrk runs (same settings as bench/run.sh),
# BENCH_ROUNDS (default 5) × BENCH_DURATION (default 8) s each, and prints the median
# req/s of each and the median of the per-round ratios NEW ÷ OLD.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
A=$1 B=$2
ROUNDS=${BENCH_ROUNDS:-5} DURATION=${BENCH_DURATION:-8}
THREADS=${BENCH_THREADS:-2} CONNECTIONS=${BENCH_CONNECTIONS:-32}
(( DURATION <= 120 )) || { echo "BENCH_DURATION is capped at 120 s" >&2; exit 2; }
RUN=$(mktemp -d -t portvakt-ab.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT
export BENCH_BASIC
BENCH_BASIC=$(printf 'bench:bench-secret-0123456789abcdef' | base64 -w0)
cat > "$RUN/import.json" <<'JSON'
{"tenants": [{"name": "bench", "resources": [{"identifier": "api://analytics", "scopes": ["Onboarding.ReadWrite"]}],
  "applications": [{"clientId": "bench", "clientSecret": "bench-secret-0123456789abcdef", "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]}]}
JSON
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA=$(port); PB=$(port)
"$A" serve --data "$RUN/a" --listen "127.0.0.1:$PA" --import "$RUN/import.json" >"$RUN/a.log" 2>&1 & PIDS+=($!)
"$B" serve --data "$RUN/b" --listen "127.0.0.1:$PB" --import "$RUN/import.json" >"$RUN/b.log" 2>&1 & PIDS+=($!)
for p in $PA $PB; do
  for _ in $(seq 1 500); do curl -fsS -o /dev/null "http://127.0.0.1:$p/health" 2>/dev/null && break; sleep 0.02; done
done
run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" --timeout 5s -s "$BENCH/wrk/token.lua" \
  "http://127.0.0.1:$1/bench/oauth2/token" | sed -n 's/^WRKJSON //p'; }
run "$PA" 2 >/dev/null; run "$PB" 2 >/dev/null
: >"$RUN/ab.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then order="a b"; else order="b a"; fi
  for x in $order; do
    if [[ $x == a ]]; then p=$PA; else p=$PB; fi
    printf '{"round":%d,"bin":"%s","wrk":%s}\n' "$r" "$x" "$(run "$p" "$DURATION")" >>"$RUN/ab.jsonl"
  done
done
python3 - "$RUN/ab.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate = lambda w: w["requests"] / (w["duration_us"] / 1e6)
for b, name in (("a", "old"), ("b", "new")):
    m = [r for r in rows if r["bin"] == b]
    bad = sum(r["wrk"]["non2xx"] for r in m)
    print(f"{name}: median {statistics.median(rate(r['wrk']) for r in m):,.0f} req/s  "
          f"p50 {statistics.median(r['wrk']['p50_us'] for r in m) / 1000:.2f} ms  "
          f"p99 {statistics.median(r['wrk']['p99_us'] for r in m) / 1000:.2f} ms  "
          f"runs {[round(rate(r['wrk'])) for r in m]}  non-2xx {bad}")
by = {}
for r in rows:
    by.setdefault(r["round"], {})[r["bin"]] = rate(r["wrk"])
ratios = [v["b"] / v["a"] for v in by.values() if len(v) == 2]
print(f"new ÷ old: median {statistics.median(ratios):.3f}  per round {[round(x, 3) for x in ratios]}")
PY
