#!/usr/bin/env bash
# TLS benchmark (issue #16). Run on purpose; not part of the test-suite.
#
#   bench/tls.sh                                   # 3 rounds × 10 s per measurement
#   BENCH_ROUNDS=1 BENCH_DURATION=3 bench/tls.sh   # quick look
#
# Two questions, each answered by measurements taken in the same rounds, order rotating:
#  1. What does TLS cost a client that keeps its connection? Client credentials
#     (client_secret_basic, ES256 tokens) against two Portvakt processes built alike, one
#     plain HTTP, one `--tls-cert/--tls-key`, same wrk settings (keep-alive).
#     Goal: TLS ≥ 80 % of plain.
#  2. How many new TLS connections per second? `GET /health` with `Connection: close`,
#     so every request is a full handshake (wrk sets no session to resume), against
#     Portvakt and the peer npm oidc-provider served by node's https with the same
#     certificate (ECDSA P-256 leaf of a throw-away CA, made by openssl here): both
#     negotiate TLS 1.3 with X25519 with wrk's OpenSSL.
#
# Environment (all optional): BENCH_DURATION (10), BENCH_ROUNDS (3), BENCH_WARMUP (3),
# BENCH_THREADS (2), BENCH_CONNECTIONS (32), CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if (( DURATION > 120 || WARMUP > 120 )); then
  echo "BENCH_DURATION and BENCH_WARMUP are capped at 120 s" >&2
  exit 2
fi
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
ensure_wrk
for tool in node npm curl python3 cargo openssl; do
  command -v "$tool" >/dev/null || { echo "bench/tls.sh needs $tool" >&2; exit 1; }
done

say "npm ci (bench/peer: oidc-provider)"
(cd "$BENCH/peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
say "cargo build --release -p portvakt"
(cd "$ROOT" && cargo build --release -q -p portvakt)

RUN=$(mktemp -d -t portvakt-bench-tls.XXXXXX)
cp "$TARGET/release/portvakt" "$RUN/"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT

say "a throw-away CA and an ECDSA P-256 leaf for 127.0.0.1 (openssl)"
(
  cd "$RUN"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -subj "/CN=Portvakt bench CA" -days 2 -out ca.pem 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out leaf.ec 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in leaf.ec -out leaf.key
  openssl req -new -key leaf.key -subj "/CN=127.0.0.1" -out leaf.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile leaf.ext -out leaf.pem 2>/dev/null
)

write_cc_import "$RUN/import.json"

wait_health() { # URL
  for _ in $(seq 1 3000); do
    curl -fsS --cacert "$RUN/ca.pem" -o /dev/null "$1/health" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "no answer from $1/health" >&2
  return 1
}

PLAIN_PORT=$(free_port); TLS_PORT=$(free_port); PEER_PORT=$(free_port)
LIMITS=(--max-connections-per-address 0 --signins-per-minute 1000000)
PORTVAKT_LOG=warn "$RUN/portvakt" serve --data "$RUN/plain" --listen "127.0.0.1:$PLAIN_PORT" \
  --import "$RUN/import.json" "${LIMITS[@]}" >"$RUN/plain.log" 2>&1 &
PIDS+=($!); PLAIN_PID=$!
PORTVAKT_LOG=warn "$RUN/portvakt" serve --data "$RUN/tls" --listen "127.0.0.1:$TLS_PORT" \
  --import "$RUN/import.json" "${LIMITS[@]}" --tls-cert "$RUN/leaf.pem" --tls-key "$RUN/leaf.key" >"$RUN/tls.log" 2>&1 &
PIDS+=($!); TLS_PID=$!
PEER_TLS_CERT="$RUN/leaf.pem" PEER_TLS_KEY="$RUN/leaf.key" node "$BENCH/peer/server.mjs" "$PEER_PORT" >"$RUN/peer.log" 2>&1 &
PIDS+=($!); PEER_PID=$!
PLAIN="http://127.0.0.1:$PLAIN_PORT"; TLS="https://127.0.0.1:$TLS_PORT"; PEER="https://127.0.0.1:$PEER_PORT"
wait_health "$PLAIN"; wait_health "$TLS"; wait_health "$PEER"
# A correct token over TLS, and the protocol both sides speak.
curl -fsS --cacert "$RUN/ca.pem" -H "Authorization: Basic $BENCH_BASIC" \
  -d 'grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default' "$TLS/bench/oauth2/token" \
  | grep -q access_token || { echo "no token over TLS" >&2; exit 1; }
for u in "$TLS" "$PEER"; do
  echo | openssl s_client -connect "${u#https://}" -CAfile "$RUN/ca.pem" 2>/dev/null \
    | grep -E '^(New|Server Temp Key|Verify return code)' | sed "s|^|  ${u}: |" >&2 || true
done

# wrk SCRIPT URL [extra args…] → the WRKJSON line
run_wrk() {
  local script=$1 url=$2; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$BENCH/wrk/$script" "$@" "$url" \
    | sed -n 's/^WRKJSON //p'
}
warm() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH/wrk/$1" "${@:3}" "$2" >/dev/null; }

say "warm-up (${WARMUP} s each)"
warm token.lua "$PLAIN/bench/oauth2/token"
warm token.lua "$TLS/bench/oauth2/token"
warm get.lua "$TLS/health" -H "Connection: close"
warm get.lua "$PEER/health" -H "Connection: close"

RESULTS="$RUN/results.jsonl"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  if (( round % 2 )); then order=(plain tls pv_hs peer_hs); else order=(peer_hs pv_hs tls plain); fi
  for m in "${order[@]}"; do
    case $m in
      plain)   line=$(run_wrk token.lua "$PLAIN/bench/oauth2/token") ;;
      tls)     line=$(run_wrk token.lua "$TLS/bench/oauth2/token") ;;
      pv_hs)   line=$(run_wrk get.lua "$TLS/health" -H "Connection: close") ;;
      peer_hs) line=$(run_wrk get.lua "$PEER/health" -H "Connection: close") ;;
    esac
    say "round $round $m: $line"
    echo "{\"round\":$round,\"m\":\"$m\",\"r\":$line}" >> "$RESULTS"
  done
done
RSS_TLS=$(awk '/^VmRSS:/ {print $2}' "/proc/$TLS_PID/status")
RSS_PLAIN=$(awk '/^VmRSS:/ {print $2}' "/proc/$PLAIN_PID/status")
RSS_PEER=$(awk '/^VmRSS:/ {print $2}' "/proc/$PEER_PID/status")

python3 - "$RESULTS" "$DURATION" "$ROUNDS" "$THREADS" "$CONNECTIONS" "$RSS_PLAIN" "$RSS_TLS" "$RSS_PEER" <<'PY'
import json, statistics, sys
path, dur, rounds, threads, conns = sys.argv[1], *sys.argv[2:6]
rss = dict(zip(["plain", "tls", "peer"], sys.argv[6:9]))
rows = [json.loads(l) for l in open(path)]
bad = [r for r in rows if r["r"]["non2xx"] or r["r"]["connect"] or r["r"]["timeout"]]
if bad:
    print("refusing a run with errors:", bad, file=sys.stderr)
    sys.exit(1)
def rate(r): return r["requests"] / (r["duration_us"] / 1e6)
by = {}
for r in rows:
    by.setdefault(r["m"], []).append(r["r"])
med = {m: statistics.median(rate(x) for x in v) for m, v in by.items()}
p99 = {m: statistics.median(x["p99_us"] for x in v) / 1000 for m, v in by.items()}
ratios = [rate(t) / rate(p) for t, p in zip(by["tls"], by["plain"])]
hs = [rate(a) / rate(b) for a, b in zip(by["pv_hs"], by["peer_hs"])]
print(f"\nTLS benchmark: {rounds} rounds × {dur} s, wrk -t{threads} -c{conns}, medians of the rounds\n")
print("| measurement | Portvakt | peer oidc-provider | ratio |")
print("|---|---:|---:|---:|")
print(f"| client credentials, plain HTTP, keep-alive (req/s) | {med['plain']:,.0f} (p99 {p99['plain']:.2f} ms) | | |")
print(f"| client credentials, TLS 1.3, keep-alive (req/s) | {med['tls']:,.0f} (p99 {p99['tls']:.2f} ms) | | TLS/plain {statistics.median(ratios)*100:.1f} % (rounds: {', '.join(f'{x*100:.1f}' for x in ratios)}) |")
print(f"| new TLS connections, full handshake + GET /health (conn/s) | {med['pv_hs']:,.0f} (p99 {p99['pv_hs']:.2f} ms) | {med['peer_hs']:,.0f} (p99 {p99['peer_hs']:.2f} ms) | Portvakt/peer {statistics.median(hs):.2f}× |")
print(f"\nRSS after the run: Portvakt plain {int(rss['plain'])//1024} MiB, Portvakt TLS {int(rss['tls'])//1024} MiB, peer {int(rss['peer'])//1024} MiB")
PY
