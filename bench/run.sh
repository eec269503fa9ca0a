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
# Scenarios wrk cannot drive use bench/loadgen (portvakt-bench-loadgen): refresh-token
# chains (single-use tokens, rotation checked), password sign-ins through the login
# form, and the token endpoint's latency during a login storm. The raw Argon2id rate
# comes from `portvakt-bench-ceiling --argon2`, measured in every round next to the
# sign-ins; guard validation from `cargo bench -p portvakt-guard --bench validate`.
#
# Environment (all optional):
#   BENCH_DURATION     seconds per wrk run (default 10, at most 120)
#   BENCH_ROUNDS       rounds (default 3)
#   BENCH_WARMUP       warm-up seconds per server and scenario (default 3)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 32)
#   BENCH_STARTUP_RUNS start-up measurements per server (default 5)
#   BENCH_SCENARIOS    space-separated subset of: cc refresh introspection
#                      introspection_cc introspection_cold login storm memory guard discovery
#                      jwks (default all)
#   BENCH_COLD_TOKENS  distinct tokens cycled by introspection_cold (default 10000)
#   BENCH_CHAINS       refresh chains, one token family each (default 32)
#   BENCH_LOGIN_CHAINS concurrent sign-ins of the login scenario and storm (default 8)
#   BENCH_PROBE_RATE   token requests/s of the storm probe (default 200)
#   BENCH_REFRESH_TOTAL refresh tokens to issue for the memory figure (default 100000)
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
SCENARIO_LIST=${BENCH_SCENARIOS:-"cc refresh introspection introspection_cc introspection_cold login storm memory guard discovery jwks"}
COLD_TOKENS=${BENCH_COLD_TOKENS:-10000}
CHAINS=${BENCH_CHAINS:-32}
LOGIN_CHAINS=${BENCH_LOGIN_CHAINS:-8}
PROBE_RATE=${BENCH_PROBE_RATE:-200}
REFRESH_TOTAL=${BENCH_REFRESH_TOTAL:-100000}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
COMMAND="${BENCH_COMMAND_LINE:-$(env | grep -E '^(BENCH_|CARGO_TARGET_DIR=)' | sort | tr '\n' ' ')bench/run.sh}"

# Bounded: every wrk run is time-limited, so the request count is too.
if (( DURATION > 120 || WARMUP > 120 )); then
  echo "BENCH_DURATION and BENCH_WARMUP are capped at 120 s" >&2
  exit 2
fi
if (( CHAINS > 256 || LOGIN_CHAINS > 64 || REFRESH_TOTAL > 1000000 )); then
  echo "BENCH_CHAINS ≤ 256, BENCH_LOGIN_CHAINS ≤ 64, BENCH_REFRESH_TOTAL ≤ 1,000,000" >&2
  exit 2
fi
has() { [[ " $SCENARIO_LIST " == *" $1 "* ]]; }

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

say "cargo build --release (portvakt, bench ceiling, bench loadgen)"
(cd "$ROOT" && cargo build --release -q -p portvakt -p portvakt-bench-ceiling -p portvakt-bench-loadgen)
GUARD_BENCH=""
if has guard; then
  say "cargo bench --no-run (portvakt-guard, bench validate)"
  GUARD_BENCH=$(cd "$ROOT" && cargo bench -q -p portvakt-guard --bench validate --no-run --message-format=json \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "validate":
        print(m["executable"])' | tail -1)
fi

# ---------------------------------------------------------------- run state
RUN=$(mktemp -d -t portvakt-bench.XXXXXX)
# Private copies: the target directory may be shared, and another build must not
# swap a binary in the middle of the run.
cp "$TARGET/release/portvakt" "$TARGET/release/portvakt-bench-ceiling" "$TARGET/release/portvakt-bench-loadgen" "$RUN/"
[[ -n $GUARD_BENCH ]] && cp "$GUARD_BENCH" "$RUN/guard-validate"
PORTVAKT="$RUN/portvakt"
CEILING="$RUN/portvakt-bench-ceiling"
LOADGEN="$RUN/portvakt-bench-loadgen"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN/data"
  rm -rf "$RUN/memdata"
  rm -f "$RUN/portvakt" "$RUN/portvakt-bench-ceiling" "$RUN/portvakt-bench-loadgen" "$RUN/guard-validate"
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
# The user flows: 8 users and the public client `web` (PKCE, code + refresh_token,
# admin-consented). Imported into the running server after the idle RSS is taken (the
# import hashes 8 passwords with Argon2id), never into the start-up measurement.
USERS=8
REFRESH_SCOPE="offline_access api://analytics/.default"
python3 - "$RUN/import-users.json" "$CLIENT_ID" "$CLIENT_SECRET" "$USERS" <<'PY'
import json, sys
out, cid, secret, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
json.dump({"tenants": [{"name": "bench",
  "users": [{"userPrincipalName": f"u{i}@bench.example", "password": f"bench-password-{i}"} for i in range(1, n + 1)],
  "resources": [{"identifier": "api://analytics", "scopes": ["Onboarding.ReadWrite"]}],
  "applications": [
    {"clientId": cid, "clientSecret": secret, "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]},
    {"clientId": "web", "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": ["http://127.0.0.1:9/cb"],
     "allowedScopes": ["api://analytics/.default"], "adminConsented": True}]}]}, open(out, "w"))
PY

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
ARGON2_1=null
if has login; then
  say "Argon2id verification alone, one thread, no HTTP (3 s)"
  ARGON2_1=$("$CEILING" --argon2 3 1 | sed -n 's/^ARGON2 //p')
fi
GUARD=null
if [[ -n $GUARD_BENCH ]]; then
  say "guard validation in-process (cargo bench -p portvakt-guard --bench validate)"
  "$RUN/guard-validate" --bench | tee "$RUN/guard.txt" >&2
  GUARD=$(python3 - "$RUN/guard.txt" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read()
def num(label):
    m = re.findall(re.escape(label) + r"\s+([0-9]+)\s*/s(?:\s+\(([0-9.]+) % of raw\))?", t)
    return m
raw = [float(x[0]) for x in num("raw ES256 verify (aws-lc-rs)")]
full = num("full validation, uncached (Guard)")
pure = num("full validation, Validator only")
hot = num("cached validation (Guard)")
print(json.dumps({"raw_verify_per_s": raw[0] if raw else None,
  "full_per_s": float(full[0][0]) if full else None, "full_pct_raw": float(full[0][1]) if full and full[0][1] else None,
  "validator_per_s": float(pure[0][0]) if pure else None, "validator_pct_raw": float(pure[0][1]) if pure and pure[0][1] else None,
  "cached_per_s": float(hot[0][0]) if hot else None}))
PY
)
fi

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
# The load comes from one address: lift the per-address limits (sign-in starts,
# connections) that would otherwise throttle the login and storm scenarios.
PORTVAKT_LOG=${PORTVAKT_LOG:-info} "$PORTVAKT" serve --data "$RUN/data" --listen "127.0.0.1:$PV_PORT" \
  --import "$RUN/import.json" --signins-per-minute 100000000 --max-connections-per-address 0 \
  >"$RUN/portvakt.log" 2>&1 &
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
say "importing the users and the public client into Portvakt (portvakt import)"
"$PORTVAKT" import --data "$RUN/data" "$RUN/import-users.json" >/dev/null
PV=${BASE[portvakt]}; PEER=${BASE[peer]}

# Scenario → per-server path, wrk script. A server without a path does not take part.
declare -A PATH_OF=(
  [cc:portvakt]="/bench/oauth2/token" [cc:peer]="/bench/oauth2/token" [cc:ceiling]="/bench/oauth2/token"
  [discovery:portvakt]="/bench/.well-known/openid-configuration" [discovery:peer]="/.well-known/openid-configuration"
  [jwks:portvakt]="/bench/oauth2/keys" [jwks:peer]="/bench/oauth2/keys"
  [refresh:portvakt]="/bench/oauth2/token" [refresh:peer]="/bench/oauth2/token"
  [introspection:portvakt]="/bench/oauth2/introspect" [introspection:peer]="/bench/oauth2/introspect"
  [introspection_cc:portvakt]="/bench/oauth2/introspect"
  [introspection_cold:portvakt]="/bench/oauth2/introspect"
  [login:portvakt]="/bench/login" [login:argon2]="-"
  [storm:portvakt]="/bench/oauth2/token"
)
declare -A SCRIPT_OF=([cc]=token.lua [discovery]=get.lua [jwks]=get.lua [introspection]=post.lua [introspection_cc]=post.lua
                     [introspection_cold]=post_many.lua)
# The loadgen's endpoints per server (public client `web`, PKCE). oidc-provider drops
# offline_access unless the request has prompt=consent.
declare -A LOADGEN_OF=(
  [portvakt]="--authorize $PV/bench/oauth2/authorize --token $PV/bench/oauth2/token"
  [peer]="--authorize $PEER/auth --token $PEER/bench/oauth2/token --extra prompt=consent"
)

# The tokens to introspect. Portvakt: a user's access token (JWT; Portvakt checks the
# signature, the denylist and the user row) and a client-credentials JWT (no user row).
# The peer: an opaque access token of the resource api://analytics-opaque (a lookup in
# its in-memory store; it answers active:false for its own JWTs).
declare -A BODY_OF
if has introspection || has introspection_cc; then
  PV_USER_AT=$("$LOADGEN" signin ${LOADGEN_OF[portvakt]} --scope "$REFRESH_SCOPE" | sed -n 's/^LOADJSON //p' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  PV_CC_AT=$(curl -fsS -H "Authorization: Basic $BENCH_BASIC" \
    --data 'grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default' "$PV/bench/oauth2/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  PEER_OPAQUE_AT=$(curl -fsS -H "Authorization: Basic $BENCH_BASIC" \
    --data 'grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default&resource=api%3A%2F%2Fanalytics-opaque' \
    "$PEER/bench/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  BODY_OF=([introspection:portvakt]="token=$PV_USER_AT" [introspection:peer]="token=$PEER_OPAQUE_AT"
           [introspection_cc:portvakt]="token=$PV_CC_AT")
fi

# Introspection without cache hits: distinct client-credentials tokens, cycled by
# bench/wrk/post_many.lua so that none comes back before thousands of others (more
# than the 4,096 a tenant's verified-token cache holds).
COLD_FILE="$RUN/cold-tokens.txt"
if has introspection_cold; then
  say "issuing $COLD_TOKENS client-credentials tokens for introspection_cold"
  python3 - "$PV" "$BENCH_BASIC" "$COLD_TOKENS" "$COLD_FILE" <<'PY'
import http.client, json, sys, urllib.parse
base, basic, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port)
body = "grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default"
hdrs = {"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"}
with open(out, "w") as f:
    for _ in range(n):
        c.request("POST", "/bench/oauth2/token", body, hdrs)
        r = c.getresponse()
        d = r.read()
        assert r.status == 200, d
        f.write(json.loads(d)["access_token"] + "\n")
PY
  BODY_OF[introspection_cold:portvakt]="token=$(head -1 "$COLD_FILE")"
fi

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
    elif [[ $sc == introspection* ]]; then
      body=$(curl -fsS -H "Authorization: Basic $BENCH_BASIC" --data "${BODY_OF[$sc:$s]}" "${BASE[$s]}$p")
      python3 -c 'import json,sys; b=json.loads(sys.argv[2]); assert b.get("active") is True, (sys.argv[1], b)' "$s" "$body"
    elif [[ $sc == refresh ]]; then
      "$LOADGEN" refresh ${LOADGEN_OF[$s]} --scope "$REFRESH_SCOPE" --chains 2 --duration 0.5 >/dev/null
    elif [[ $sc == login || $sc == storm || $p == - ]]; then
      :
    else
      curl -fsS -o /dev/null "${BASE[$s]}$p"
    fi
  done
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
run_wrk() { # scenario server seconds -> WRKJSON line (wrk, or the loadgen's LOADJSON)
  local sc=$1 s=$2 secs=$3
  case $sc in
    refresh)
      "$LOADGEN" refresh ${LOADGEN_OF[$s]} --scope "$REFRESH_SCOPE" --users "$USERS" --chains "$CHAINS" \
        --duration "$secs" | sed -n 's/^LOADJSON //p' ;;
    login)
      if [[ $s == argon2 ]]; then
        # The raw rate on 2 threads, in wrk's shape (requests / duration).
        "$CEILING" --argon2 "$secs" 2 | sed -n 's/^ARGON2 //p' | python3 -c 'import json,sys
d = json.load(sys.stdin); n = d["verifications_per_s"] * float(sys.argv[1])
print(json.dumps({"requests": round(n), "duration_us": int(float(sys.argv[1]) * 1e6), "non2xx": 0, "timeout": 0, "p50_us": 0, "p99_us": 0, "raw": d}))' "$secs"
      else
        "$LOADGEN" login ${LOADGEN_OF[$s]} --scope "$REFRESH_SCOPE" --users "$USERS" --chains "$LOGIN_CHAINS" \
          --duration "$secs" | sed -n 's/^LOADJSON //p'
      fi ;;
    storm)
      "$LOADGEN" storm ${LOADGEN_OF[$s]} --scope "$REFRESH_SCOPE" --users "$USERS" --chains "$LOGIN_CHAINS" \
        --duration "$secs" --probe-rate "$PROBE_RATE" --probe-client "$CLIENT_ID:$CLIENT_SECRET" \
        | sed -n 's/^LOADJSON //p' ;;
    *)
      WRK_BODY=${BODY_OF[$sc:$s]:-} WRK_TOKENS=$COLD_FILE wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 5s \
        -s "$BENCH/wrk/${SCRIPT_OF[$sc]}" "${BASE[$s]}${PATH_OF[$sc:$s]}" | sed -n 's/^WRKJSON //p' ;;
  esac
}

: >"$RUN/results.jsonl"
SERVERS=(portvakt peer ceiling argon2)
for sc in $SCENARIO_LIST; do
  [[ $sc == storm || $sc == memory || $sc == guard ]] && continue
  say "warm-up $sc (${WARMUP} s per server)"
  for s in "${SERVERS[@]}"; do
    [[ -n ${PATH_OF[$sc:$s]:-} ]] && run_wrk "$sc" "$s" "$WARMUP" >/dev/null
  done
done
for round in $(seq 1 "$ROUNDS"); do
  # Rotate the order so no server always follows the same neighbour.
  k=$(( (round - 1) % 4 ))
  order=("${SERVERS[@]:$k}" "${SERVERS[@]:0:$k}")
  for sc in $SCENARIO_LIST; do
    [[ $sc == memory || $sc == guard ]] && continue
    for s in "${order[@]}"; do
      [[ -z ${PATH_OF[$sc:$s]:-} ]] && continue
      line=$(run_wrk "$sc" "$s" "$DURATION")
      [[ -z $line ]] && line='{"requests":0,"duration_us":1,"non2xx":1,"timeout":0,"p50_us":0,"p99_us":0,"failed":true}'
      printf '{"scenario":"%s","server":"%s","round":%d,"wrk":%s}\n' "$sc" "$s" "$round" "$line" >>"$RUN/results.jsonl"
      python3 - "$round" "$sc" "$s" "$line" >&2 <<'PY'
import json, sys
r, sc, s, w = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if "idle" in w:
    i, t = w["idle"], w["storm"]
    print(f"round {r}  {sc:<16} {s:<9} probe p99 idle {i['p99_us'] / 1000:.2f} ms, during the storm "
          f"{t['p99_us'] / 1000:.2f} ms; {w['storm_logins_per_s']:.1f} logins/s")
else:
    rate = w["requests"] / (w["duration_us"] / 1e6)
    extra = ""
    if "race_checked" in w:
        extra = (f"  duplicates {w['duplicates']} lost chains {w['lost_chains']} single race winner "
                 f"{w['race_single_winner']}/{w['race_checked']} last token ok {w['final_ok']} replay refused {w['replay_refused']}")
    print(f"round {r}  {sc:<16} {s:<9} {rate:>9.0f} req/s  p50 {w['p50_us'] / 1000:.2f} ms  "
          f"p99 {w['p99_us'] / 1000:.2f} ms  non-2xx {w['non2xx']}{extra}")
PY
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A AFTER_KB HWM_KB
for s in portvakt peer ceiling; do AFTER_KB[$s]=$(rss_kb "${PID[$s]}"); HWM_KB[$s]=$(hwm_kb "${PID[$s]}"); done
DROPPED=$(grep -c "sign-in failed" "$RUN/portvakt.log" || true)

# ---------------------------------------------------------------- memory: refresh tokens
MEMORY=null
if has memory; then
  say "memory: a fresh Portvakt, $REFRESH_TOTAL refresh tokens issued ($CHAINS chains, at most 120 s)"
  MP=$(free_port)
  PORTVAKT_LOG=${PORTVAKT_LOG:-info} "$PORTVAKT" serve --data "$RUN/memdata" --listen "127.0.0.1:$MP" \
    --import "$RUN/import.json" >"$RUN/portvakt-memory.log" 2>&1 &
  MPID=$!; PIDS+=("$MPID")
  wait_health "http://127.0.0.1:$MP"; sleep 1
  MEM_IDLE=$(rss_kb "$MPID")
  "$PORTVAKT" import --data "$RUN/memdata" "$RUN/import-users.json" >/dev/null
  MEMORY=$("$LOADGEN" refresh --authorize "http://127.0.0.1:$MP/bench/oauth2/authorize" \
    --token "http://127.0.0.1:$MP/bench/oauth2/token" --scope "$REFRESH_SCOPE" --users "$USERS" \
    --chains "$CHAINS" --duration 120 --total "$REFRESH_TOTAL" --rss-pid "$MPID" | sed -n 's/^LOADJSON //p')
  MEMORY=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["rss_idle_kb"]=int(sys.argv[2]); print(json.dumps(d))' "$MEMORY" "$MEM_IDLE")
  kill "$MPID"; wait "$MPID" 2>/dev/null || true
  echo "memory: $MEMORY" | cut -c1-400 >&2
fi

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
  "argon2_1": json.loads(r'''$ARGON2_1'''), "guard": json.loads(r'''$GUARD'''),
  "memory_refresh": json.loads(r'''$MEMORY'''),
  "chains": $CHAINS, "login_chains": $LOGIN_CHAINS, "probe_rate": $PROBE_RATE, "refresh_total": $REFRESH_TOTAL,
  "refresh_scope": "$REFRESH_SCOPE", "users": $USERS,
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
