#!/usr/bin/env bash
# Portvakt benchmarks (issue #5). Run on purpose; not part of the test-suite.
#
#   bench/run.sh                                   # full run: 3 rounds × 10 s per server
#   BENCH_ROUNDS=1 BENCH_DURATION=3 bench/run.sh   # quick look
#
# Builds release, starts Portvakt, the peer (npm oidc-provider v9) and the ceiling
# (bench/ceiling) on loopback ports, warms each up, then runs every scenario for each
# server in turn (order rotating per round) with the same wrk settings, and measures
# idle RSS and start-up time. Prints one line per scenario and rewrites the generated
# block of BENCHMARKS.md (notes outside it are kept).
#
# Environment (all optional):
#   BENCH_DURATION     seconds per wrk run (default 10, at most 120)
#   BENCH_ROUNDS       rounds (default 3)
#   BENCH_WARMUP       warm-up seconds per server and scenario (default 3)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 32)
#   BENCH_STARTUP_RUNS start-up measurements per server (default 5)
#   BENCH_SCENARIOS    space-separated subset of: cc discovery jwks (default all)
#   BENCH_OUT          file to write (default BENCHMARKS.md at the repo root)
#   CARGO_TARGET_DIR   as for cargo (default target/)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-5}
SCENARIO_LIST=${BENCH_SCENARIOS:-"cc discovery jwks"}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
COMMAND="${BENCH_COMMAND_LINE:-$(env | grep -E '^(BENCH_|CARGO_TARGET_DIR=)' | sort | tr '\n' ' ')bench/run.sh}"

# Bounded: every wrk run is time-limited, so the request count is too.
if (( DURATION > 120 || WARMUP > 120 )); then
  echo "BENCH_DURATION and BENCH_WARMUP are capped at 120 s" >&2
  exit 2
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
if ! command -v wrk >/dev/null; then
  say "installing wrk (apt)"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk
fi
for tool in node npm curl python3 cargo; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done

say "npm ci (bench/peer: oidc-provider)"
(cd "$BENCH/peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

say "cargo build --release (portvakt, bench ceiling)"
(cd "$ROOT" && cargo build --release -q -p portvakt -p portvakt-bench-ceiling)

# ---------------------------------------------------------------- run state
RUN=$(mktemp -d -t portvakt-bench.XXXXXX)
# Private copies: the target directory may be shared, and another build must not
# swap a binary in the middle of the run.
cp "$TARGET/release/portvakt" "$TARGET/release/portvakt-bench-ceiling" "$RUN/"
PORTVAKT="$RUN/portvakt"
CEILING="$RUN/portvakt-bench-ceiling"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN/data"
  rm -f "$RUN/portvakt" "$RUN/portvakt-bench-ceiling"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

CLIENT_ID=bench
CLIENT_SECRET=bench-secret-0123456789abcdef
export BENCH_BASIC
BENCH_BASIC=$(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)
cat > "$RUN/import.json" <<JSON
{"tenants": [{"name": "bench", "resources": [{"identifier": "api://analytics", "scopes": ["Onboarding.ReadWrite"]}],
  "applications": [{"clientId": "$CLIENT_ID", "clientSecret": "$CLIENT_SECRET", "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]}]}
JSON

wait_health() { # URL
  for _ in $(seq 1 3000); do
    curl -fsS -o /dev/null "$1/health" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "no answer from $1/health" >&2
  return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

say "ES256 signing alone, one thread, no HTTP (3 s)"
SIGN_ONLY=$("$CEILING" --sign-only 3 | sed -n 's/^SIGNONLY //p')

# ---------------------------------------------------------------- start-up time
say "start-up: spawn → first 200 on /health ($STARTUP_RUNS runs each)"
P=$(free_port)
STARTUP_PV_COLD=$(python3 "$BENCH/startup.py" "$STARTUP_RUNS" "http://127.0.0.1:$P/health" \
  "$PORTVAKT" serve --data '{tmp}/data' --listen "127.0.0.1:$P" --import "$RUN/import.json" | sed -n 's/^STARTUP //p')
mkdir -p "$RUN/warmdata"
"$PORTVAKT" serve --data "$RUN/warmdata" --listen "127.0.0.1:$P" --import "$RUN/import.json" >/dev/null 2>&1 &
WPID=$!; wait_health "http://127.0.0.1:$P"; kill "$WPID"; wait "$WPID" 2>/dev/null || true
STARTUP_PV_WARM=$(python3 "$BENCH/startup.py" "$STARTUP_RUNS" "http://127.0.0.1:$P/health" \
  "$PORTVAKT" serve --data "$RUN/warmdata" --listen "127.0.0.1:$P" | sed -n 's/^STARTUP //p')
STARTUP_PEER=$(python3 "$BENCH/startup.py" "$STARTUP_RUNS" "http://127.0.0.1:$P/health" \
  node "$BENCH/peer/server.mjs" "$P" | sed -n 's/^STARTUP //p')
STARTUP_CEIL=$(python3 "$BENCH/startup.py" "$STARTUP_RUNS" "http://127.0.0.1:$P/health" \
  "$CEILING" "127.0.0.1:$P" | sed -n 's/^STARTUP //p')
rm -rf "$RUN/warmdata"

# ---------------------------------------------------------------- servers
say "starting Portvakt, the peer and the ceiling"
PV_PORT=$(free_port); PEER_PORT=$(free_port); CEIL_PORT=$(free_port)
PORTVAKT_LOG=${PORTVAKT_LOG:-info} "$PORTVAKT" serve --data "$RUN/data" --listen "127.0.0.1:$PV_PORT" \
  --import "$RUN/import.json" >"$RUN/portvakt.log" 2>&1 &
PV_PID=$!; PIDS+=("$PV_PID")
node "$BENCH/peer/server.mjs" "$PEER_PORT" >"$RUN/peer.log" 2>&1 &
PEER_PID=$!; PIDS+=("$PEER_PID")
"$CEILING" "127.0.0.1:$CEIL_PORT" >"$RUN/ceiling.log" 2>&1 &
CEIL_PID=$!; PIDS+=("$CEIL_PID")
declare -A BASE=([portvakt]="http://127.0.0.1:$PV_PORT" [peer]="http://127.0.0.1:$PEER_PORT" [ceiling]="http://127.0.0.1:$CEIL_PORT")
declare -A PID=([portvakt]=$PV_PID [peer]=$PEER_PID [ceiling]=$CEIL_PID)
for s in portvakt peer ceiling; do wait_health "${BASE[$s]}"; done
sleep 1
declare -A IDLE_KB
for s in portvakt peer ceiling; do IDLE_KB[$s]=$(rss_kb "${PID[$s]}"); done

# Scenario → per-server path, wrk script. A server without a path does not take part.
declare -A PATH_OF=(
  [cc:portvakt]="/bench/oauth2/token" [cc:peer]="/bench/oauth2/token" [cc:ceiling]="/bench/oauth2/token"
  [discovery:portvakt]="/bench/.well-known/openid-configuration" [discovery:peer]="/.well-known/openid-configuration"
  [jwks:portvakt]="/bench/oauth2/keys" [jwks:peer]="/bench/oauth2/keys"
  # [refresh:*]       pending: refresh-token grant (not implemented yet)
  # [introspection:*] pending: Portvakt introspection; the peer needs accessTokenFormat 'opaque'
  # [password:*]      pending: password login (not implemented yet)
)
declare -A SCRIPT_OF=([cc]=token.lua [discovery]=get.lua [jwks]=get.lua)

# Sanity: every server answers the scenario with 200 (and the tokens are ES256 JWTs).
say "checking every server answers each scenario"
for sc in $SCENARIO_LIST; do
  for s in portvakt peer ceiling; do
    p=${PATH_OF[$sc:$s]:-}; [[ -z $p ]] && continue
    if [[ $sc == cc ]]; then
      body=$(curl -fsS -H "Authorization: Basic $BENCH_BASIC" \
        --data 'grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default' "${BASE[$s]}$p")
      python3 - "$s" "$body" <<'PY'
import base64, json, sys
s, body = sys.argv[1], json.loads(sys.argv[2])
h = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
assert h["alg"] == "ES256" and h.get("typ") == "at+jwt", (s, h)
PY
    else
      curl -fsS -o /dev/null "${BASE[$s]}$p"
    fi
  done
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
run_wrk() { # scenario server seconds -> WRKJSON line
  local sc=$1 s=$2 secs=$3
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 5s -s "$BENCH/wrk/${SCRIPT_OF[$sc]}" \
    "${BASE[$s]}${PATH_OF[$sc:$s]}" | sed -n 's/^WRKJSON //p'
}

: >"$RUN/results.jsonl"
SERVERS=(portvakt peer ceiling)
for sc in $SCENARIO_LIST; do
  say "warm-up $sc (${WARMUP} s per server)"
  for s in "${SERVERS[@]}"; do
    [[ -n ${PATH_OF[$sc:$s]:-} ]] && run_wrk "$sc" "$s" "$WARMUP" >/dev/null
  done
done
for round in $(seq 1 "$ROUNDS"); do
  # Rotate the order so no server always follows the same neighbour.
  k=$(( (round - 1) % 3 ))
  order=("${SERVERS[@]:$k}" "${SERVERS[@]:0:$k}")
  for sc in $SCENARIO_LIST; do
    for s in "${order[@]}"; do
      [[ -z ${PATH_OF[$sc:$s]:-} ]] && continue
      line=$(run_wrk "$sc" "$s" "$DURATION")
      printf '{"scenario":"%s","server":"%s","round":%d,"wrk":%s}\n' "$sc" "$s" "$round" "$line" >>"$RUN/results.jsonl"
      python3 - "$round" "$sc" "$s" "$line" >&2 <<'PY'
import json, sys
r, sc, s, w = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
rate = w["requests"] / (w["duration_us"] / 1e6)
print(f"round {r}  {sc:<10} {s:<9} {rate:>9.0f} req/s  p50 {w['p50_us'] / 1000:.2f} ms  "
      f"p99 {w['p99_us'] / 1000:.2f} ms  non-2xx {w['non2xx']}")
PY
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A AFTER_KB HWM_KB
for s in portvakt peer ceiling; do AFTER_KB[$s]=$(rss_kb "${PID[$s]}"); HWM_KB[$s]=$(hwm_kb "${PID[$s]}"); done
DROPPED=$(grep -c "sign-in failed" "$RUN/portvakt.log" || true)

# ---------------------------------------------------------------- report
python3 - "$RUN/meta.json" <<PY
import json, sys
meta = {
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "nproc": $(nproc),
  "cpu": $(python3 -c 'import json; print(json.dumps(next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")))'),
  "mem_gib": $(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo),
  "kernel": "Linux $(uname -r)",
  "command": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$COMMAND"),
  "rounds": $ROUNDS, "duration_s": $DURATION, "warmup_s": $WARMUP,
  "threads": $THREADS, "connections": $CONNECTIONS,
  "wrk_version": "$(wrk --version 2>&1 | head -1 | awk '{print $2}')",
  "node_version": "$(node --version)",
  "peer_version": "$(node -p 'require("'"$BENCH"'/peer/node_modules/oidc-provider/package.json").version')",
  "portvakt_version": "$("$PORTVAKT" --version | awk '{print $2}')",
  "load_before": "$LOAD_BEFORE", "load_after": "$LOAD_AFTER",
  "failed_signins_logged": $DROPPED,
  "sign_only": $SIGN_ONLY,
  "memory": {s: {"idle_kb": i, "after_kb": a, "hwm_kb": h} for s, i, a, h in [
    ("portvakt", ${IDLE_KB[portvakt]}, ${AFTER_KB[portvakt]}, ${HWM_KB[portvakt]}),
    ("peer", ${IDLE_KB[peer]}, ${AFTER_KB[peer]}, ${HWM_KB[peer]}),
    ("ceiling", ${IDLE_KB[ceiling]}, ${AFTER_KB[ceiling]}, ${HWM_KB[ceiling]})]},
  "startup": {"portvakt_cold": $STARTUP_PV_COLD, "portvakt_warm": $STARTUP_PV_WARM,
              "peer": $STARTUP_PEER, "ceiling": $STARTUP_CEIL},
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PY
echo
python3 "$BENCH/report.py" "$RUN" "$OUT"
echo "raw results: $RUN/results.jsonl"
