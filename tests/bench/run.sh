#!/usr/bin/env bash
# Benchmarks of the HTTP edge on this machine: a release build against a throwaway PostgreSQL.
# Prints the figures and appends them, dated, to tests/bench/results.md.
#   tests/bench/run.sh [SECONDS_PER_CASE]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
bash scripts/setup.sh release >/dev/null
bin=build/release/server/scim-bridge
bench=build/release/tests/http_bench

source scripts/test-postgres.sh
start_test_postgres >/dev/null
work=$(mktemp -d)
cleanup() { [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; stop_test_postgres; rm -rf "$work"; }
trap cleanup EXIT
admin_exec() { psql "$SCIM_TEST_PG_DSN" -qAtc "$1" >/dev/null; }
admin_exec "CREATE DATABASE sbbench"
export DATABASE_URL="$SCIM_TEST_PG_DSN dbname=sbbench"
bash certs/make-dev-certs.sh "$work/certs" >/dev/null
"$bin" tenant create bench >/dev/null
token=$("$bin" token create --tenant bench --kind admin | tail -n 1)

# Default log level: the per-request access log is part of what a deployment pays for.
"$bin" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --tls-cert "$work/certs/server.crt" \
    --tls-key "$work/certs/server.key" 2>"$work/log" &
server_pid=$!
port_of() { grep -o "\"scheme\":\"$1\",\"address\":\"[^\"]*\",\"port\":[0-9]*" "$work/log" | grep -o '[0-9]*$'; }
for _ in $(seq 200); do [[ -n "$(port_of http)" && -n "$(port_of https)" ]] && break; sleep 0.05; done
http_port=$(port_of http)
https_port=$(port_of https)
[[ -n "$http_port" && -n "$https_port" ]] || { echo "server did not start:"; cat "$work/log"; exit 1; }

results=tests/bench/results.md
stamp="$(date -u +%Y-%m-%d) ($(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo))"
{
    echo
    echo "## $stamp — HTTP edge, ${seconds}s per case, release build"
    echo
    echo "| case | connections | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|"
} >>"$results"
run_case() {
    local name=$1 conns=$2; shift 2
    local out
    out=$("$bench" --connections "$conns" --seconds "$seconds" "$@")
    echo "$name (c=$conns): $out"
    python3 - "$name" "$conns" "$out" >>"$results" <<'PY'
import json, sys
name, conns, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"| {name} | {conns} | {out['rps']:.0f} | {out['p50_ms']:.3f} | {out['p99_ms']:.3f} | {out['errors']} |")
PY
}
run_case "GET /healthz, plain HTTP" 8 --port "$http_port" --path /healthz
run_case "GET /healthz, TLS" 8 --port "$https_port" --tls "$work/certs/ca.crt" --path /healthz
run_case "GET /admin/v1/whoami (token check in PostgreSQL), plain" 8 --port "$http_port" --path /admin/v1/whoami --token "$token"
run_case "GET /admin/v1/whoami (token check in PostgreSQL), TLS" 8 --port "$https_port" --tls "$work/certs/ca.crt" --path /admin/v1/whoami --token "$token"
run_case "GET /readyz (schema version query), plain" 8 --port "$http_port" --path /readyz
echo "results appended to $results"
