# Shared by the benchmark scripts (sourced): messages, a free port, wrk, and the
# client-credentials tenant every script measures with.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk from Debian's packages, installed when missing.
ensure_wrk() {
  command -v wrk >/dev/null && return 0
  say "installing wrk (apt)"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk
}

# The tenant `bench` with the confidential client `bench` (client_credentials for
# api://analytics/.default), written to FILE; BENCH_BASIC is its Basic credential,
# which bench/wrk/token.lua sends.
BENCH_CLIENT_ID=bench
BENCH_CLIENT_SECRET=bench-secret-0123456789abcdef
export BENCH_BASIC
BENCH_BASIC=$(printf '%s:%s' "$BENCH_CLIENT_ID" "$BENCH_CLIENT_SECRET" | base64 -w0)
write_cc_import() { # FILE
  cat > "$1" <<JSON
{"tenants": [{"name": "bench", "resources": [{"identifier": "api://analytics", "scopes": ["Onboarding.ReadWrite"]}],
  "applications": [{"clientId": "$BENCH_CLIENT_ID", "clientSecret": "$BENCH_CLIENT_SECRET", "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]}]}
JSON
}
