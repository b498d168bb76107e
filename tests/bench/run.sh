#!/usr/bin/env bash
# Benchmarks on this machine: a release build against a throwaway PostgreSQL with its durable
# defaults (fsync on). Prints the figures and appends them, dated, to tests/bench/results.md.
#   tests/bench/run.sh [SECONDS_PER_CASE] [SUITE...]     suites: edge scim (default: both)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
shift || true
suites=("$@")
((${#suites[@]})) || suites=(edge scim)
bash scripts/setup.sh release >/dev/null
bin=build/release/server/scim-bridge
bench=build/release/tests/http_bench

export TEST_PG_DURABLE=1
source scripts/test-postgres.sh
start_test_postgres >/dev/null
work=$(mktemp -d)
cleanup() { [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; stop_test_postgres; rm -rf "$work"; }
trap cleanup EXIT
psql "$SCIM_TEST_PG_DSN" -qAtc "CREATE DATABASE sbbench" >/dev/null
export DATABASE_URL="$SCIM_TEST_PG_DSN dbname=sbbench"
bash certs/make-dev-certs.sh "$work/certs" >/dev/null
"$bin" tenant create bench >/dev/null
admin=$("$bin" token create --tenant bench --kind admin | tail -n 1)
idp=$("$bin" token create --tenant bench --kind idp --source okta | tail -n 1)

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
cpu=$(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo)
run_case() {
    local name=$1 conns=$2; shift 2
    local out
    out=$("$bench" --connections "$conns" --seconds "$seconds" "$@")
    printf '%-60s %s\n' "$name (c=$conns)" "$out"
    python3 - "$name" "$conns" "$out" >>"$results" <<'PY'
import json, sys
name, conns, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"| {name} | {conns} | {out['requests']} | {out['rps']:.0f} | {out['p50_ms']:.3f} | {out['p99_ms']:.3f} | {out['errors']} |")
PY
}
section() {
    {
        echo
        echo "## $(date -u +%Y-%m-%d) — $1 ($(nproc) cores, $cpu; release build; PostgreSQL fsync on)"
        echo
        echo "| case | connections | requests | req/s | p50 ms | p99 ms | errors |"
        echo "|---|---|---|---|---|---|---|"
    } >>"$results"
}

for suite in "${suites[@]}"; do
case $suite in
edge)
    section "HTTP edge, ${seconds}s per case"
    run_case "GET /healthz, plain HTTP" 8 --port "$http_port" --path /healthz
    run_case "GET /healthz, TLS" 8 --port "$https_port" --tls "$work/certs/ca.crt" --path /healthz
    run_case "GET /admin/v1/whoami (token check), plain" 8 --port "$http_port" --path /admin/v1/whoami --token "$admin"
    run_case "GET /admin/v1/whoami (token check), TLS" 8 --port "$https_port" --tls "$work/certs/ca.crt" --path /admin/v1/whoami --token "$admin"
    run_case "GET /readyz (schema version query), plain" 8 --port "$http_port" --path /readyz
    ;;
scim)
    section "SCIM Users, 10,000 users, ${seconds}s per case (create: 10,000 requests)"
    user='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench{seq}@example.com","externalId":"ext-{seq}","name":{"givenName":"Bench","familyName":"User {seq}"},"emails":[{"value":"bench{seq}@example.com","type":"work","primary":true}],"displayName":"Bench User {seq}","active":true}'
    run_case "POST /Users (create, durable)" 16 --port "$http_port" --token "$idp" --method POST \
        --path /scim/v2/Users --body "$user" --requests 10000
    psql "$DATABASE_URL" -qAtF $'\t' -c "SELECT id, user_name FROM scim_user" >"$work/ids"
    run_case "GET /Users/{id}" 8 --port "$http_port" --token "$idp" --path '/scim/v2/Users/{id}' --ids "$work/ids"
    run_case "GET /Users/{id}, TLS" 8 --port "$https_port" --tls "$work/certs/ca.crt" --token "$idp" --path '/scim/v2/Users/{id}' --ids "$work/ids"
    run_case "GET /Users?filter=userName eq" 8 --port "$http_port" --token "$idp" \
        --path '/scim/v2/Users?filter=userName%20eq%20%22{name}%22' --ids "$work/ids"
    run_case "PUT /Users/{id} (replace, durable)" 16 --port "$http_port" --token "$idp" --method PUT \
        --path '/scim/v2/Users/{id}' --ids "$work/ids" \
        --body '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}","displayName":"Renamed {seq}","active":true}'
    ;;
esac
done
echo "results appended to $results"
