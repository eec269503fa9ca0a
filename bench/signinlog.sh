#!/usr/bin/env bash
# Sign-in log benchmarks (issue #13). Run on purpose; not part of the tests.
#
#   bench/signinlog.sh                          # everything (10,000,000 records: ~10 GB)
#   BENCH_RECORDS=3000000 bench/signinlog.sh    # a quicker look (~3 GB)
#   BENCH_PARTS="cc replay" bench/signinlog.sh  # a subset: store cc replay portal whatif
#
# 1. store: `signinlog-bench run` ingests BENCH_RECORDS records (4 tenants, 70 % in
#    the first; 10,000 users each; 30 days) into a fresh signins.db through
#    SqliteStore's append_signins in batches of 512 (the server writer's), reports
#    records/s (the store alone, to_stored alone, the two on one thread as the
#    server's writer does them), bytes per record (after a checkpoint), and p50/p95/
#    p99 of the issue's three queries (BENCH_QUERIES runs each, varying users and
#    correlation ids), then what-ifs on the same file (see BENCHMARKS.md).
# 2. cc: two release servers, `--signin-log on` and `--signin-log off`, same import
#    (tenant logbench, 6 policies), client credentials with wrk, alternating rounds;
#    the median of the per-round ratios (goal ≥ 90 %). Afterwards the on-server's log
#    is counted against the requests sent (nothing may be dropped).
# 3. replay: a data dir with tenant logbench (import), 1,000,000 seeded records over
#    7 days (BENCH_REPLAY_RECORDS), the server on it, and the replay API called
#    BENCH_REPLAY_RUNS times with a policy blocking contractors outside trusted
#    locations; the answer must match what the seeder computed with the same engine.
# whatif (not in the default parts): `signinlog-bench what-if`, the store's insert
#    under other page sizes, cache sizes, checkpoint intervals and indexes.
#
# Environment: BENCH_RECORDS (10000000), BENCH_QUERIES (200), BENCH_ROUNDS (5),
# BENCH_DURATION (10, ≤ 120), BENCH_WARMUP (3), BENCH_THREADS (2),
# BENCH_CONNECTIONS (32), BENCH_REPLAY_RECORDS (1000000), BENCH_REPLAY_RUNS (5),
# BENCH_PARTS ("store cc replay portal"), BENCH_PORTAL_RECORDS (BENCH_RECORDS),
# BENCH_PORTAL_RUNS (200), BENCH_TMP (/tmp), CARGO_TARGET_DIR, BENCH_PORTVAKT (the
# server binary to measure, for an A/B of two builds; default the one built here).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECORDS=${BENCH_RECORDS:-10000000}; QUERIES=${BENCH_QUERIES:-200}
ROUNDS=${BENCH_ROUNDS:-5}; DURATION=${BENCH_DURATION:-10}; WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}; CONNECTIONS=${BENCH_CONNECTIONS:-32}
REPLAY_RECORDS=${BENCH_REPLAY_RECORDS:-1000000}; REPLAY_RUNS=${BENCH_REPLAY_RUNS:-5}
PARTS=${BENCH_PARTS:-store cc replay portal}; TMPROOT=${BENCH_TMP:-/tmp}
(( DURATION <= 120 && WARMUP <= 120 )) || { echo "BENCH_DURATION/BENCH_WARMUP ≤ 120" >&2; exit 2; }
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET/release/signinlog-bench"; PV="${BENCH_PORTVAKT:-$TARGET/release/portvakt}"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
part() { [[ " $PARTS " == *" $1 "* ]]; }
# Bytes a record takes with today's schema (packed records: ~920 B, session 9), with
# a margin for the WAL and the rows before a checkpoint: refuse to start what the
# disk cannot hold.
need_disk() { # records label
  local need=$(( $1 * 2000 / 1024 / 1024 )) avail
  avail=$(df -Pm "$TMPROOT" | awk 'NR==2 {print $4}')
  if (( need + 2048 > avail )); then
    echo "$2: $1 records need ~${need} MB in $TMPROOT, ${avail} MB free; lower the count (BENCH_RECORDS / BENCH_REPLAY_RECORDS)" >&2
    exit 1
  fi
}

say "cargo build --release -p portvakt -p signinlog-bench"
(cd "$ROOT" && cargo build --release -q -p portvakt -p signinlog-bench)
RUN=$(mktemp -d "$TMPROOT/portvakt-signinlog.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # name data port [args…] ; sets LAST_PID
  local name=$1 data=$2 port=$3; shift 3
  PORTVAKT_LOG=warn "$PV" serve --data "$data" --listen "127.0.0.1:$port" --max-connections-per-address 0 "$@" \
    >>"$RUN/$name.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID")
  for _ in $(seq 1 1200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && return 0
    kill -0 "$LAST_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server $name did not start" >&2; cat "$RUN/$name.log" >&2; exit 1
}
stop() { # pid: SIGTERM, wait (the sign-in log is flushed on the way out)
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cpu_s() { # pid [thread-name-prefix] -> CPU seconds of the process (or of its threads so named)
  python3 - "$@" <<'PY'
import os, sys
pid, name = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
tck = os.sysconf("SC_CLK_TCK"); total = 0
for tid in ([pid] if name is None else os.listdir(f"/proc/{pid}/task")):
    base = f"/proc/{pid}" if name is None else f"/proc/{pid}/task/{tid}"
    if name is not None and not open(f"{base}/comm").read().startswith(name):
        continue
    f = open(f"{base}/stat").read().rsplit(")", 1)[1].split()
    total += int(f[11]) + int(f[12])
print(total / tck)
PY
}
count_log() { # data dir -> rows in signins.db
  python3 - "$1/signins.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT (SELECT COUNT(*) FROM signins) + (SELECT coalesce(SUM(n), 0) FROM signin_blocks)").fetchone()[0])
PY
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; load $(cut -d' ' -f1-3 /proc/loadavg)"

if part store; then
  need_disk "$RECORDS" store
  say "store: $RECORDS records, $QUERIES runs per query"
  "$BIN" run --dir "$RUN/store" --records "$RECORDS" --queries "$QUERIES" --no-what-if 2> >(tee "$RUN/store.err" >&2) | tee "$RUN/store.out"
  rm -rf "$RUN/store"
  echo "load after the store part: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

if part whatif; then
  say "what-if: the store's insert under other settings"
  "$BIN" what-if --records "${BENCH_WHATIF_RECORDS:-300000}" --queries 50 2>&1 | tee "$RUN/whatif.out"
fi

if part cc; then
  command -v wrk >/dev/null || { echo "the cc part needs wrk (apt-get install wrk)" >&2; exit 1; }
  say "client credentials, --signin-log on vs off: $ROUNDS rounds × ${DURATION} s"
  "$BIN" import-file "$RUN/import.json" --users 10000
  export BENCH_BASIC
  BENCH_BASIC=$(printf 'bench:bench-secret-0123456789abcdef' | base64 -w0)
  PORT_ON=$(free_port); start on "$RUN/on" "$PORT_ON" --import "$RUN/import.json" --signin-log on; PID_ON=$LAST_PID
  PORT_OFF=$(free_port); start off "$RUN/off" "$PORT_OFF" --import "$RUN/import.json" --signin-log off; PID_OFF=$LAST_PID
  for p in "$PORT_ON" "$PORT_OFF"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -u bench:bench-secret-0123456789abcdef \
      -d grant_type=client_credentials -d scope=api://analytics/.default "http://127.0.0.1:$p/logbench/oauth2/token")
    [[ $code == 200 ]] || { echo "port $p: token request answered $code" >&2; exit 1; }
  done
  wrk_run() { # port seconds -> "requests rate"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" -s "$ROOT/bench/wrk/token.lua" "http://127.0.0.1:$1/logbench/oauth2/token" \
      | python3 -c 'import json,sys
for l in sys.stdin:
    if l.startswith("WRKJSON "):
        d=json.loads(l[8:]); assert d["non2xx"]==0, d; print(d["requests"], round(d["requests"]/(d["duration_us"]/1e6)))'
  }
  C0_ON=$(cpu_s "$PID_ON"); C0_OFF=$(cpu_s "$PID_OFF"); C0_W=$(cpu_s "$PID_ON" portvakt-signin)
  SENT_ON=1 # the check above
  read -r n _ < <(wrk_run "$PORT_ON" "$WARMUP"); SENT_ON=$((SENT_ON + n))
  SENT_OFF=1
  read -r n _ < <(wrk_run "$PORT_OFF" "$WARMUP"); SENT_OFF=$((SENT_OFF + n))
  RATIOS=(); ON=(); OFF=()
  for r in $(seq 1 "$ROUNDS"); do
    if (( r % 2 )); then
      read -r n on < <(wrk_run "$PORT_ON" "$DURATION"); read -r m off < <(wrk_run "$PORT_OFF" "$DURATION")
    else
      read -r m off < <(wrk_run "$PORT_OFF" "$DURATION"); read -r n on < <(wrk_run "$PORT_ON" "$DURATION")
    fi
    SENT_ON=$((SENT_ON + n)); SENT_OFF=$((SENT_OFF + m)); ON+=("$on"); OFF+=("$off")
    RATIOS+=("$(python3 -c "print(round($on/$off*100,1))")")
    say "round $r: log on $on/s, log off $off/s (${RATIOS[-1]} %)"
  done
  CPU_ON=$(python3 -c "print($(cpu_s "$PID_ON") - $C0_ON)"); CPU_OFF=$(python3 -c "print($(cpu_s "$PID_OFF") - $C0_OFF)")
  CPU_WRITER=$(python3 -c "print($(cpu_s "$PID_ON" portvakt-signin) - $C0_W)")
  stop "$PID_ON"; stop "$PID_OFF"
  LOGGED=$(count_log "$RUN/on")
  DROPS=$(grep -c "dropped" "$RUN/on.log" || true)
  python3 - "${ON[*]}" "${OFF[*]}" "${RATIOS[*]}" "$SENT_ON" "$LOGGED" "$DROPS" "$CPU_ON" "$CPU_OFF" "$CPU_WRITER" "$SENT_OFF" <<'PY'
import statistics, sys
on = [int(x) for x in sys.argv[1].split()]; off = [int(x) for x in sys.argv[2].split()]; r = [float(x) for x in sys.argv[3].split()]
sent, logged, drops = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
cpu_on, cpu_off, cpu_writer, sent_off = float(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10])
print(f"client credentials: sign-in log on {statistics.median(on)}/s, off {statistics.median(off)}/s, "
      f"median of per-round ratios {round(statistics.median(r), 1)} % (rounds: {', '.join(f'{x} %' for x in r)}); goal ≥ 90 %")
print(f"  on-server: {sent} token requests answered 200, {logged} sign-ins in its log "
      f"({logged / max(sent, 1) * 100:.2f} %), {drops} 'dropped' warnings in its log")
print(f"  server CPU per token request (all threads, warm-up and rounds): log on {cpu_on / max(sent, 1) * 1e6:.1f} µs, "
      f"log off {cpu_off / max(sent_off, 1) * 1e6:.1f} µs; the sign-in log writer thread alone {cpu_writer / max(logged, 1) * 1e6:.1f} µs per record "
      f"({cpu_writer:.1f} s CPU)")
PY
  rm -rf "$RUN/on" "$RUN/off"
fi

if part replay; then
  need_disk "$REPLAY_RECORDS" replay
  say "replay: $REPLAY_RECORDS records, $REPLAY_RUNS calls"
  [[ -f "$RUN/import.json" ]] || "$BIN" import-file "$RUN/import.json" --users 10000
  PORT=$(free_port)
  start replay-import "$RUN/replay" "$PORT" --import "$RUN/import.json"; stop "$LAST_PID"
  "$BIN" seed --data "$RUN/replay" --tenant logbench --records "$REPLAY_RECORDS" --users 10000 --days 7 \
    --proposal-out "$RUN/proposal.json" | tee "$RUN/seed.out"
  start replay "$RUN/replay" "$PORT"; PID=$LAST_PID
  TOKEN=$(python3 - "$RUN/replay/admin.json" "http://127.0.0.1:$PORT" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
c = json.load(open(sys.argv[1]))
req = urllib.request.Request(sys.argv[2] + "/system/oauth2/token",
    data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "urn:portvakt:admin/admin"}).encode(),
    headers={"Authorization": "Basic " + base64.b64encode(f"{c['clientId']}:{c['clientSecret']}".encode()).decode()})
print(json.load(urllib.request.urlopen(req))["access_token"])
PY
)
  TIMES=()
  for i in $(seq 1 "$REPLAY_RUNS"); do
    t=$(curl -sS -o "$RUN/replay.json" -w '%{http_code} %{time_total}' --max-time 600 \
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@$RUN/proposal.json" \
      "http://127.0.0.1:$PORT/admin/v1/tenants/logbench/identity/conditionalAccess/replay")
    [[ ${t%% *} == 200 ]] || { echo "replay answered ${t%% *}: $(head -c 600 "$RUN/replay.json")" >&2; exit 1; }
    TIMES+=("${t#* }")
    say "replay $i: ${t#* } s"
  done
  stop "$PID"
  python3 - "$RUN/seed.out" "$RUN/replay.json" "${TIMES[*]}" <<'PY'
import json, statistics, sys
seed = next(json.loads(l[7:]) for l in open(sys.argv[1]) if l.startswith("RESULT "))
r = json.load(open(sys.argv[2])); t = [float(x) for x in sys.argv[3].split()]
nb = r["newlyBlocked"]
print(f"replay of one policy over {seed['tenant_records']} records: median {statistics.median(t):.2f} s "
      f"(runs: {', '.join(f'{x:.2f}' for x in t)} s); goal ≤ 5 s")
print(f"  answer: replayed {r['replayed']}, not replayable {r['notReplayable']}, newly blocked {nb['signIns']} sign-ins "
      f"of {len(nb['users'])} users, newly MFA {r['newlyMfa']['signIns']}, no longer affected {r['noLongerAffected']['signIns']}")
print(f"  expected (seeder, same engine): replayed {seed['expected_replayed']}, newly blocked {seed['expected_newly_blocked']}")
ok = nb["signIns"] == seed["expected_newly_blocked"] and r["replayed"] == seed["expected_replayed"] and nb["signIns"] > 0
print("  check: " + ("the answer matches and is non-trivial" if ok else "MISMATCH"))
sys.exit(0 if ok else 1)
PY
  rm -rf "$RUN/replay"
fi

# 4. portal (issue #14): the portal's sign-in log page over BENCH_PORTAL_RECORDS
#    records (30 days): a data dir with tenant logbench and a portal admin, the
#    records seeded, an admin session made by the real sign-in (password), then
#    BENCH_PORTAL_RUNS sequential requests of the first page and of a filtered page
#    (a user's failures in 7 days); p50/p95 of the time to the last byte over
#    loopback (= the server's time), and the size of every portal page. Goals:
#    ≤ 100 ms p95, no page over 150 KB.
if part portal; then
  PORTAL_RECORDS=${BENCH_PORTAL_RECORDS:-$RECORDS}; PORTAL_RUNS=${BENCH_PORTAL_RUNS:-200}
  need_disk "$PORTAL_RECORDS" portal
  say "portal: $PORTAL_RECORDS records, $PORTAL_RUNS requests per page"
  [[ -f "$RUN/import.json" ]] || "$BIN" import-file "$RUN/import.json" --users 10000
  python3 - "$RUN/import.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
t = next(t for t in f["tenants"] if t["name"] == "logbench")
t.setdefault("users", []).append({"userPrincipalName": "portal-admin@logbench.example", "displayName": "Portal admin",
                                  "password": "portal admin long password", "roles": ["admin"]})
json.dump(f, open(sys.argv[1], "w"))
PY
  PORT=$(free_port)
  start portal-import "$RUN/portal" "$PORT" --import "$RUN/import.json"; stop "$LAST_PID"
  "$BIN" seed --data "$RUN/portal" --tenant logbench --records "$PORTAL_RECORDS" --users 10000 --days 30 \
    --proposal-out "$RUN/portal-proposal.json" > "$RUN/portal-seed.out"
  start portal "$RUN/portal" "$PORT"; PID=$LAST_PID
  COOKIE=$(python3 - "http://127.0.0.1:$PORT" <<'PY'
import http.client, re, sys, urllib.parse
base = urllib.parse.urlsplit(sys.argv[1]); jar = {}
def req(method, url, body=None):
    u = urllib.parse.urlsplit(url if "://" in url else sys.argv[1] + url)
    c = http.client.HTTPConnection(base.hostname, base.port)
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=h)
    r = c.getresponse(); data = r.read().decode()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            val = rest.split(";")[0]
            if val and "Max-Age=0" not in v: jar[name] = val
            else: jar.pop(name, None)
    return r.status, r.getheader("Location"), data
s, loc, _ = req("GET", "/portal/logbench/signins"); assert s == 303, s
s, loc, _ = req("GET", loc); assert s == 303, s
s, _, page = req("GET", loc); assert s == 200, s
hidden = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))
form = urllib.parse.urlencode({"interaction": hidden["interaction"], "csrf": hidden["csrf"],
                               "username": "portal-admin@logbench.example", "password": "portal admin long password"})
s, loc, body = req("POST", loc.split("?")[0], form); assert s == 303, (s, body[:300])
s, loc, _ = req("GET", loc); assert s == 303 and "pv_portal" in jar, s
print(jar["pv_portal"])
PY
)
  # A user of the newest failed sign-ins (the page measured is that user's failures),
  # as `portvakt logs` shows them.
  USER=$("$PV" logs --data "$RUN/portal" --tenant logbench --status failure --top 20 --json | python3 -c '
import json, sys
print(next(r["userPrincipalName"] for r in map(json.loads, sys.stdin) if r.get("userPrincipalName")))')
  measure() { # label path
    local out="$RUN/portal-$1.times"; : > "$out"
    for _ in $(seq 1 "$PORTAL_RUNS"); do
      curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' -H "Cookie: pv_portal=$COOKIE" \
        "http://127.0.0.1:$PORT$2" >> "$out"
    done
    python3 - "$1" "$out" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[2])]
assert all(r[0] == "200" for r in rows), set(r[0] for r in rows)
t = sorted(float(r[1]) * 1000 for r in rows); size = max(int(r[2]) for r in rows)
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print(f"portal {sys.argv[1]}: p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, p99 {p(0.99):.1f} ms over {len(t)} requests; {size} bytes")
PY
  }
  measure "sign-in log, first page" "/portal/logbench/signins"
  measure "sign-in log, one user's failures in 7 days" "/portal/logbench/signins?range=7d&status=failure&user=$USER"
  measure "sign-in log, failures in 24 h" "/portal/logbench/signins?range=24h&status=failure"
  for p in overview policies audit users groups apps keys whatif replay; do
    curl -sS -o /dev/null -w "portal page $p: %{http_code}, %{size_download} bytes, %{time_total} s\n" \
      -H "Cookie: pv_portal=$COOKIE" "http://127.0.0.1:$PORT/portal/logbench/$p"
  done
  stop "$PID"
  rm -rf "$RUN/portal"
fi
