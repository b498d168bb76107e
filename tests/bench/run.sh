#!/usr/bin/env bash
# Benchmarks on this machine: a release build against a throwaway PostgreSQL with its durable
# defaults (fsync on). Prints the figures and appends them, dated, to tests/bench/results.md.
#   tests/bench/run.sh [SECONDS_PER_CASE] [SUITE...]     suites: edge scim scale patch fanout resync durability
#                                                         (default: edge scim)
# scale: SCALE_USERS (default 1,000,000) users and SCALE_GROUPS (default 10,000) groups of 1..200
# members each, COPYed into the tenant; the plans of the lookups (auto_explain), then lookups, a
# co filter, a sorted page and a whole-tenant cursor walk (stopped after SCALE_WALK_MAX_SECONDS,
# default 420, so that the suite stays within 15 minutes on 2 cores). Each request case runs
# SCALE_WARMUP_SECONDS (default 3) unmeasured first.
# patch: PATCH_USERS (default 520,000) users COPYed in; groups of 10, 10,000 and 500,000
# members; PATCH replace active; add/remove one member per group size; 10,000 members added in
# one PATCH; a Bulk of 1,000 user creates.
# fanout: FANOUT_USERS (default 10,000) creates fanned out to a webhook app and an outbound SCIM
# app; creates/s, deliveries/s, commit→delivery latency.
# resync: RESYNC_USERS (default 100,000) users COPYed in and both apps' copies (a webhook app served
# by fanout_sink, an outbound SCIM app into a second tenant) written directly with 1% drift
# (tests/bench/resync_seed.sql); a dry run of both reconcile jobs; the ingest's capacity C
# (POST /Users, closed loop at 16 connections, fan-out on); then POST /Users offered open-loop at
# a fixed rate R (RESYNC_INGEST_RATE, default C/2: the reliability plan's background load for
# tests that judge ingest latency) as a baseline (RESYNC_BASELINE_SECONDS, default 30), and the
# same offered load while both jobs run (RESYNC_INGEST_WINDOW, default 5 s, windows until both
# runs finished and at least SECONDS); p50/p99 pool every request of a phase;
# the time until the repairs are delivered (drift 0), requests sent, and a check run per app.
# RESYNC_MAX_SECONDS (default 600) bounds each wait.
# durability: reliability plan F6 — PostgreSQL killed with SIGKILL during a create load, with
# synchronous_commit off and on; acknowledged creates lost after crash recovery.
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
# BENCH_PG_STATS=FILE: profile PostgreSQL with pg_stat_statements and write its top statements
# (by total time) to FILE when the run ends.
if [[ -n "${BENCH_PG_STATS:-}" ]]; then
    export TEST_PG_CONF="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
${TEST_PG_CONF:-}"
fi
source scripts/test-postgres.sh
start_test_postgres >/dev/null
work=$(mktemp -d)
pg_stats() {
    [[ -n "${BENCH_PG_STATS:-}" ]] || return 0
    psql "$SCIM_TEST_PG_DSN dbname=sbbench" -qc "SELECT calls, round(total_exec_time::numeric) AS total_ms,
        round(mean_exec_time::numeric, 3) AS mean_ms, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 400) AS query
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 40" >"$BENCH_PG_STATS" 2>&1 || true
    cp "$TEST_PG_DIR/log" "$BENCH_PG_STATS.log" 2>/dev/null || true  # with auto_explain in TEST_PG_CONF: the plans
}
cleanup() {
    [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null
    wait 2>/dev/null
    pg_stats
    stop_test_postgres
    rm -rf "$work"
}
trap cleanup EXIT
psql "$SCIM_TEST_PG_DSN" -qAtc "CREATE DATABASE sbbench" >/dev/null
if [[ -n "${BENCH_PG_STATS:-}" ]]; then
    psql "$SCIM_TEST_PG_DSN dbname=sbbench" -qAtc "CREATE EXTENSION pg_stat_statements" >/dev/null
fi
export DATABASE_URL="$SCIM_TEST_PG_DSN dbname=sbbench"
bash certs/make-dev-certs.sh "$work/certs" >/dev/null
"$bin" tenant create bench >/dev/null
admin=$("$bin" token create --tenant bench --kind admin | tail -n 1)
idp=$("$bin" token create --tenant bench --kind idp --source okta | tail -n 1)

# Default log level: the per-request access log is part of what a deployment pays for.
"$bin" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --tls-cert "$work/certs/server.crt" \
    --tls-key "$work/certs/server.key" 2>"$work/log" &
server_pid=$!
port_of() {  # SCHEME [LOG]: the port a serve logged listening on (default: the main server's log)
    grep -o "\"scheme\":\"$1\",\"address\":\"[^\"]*\",\"port\":[0-9]*" "${2:-$work/log}" | grep -o '[0-9]*$' || true
}
await_http_port() {  # LOG NAME: a serve's plain-HTTP port once it listens; its log and exit if it never does
    local port=
    for _ in $(seq 200); do
        port=$(port_of http "$1")
        [[ -n "$port" ]] && break
        sleep 0.05
    done
    [[ -n "$port" ]] || { echo "$2 did not start:" >&2; cat "$1" >&2; return 1; }
    echo "$port"
}
for _ in $(seq 200); do [[ -n "$(port_of http)" && -n "$(port_of https)" ]] && break; sleep 0.05; done
http_port=$(port_of http)
https_port=$(port_of https)
[[ -n "$http_port" && -n "$https_port" ]] || { echo "server did not start:"; cat "$work/log"; exit 1; }

results=${BENCH_RESULTS:-tests/bench/results.md}  # BENCH_RESULTS: elsewhere (trial runs)
cpu=$(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo)
run_case() {
    local name=$1 conns=$2; shift 2
    local out
    if ((${warmup:-0} > 0)); then  # the same requests, unmeasured: caches as in steady service
        "$bench" --connections "$conns" --seconds "$warmup" "$@" >/dev/null || true
    fi
    out=$("$bench" --connections "$conns" --seconds "$seconds" "$@")
    last_out=$out
    printf '%-60s %s\n' "$name (c=$conns)" "$out"
    python3 - "$name" "$conns" "$out" >>"$results" <<'PY'
import json, sys
name, conns, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"| {name} | {conns} | {out['requests']} | {out['rps']:.0f} | {out['p50_ms']:.3f} | {out['p99_ms']:.3f} | {out['errors']} |")
PY
}
section() {  # TITLE [notable]: a dated heading, then (unless "notable") the request table's head
    {
        echo
        echo "## $(date -u +%Y-%m-%d) — $1 ($(nproc) cores, $cpu; release build; PostgreSQL fsync on)"
        echo
        if [[ "${2:-}" != notable ]]; then
            echo "| case | connections | requests | req/s | p50 ms | p99 ms | errors |"
            echo "|---|---|---|---|---|---|---|"
        fi
    } >>"$results"
}
# The fan-out and resync suites' SCIM app: starts tests/bench/scim_sink accepting bearer TOKEN,
# holding what the seed file SEED lists (optional), its counters going to OUT when it stops; sets
# scim_pid and scim_url (from URL_FILE).
random_token() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
start_scim_sink() {  # TOKEN URL_FILE OUT [SEED]
    local seed=()
    [[ -n "${4:-}" ]] && seed=(--seed "$4")
    build/release/tests/scim_sink --url-file "$2" --token "$1" "${seed[@]}" >"$3" &
    scim_pid=$!
    for _ in $(seq 600); do [[ -s "$2" ]] && break; sleep 0.05; done
    [[ -s "$2" ]] || { echo "scim_sink did not start"; exit 1; }
    scim_url=$(cat "$2")
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
scale)
    n_users=${SCALE_USERS:-1000000}
    n_groups=${SCALE_GROUPS:-10000}
    scale=$work/scale
    notes=$work/scale-notes.md
    : >"$notes"
    tenant_id=$(psql "$DATABASE_URL" -qAtc "SELECT id FROM tenant WHERE name = 'bench'")
    now() { date +%s.%N; }
    t0=$(now)
    python3 tests/bench/load_scale.py --tenant "$tenant_id" --users "$n_users" --groups "$n_groups" \
        --out "$scale"
    t1=$(now)
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
        -c "\copy scim_user (tenant_id, id, user_name, external_id, display_name, active, emails, schemas, doc, version, created_at, modified_at) FROM '$scale/users.copy'"
    t2=$(now)
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
        -c "\copy scim_group (tenant_id, id, display_name, external_id, schemas, doc, version, created_at, modified_at) FROM '$scale/groups.copy'" \
        -c "\copy scim_group_member (tenant_id, group_id, member_id, member_type) FROM '$scale/members.copy'"
    t3=$(now)
    # VACUUM as well as ANALYZE: autovacuum would otherwise do it (after a bulk insert) in the
    # middle of the measurements; it also sets the visibility map, as on a settled table.
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "VACUUM (ANALYZE) scim_user, scim_group, scim_group_member"
    t4=$(now)
    # And a checkpoint: the load's 1.5 GB of WAL would otherwise be written out by the
    # checkpointer during the first cases.
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "CHECKPOINT"
    rm -f "$scale"/*.copy
    counts=$(psql "$DATABASE_URL" -qAt -F ' ' -c "SELECT (SELECT count(*) FROM scim_user), (SELECT count(*) FROM scim_group), (SELECT count(*) FROM scim_group_member), pg_size_pretty(pg_database_size('sbbench'))")
    load=$(python3 -c 'import sys; t = [float(x) for x in sys.argv[1:]]; print(f"generate {t[1]-t[0]:.1f}s, COPY users {t[2]-t[1]:.1f}s, COPY groups + members {t[3]-t[2]:.1f}s, VACUUM ANALYZE {t[4]-t[3]:.1f}s; total {t[4]-t[0]:.1f}s")' "$t0" "$t1" "$t2" "$t3" "$t4")
    read -r c_users c_groups c_members db_size <<<"$counts"
    echo "scale load: $c_users users, $c_groups groups, $c_members memberships ($db_size database): $load"
    echo "- Load (COPY, fsync on): $c_users users, $c_groups groups, $c_members memberships, database $db_size: $load." >>"$notes"

    # Plans: a second server whose connections preload auto_explain (log every plan), six
    # requests of each kind, the plans read back from PostgreSQL's log. The benchmarked server's
    # connections were opened before the setting and never log plans.
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "LOAD 'auto_explain'" \
        -c "ALTER DATABASE sbbench SET session_preload_libraries = 'auto_explain'" \
        -c "ALTER DATABASE sbbench SET auto_explain.log_min_duration = 0"
    # One read worker: the six requests of a kind run the same prepared statement on its connection.
    "$bin" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --tls-cert "$work/certs/server.crt" \
        --tls-key "$work/certs/server.key" --read-workers 1 --write-workers 1 2>"$work/explain-log" &
    explain_pid=$!
    trap 'kill "$explain_pid" 2>/dev/null; cleanup' EXIT
    explain_port=$(await_http_port "$work/explain-log" "explain server")
    pglog="$TEST_PG_DIR/log"
    {
        echo
        echo "### Plans at $c_users users (auto_explain; first execution of the list statement, and the 6th when it differs)"
        echo
    } >>"$work/plans.md"
    # plan_of LABEL FILTER: FILTER may hold {id} {name} {ext} {display}, taken from the first six
    # sample users (one per request); a FILTER starting with '&' is a query string instead.
    plan_of() {
        local label=$1 template=$2 n=0 before query id name ext display
        while IFS=$'\t' read -r id name ext display && ((n < 6)); do
            n=$((n + 1))
            query=${template//\{id\}/$id}
            query=${query//\{name\}/$name}
            query=${query//\{ext\}/$ext}
            query=${query//\{display\}/$display}
            if [[ $query == '&'* ]]; then
                query=${query#&}
            else
                query="filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$query")"
            fi
            before=$(stat -c %s "$pglog")
            curl -s -o /dev/null -H "Authorization: Bearer $idp" "http://127.0.0.1:$explain_port/scim/v2/Users?$query"
            sleep 0.1
            tail -c +"$((before + 1))" "$pglog" >"$work/plan-slice-$n"
        done <"$scale/ids.tsv"
        python3 tests/bench/scale_plans.py "$label" "$work/plan-slice-1" "$work/plan-slice-$n" >"$work/plan-one"
        grep '^ *- ' "$work/plan-one" || true
        cat "$work/plan-one" >>"$work/plans.md"
    }
    plan_of 'userName eq' 'userName eq "{name}"'
    plan_of 'externalId eq' 'externalId eq "{ext}"'
    plan_of 'emails.value eq' 'emails.value eq "{name}"'
    plan_of 'displayName eq' 'displayName eq "{display}"'
    plan_of 'id eq' 'id eq "{id}"'
    plan_of 'meta.lastModified gt (last hour of the year)' 'meta.lastModified gt "2026-10-31T23:00:00Z"'
    plan_of 'meta.lastModified ge (last hour of the year)' 'meta.lastModified ge "2026-10-31T23:00:00Z"'
    plan_of 'userName co "user12345"' 'userName co "user12345"'
    plan_of 'sortBy=userName&count=100' '&sortBy=userName&count=100'
    plan_of 'cursor, first page of 1000' '&count=1000&cursor='
    kill "$explain_pid"
    wait "$explain_pid" || true
    trap cleanup EXIT
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "ALTER DATABASE sbbench RESET session_preload_libraries" \
        -c "ALTER DATABASE sbbench RESET auto_explain.log_min_duration"

    echo "- Load average before the workloads: $(cut -d ' ' -f 1-3 /proc/loadavg) (the machine is shared)." >>"$notes"
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    [[ -z "$(git status --porcelain -- db scim server 2>/dev/null)" ]] || rev="$rev + uncommitted changes in db/ scim/ server/"
    echo "- Server: commit $rev." >>"$notes"
    warmup=${SCALE_WARMUP_SECONDS:-3}
    echo "- Each request case first runs ${warmup} s unmeasured (the data was just loaded; a serving tenant's lookup indexes are in memory). The walk is not warmed." >>"$notes"
    section "SCIM scale, $c_users users and $c_groups groups in one tenant, ${seconds}s per case"
    ids=$scale/ids.tsv
    users=/scim/v2/Users
    run_case "GET /Users?filter=userName eq" 8 --port "$http_port" --token "$idp" \
        --path "$users?filter=userName%20eq%20%22{name}%22" --ids "$ids" || true
    run_case "GET /Users?filter=externalId eq" 8 --port "$http_port" --token "$idp" \
        --path "$users?filter=externalId%20eq%20%22{col3}%22" --ids "$ids" || true
    run_case "GET /Users?filter=emails.value eq" 8 --port "$http_port" --token "$idp" \
        --path "$users?filter=emails.value%20eq%20%22{name}%22" --ids "$ids" || true
    run_case "GET /Users?filter=displayName eq" 8 --port "$http_port" --token "$idp" \
        --path "$users?filter=displayName%20eq%20%22{col4}%22" --ids "$ids" || true
    run_case "GET /Users/{id}" 8 --port "$http_port" --token "$idp" --path "$users/{id}" --ids "$ids" || true
    run_case "GET /Users?filter=userName co \"user12345\"" 2 --port "$http_port" --token "$idp" \
        --path "$users?filter=userName%20co%20%22user12345%22" || true
    run_case "GET /Users?sortBy=userName&count=100" 2 --port "$http_port" --token "$idp" \
        --path "$users?sortBy=userName&count=100" || true
    sort_supported=$(curl -s -H "Authorization: Bearer $idp" "http://127.0.0.1:$http_port/scim/v2/ServiceProviderConfig" |
        python3 -c 'import json, sys; print(str(json.load(sys.stdin).get("sort", {}).get("supported")).lower())')
    if [[ "$sort_supported" != true ]]; then
        echo "- Sorting: ServiceProviderConfig says sort.supported=$sort_supported, so the sortBy=userName case measures an unsorted page (not supported yet)." >>"$notes"
    fi
    warmup=0
    walk=$("$bench" --port "$http_port" --token "$idp" --walk "$users?count=1000" \
        --walk-max-seconds "${SCALE_WALK_MAX_SECONDS:-420}") || walk=
    printf '%-60s %s\n' "cursor walk of the tenant, count=1000 (c=1)" "${walk:-failed}"
    python3 - "$walk" >>"$notes" <<'PY'
import json, sys
if not sys.argv[1]:
    print("- Cursor walk (GET /Users?count=1000&cursor=…): failed (see the console).")
else:
    w = json.loads(sys.argv[1])
    if not w["cursor_supported"]:
        print("- Cursor walk (GET /Users?count=1000&cursor=…): not supported yet (the first page has no nextCursor).")
    else:
        partial = "" if w["complete"] else " (stopped early by SCALE_WALK_MAX_SECONDS: a partial walk)"
        print(f"- Cursor walk (GET /Users?count=1000&cursor=…, one connection): {w['users']} users in {w['pages']} pages, "
              f"{w['seconds']:.1f}s, {w['users_per_s']:.0f} users/s{partial} (goal: 50,000 users/s).")
PY
    {
        echo
        echo "Goals: eq lookups ≥ 10,000 req/s; whole-tenant cursor walk ≥ 50,000 users/s."
        echo
        cat "$notes"
        cat "$work/plans.md"
    } >>"$results"
    ;;
patch)
    n_users=${PATCH_USERS:-520000}
    big=$((n_users - 20000))
    tenant_id=$(psql "$DATABASE_URL" -qAtc "SELECT id FROM tenant WHERE name = 'bench'")
    pdir=$work/patch
    python3 tests/bench/load_scale.py --tenant "$tenant_id" --users "$n_users" --groups 0 \
        --sample 20000 --out "$pdir"
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
        -c "\copy scim_user (tenant_id, id, user_name, external_id, display_name, active, emails, schemas, doc, version, created_at, modified_at) FROM '$pdir/users.copy'"
    # Groups of 10, 10,000 and $big members (the first users by id); the last 20,000 users are in
    # none of them and serve as members to add.
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO scim_group (tenant_id, id, display_name, schemas, doc, version, created_at, modified_at)
SELECT '$tenant_id', gen_random_uuid(), name, '{urn:ietf:params:scim:schemas:core:2.0:Group}',
       jsonb_build_object('displayName', name), 1, now(), now()
FROM unnest(ARRAY['g10', 'g10000', 'g$big', 'bulkadd1', 'bulkadd2', 'bulkadd3']) AS name;
WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM scim_user WHERE tenant_id = '$tenant_id')
INSERT INTO scim_group_member (tenant_id, group_id, member_id, member_type)
SELECT '$tenant_id', g.id, r.id, 'User' FROM ranked r JOIN scim_group g ON g.tenant_id = '$tenant_id'
 AND ((g.display_name = 'g10' AND r.n <= 10) OR (g.display_name = 'g10000' AND r.n <= 10000)
   OR (g.display_name = 'g$big' AND r.n <= $big));
VACUUM (ANALYZE) scim_user, scim_group, scim_group_member;
SQL
    rm -f "$pdir"/*.copy
    psql "$DATABASE_URL" -qAt -c "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM scim_user WHERE tenant_id = '$tenant_id') r WHERE n > $big ORDER BY n" >"$pdir/outsiders"
    group_id() { psql "$DATABASE_URL" -qAtc "SELECT id FROM scim_group WHERE tenant_id = '$tenant_id' AND display_name = '$1'"; }
    section "PATCH and Bulk: $n_users users; groups of 10, 10,000 and $big members (${seconds}s or N requests per case)"
    patch_op='{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":'
    run_case "PATCH /Users/{id} replace active=false (durable; 98% change a value)" 16 --port "$http_port" \
        --token "$idp" --method PATCH --path '/scim/v2/Users/{id}' --ids "$pdir/ids.tsv" --ids-in-order true \
        --requests 20000 --body "$patch_op"'[{"op":"replace","path":"active","value":false}]}'
    active_rps=$(python3 -c 'import json,sys; print("%.0f" % json.loads(sys.argv[1])["rps"])' "$last_out")
    declare -A add_p50 remove_p50
    for size in 10 10000 "$big"; do
        gid=$(group_id "g$size")
        run_case "PATCH /Groups/{id} add 1 member, group of $size (one connection)" 1 --port "$http_port" \
            --token "$idp" --method PATCH --path "/scim/v2/Groups/$gid" --ids "$pdir/outsiders" --ids-in-order true \
            --requests 2000 --body "$patch_op"'[{"op":"add","path":"members","value":[{"value":"{id}"}]}]}'
        add_p50[$size]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_ms"])' "$last_out")
        run_case "PATCH /Groups/{id} remove 1 member, group of $size (one connection)" 1 --port "$http_port" \
            --token "$idp" --method PATCH --path "/scim/v2/Groups/$gid" --ids "$pdir/outsiders" --ids-in-order true \
            --requests 2000 --body "$patch_op"'[{"op":"remove","path":"members[value eq \"{id}\"]"}]}'
        remove_p50[$size]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_ms"])' "$last_out")
    done
    # 10,000 members in one PATCH (three empty groups), and a Bulk of 1,000 creates (three times).
    python3 - "$pdir" <<'PY'
import json, sys
d = sys.argv[1]
ids = [l.strip() for l in open(f"{d}/outsiders") if l.strip()][:10000]
ops = [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]
json.dump({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}, open(f"{d}/add10k.json", "w"))
for run in (1, 2, 3):
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"bulk{run}-{i}@example.com",
            "name": {"givenName": "Bulk", "familyName": f"User {i}"},
            "emails": [{"value": f"bulk{run}-{i}@example.com", "type": "work", "primary": True}], "active": True}}
        for i in range(1000)]}
    json.dump(bulk, open(f"{d}/bulk{run}.json", "w"))
PY
    timed() {  # METHOD PATH FILE → "status seconds"
        curl -s -o "$pdir/last-response" -w '%{http_code} %{time_total}' -X "$1" -H "Authorization: Bearer $idp" \
            -H 'Content-Type: application/scim+json' --data-binary "@$3" "http://127.0.0.1:$http_port$2"
    }
    add10k=() bulk=()
    for run in 1 2 3; do
        add10k+=("$(timed PATCH "/scim/v2/Groups/$(group_id bulkadd$run)" "$pdir/add10k.json")")
        bulk+=("$(timed POST /scim/v2/Bulk "$pdir/bulk$run.json")")
        grep -q '"status":"201"' "$pdir/last-response" || { echo "bulk failed:"; head -c 2000 "$pdir/last-response"; exit 1; }
    done
    members_added=$(psql "$DATABASE_URL" -qAtc "SELECT count(*) FROM scim_group_member m JOIN scim_group g ON g.tenant_id = m.tenant_id AND g.id = m.group_id WHERE g.display_name LIKE 'bulkadd%'")
    python3 - "$active_rps" "${add_p50[10]}" "${add_p50[10000]}" "${add_p50[$big]}" "${remove_p50[10]}" \
        "${remove_p50[10000]}" "${remove_p50[$big]}" "$big" "$members_added" "${add10k[@]}" "${bulk[@]}" >>"$results" <<'PY'
import sys
a = sys.argv[1:]
rps, add10, add10k, addbig, rm10, rm10k, rmbig, big, added = a[:9]
runs = a[9:]
add_runs, bulk_runs = runs[:3], runs[3:]
f = lambda runs: ", ".join(f"{float(r.split()[1]) * 1000:.0f} ms (HTTP {r.split()[0]})" for r in runs)
print()
print(f"- PATCH replace active: {rps} req/s durable at 16 connections (goal: 4,000/s).")
print(f"- Add 1 member, p50: {add10} ms (10 members), {add10k} ms (10,000), {addbig} ms ({int(big):,}); "
      f"large/small {float(addbig) / float(add10):.2f}× (goal ≤ 2×).")
print(f"- Remove 1 member, p50: {rm10} ms (10 members), {rm10k} ms (10,000; goal ≤ 3 ms), {rmbig} ms ({int(big):,}); "
      f"large/small {float(rmbig) / float(rm10):.2f}× (goal ≤ 2×).")
print(f"- Add 10,000 members in one PATCH (set-based, three empty groups): {f(add_runs)}; {added} memberships written.")
print(f"- Bulk of 1,000 user creates (one request, three times): {f(bulk_runs)}.")
PY
    tail -n 6 "$results"
    ;;
fanout)
    # Fan-out end to end: two apps (a signed webhook to fanout_sink, and outbound SCIM to
    # scim_sink, the reliability plan's healthy stubs), FANOUT_USERS (default 10,000) creates at
    # 16 connections; the figures: creates/s accepted while fanning out, deliveries/s until the
    # outbox is drained, and commit→delivery latency per app from the delivery rows.
    # FANOUT_SCIM_TARGET=bridge sends the SCIM app's deliveries to a second tenant of this same
    # bridge instead (each delivery then is a second create in the same process and database).
    n=${FANOUT_USERS:-10000}
    scim_target=${FANOUT_SCIM_TARGET:-stub}
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    # A tenant of its own: apps created in a populated tenant (after the scale suite) would first
    # enqueue a delivery of each of its users.
    "$bin" tenant create fanout >/dev/null
    fan_admin=$("$bin" token create --tenant fanout --kind admin | tail -n 1)
    fan_idp=$("$bin" token create --tenant fanout --kind idp --source okta | tail -n 1)
    if [[ "$scim_target" != stub ]]; then
        "$bin" tenant create downstream >/dev/null
        target=$("$bin" token create --tenant downstream --kind idp | tail -n 1)
    fi
    "$bin" serve --http-listen 127.0.0.1:0 --outbound-allow-cidrs 127.0.0.0/8 \
        --outbound-allow-http true 2>"$work/fan-log" &
    server_pid=$!
    fan_port=$(await_http_port "$work/fan-log" "fan-out server")
    secret=$(python3 -c 'import base64, os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())')
    build/release/tests/fanout_sink --url-file "$work/sink-url" --secret "$secret" --expect "$n" \
        --timeout 600 >"$work/sink.json" &
    sink_pid=$!
    for _ in $(seq 100); do [[ -s "$work/sink-url" ]] && break; sleep 0.05; done
    sink_url=$(cat "$work/sink-url")
    if [[ "$scim_target" == stub ]]; then
        target=$(random_token)
        start_scim_sink "$target" "$work/scim-url" "$work/scim-sink.json"
        trap 'kill "$sink_pid" "$scim_pid" 2>/dev/null; cleanup' EXIT
        target_label="scim_sink"
    else
        scim_url="http://127.0.0.1:$fan_port/scim/v2"
        target_label="a second tenant of this bridge"
    fi
    admin_call() {  # BODY [ADMIN_TOKEN]: creates an app (default: in the fanout tenant); prints its id
        python3 - "$fan_port" "${2:-$fan_admin}" "$1" <<'PY'
import json, sys, urllib.request
port, token, body = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/v1/apps", data=body.encode(),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["id"])
PY
    }
    create_apps() {  # SINK_URL SCIM_URL [ADMIN_TOKEN]: the webhook app and the SCIM app
        admin_call '{"name":"webhook-app","connector":"webhook","webhook":{"url":"'"$1"'","secrets":["'"$secret"'"]},"mapping":{"email":"[emails[primary eq true].value]","name":"Join(\" \", [name.givenName], [name.familyName])","login":"ToLower([userName])"}}' "${3:-}" >/dev/null
        admin_call '{"name":"scim-app","connector":"scim","scim":{"base_url":"'"$2"'","token":"'"$target"'"},"mapping":{"userName":"[userName]","displayName":"[displayName]","emails":"[emails]","active":"[active]"}}' "${3:-}" >/dev/null
    }
    create_apps "$sink_url" "$scim_url"
    section "Fan-out: $n user creates with two apps (webhook to fanout_sink + outbound SCIM to $target_label), 16 connections"
    user='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fan{seq}@example.com","externalId":"fan-{seq}","name":{"givenName":"Fan","familyName":"User {seq}"},"emails":[{"value":"fan{seq}@example.com","type":"work","primary":true}],"displayName":"Fan User {seq}","active":true}'
    t_start=$(date +%s.%N)
    run_case "POST /Users with fan-out to 2 apps (durable)" 16 --port "$fan_port" --token "$fan_idp" --method POST \
        --path /scim/v2/Users --body "$user" --requests "$n"
    # Poll gently (Debian's psql is a Perl wrapper: the binary itself, twice a second); the end
    # of the drain is the last delivery's finished_at, not the poll that saw it.
    pg_psql=/usr/lib/postgresql/15/bin/psql
    for _ in $(seq 1200); do
        left=$("$pg_psql" "$DATABASE_URL" -qAtc "SELECT count(*) FROM delivery WHERE state IN ('pending', 'leased')")
        [[ "$left" == 0 ]] && break
        sleep 0.5
    done
    t_end=$("$pg_psql" "$DATABASE_URL" -qAtc "SELECT extract(epoch FROM max(finished_at)) FROM delivery")
    wait "$sink_pid" || true
    scim_stats='{}'
    if [[ "$scim_target" == stub ]]; then
        kill "$scim_pid"; wait "$scim_pid" || true
        trap cleanup EXIT
        scim_stats=$(cat "$work/scim-sink.json")
    fi
    stats=$(psql "$DATABASE_URL" -qAt -F ' ' -c "SELECT a.name, count(*) FILTER (WHERE d.state = 'delivered'), count(*) FILTER (WHERE d.state <> 'delivered'), round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY d.finished_at - d.created_at))::numeric, 1), round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY d.finished_at - d.created_at))::numeric, 1) FROM delivery d JOIN app a ON a.id = d.app_id WHERE d.operation = 'create' GROUP BY a.name ORDER BY a.name")
    main_out=$last_out
    # The machine's budget: each half alone. The same creates into a tenant without apps; then
    # both apps created there, which enqueues a delivery of each of those users to each app (as for
    # any app created in a populated tenant), delivered with no create running. If the two halves
    # share the CPU linearly, a run doing C creates/s and D deliveries/s uses C/C_alone + D/D_alone
    # of the machine; the fan-out run above checks that model, and the goal's share says whether
    # the goal fits in this machine at all.
    "$bin" tenant create fanout-alone >/dev/null
    alone_admin=$("$bin" token create --tenant fanout-alone --kind admin | tail -n 1)
    alone_idp=$("$bin" token create --tenant fanout-alone --kind idp --source okta | tail -n 1)
    cpu_mark() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
    mark0=$(cpu_mark)
    run_case "POST /Users with no apps (the creates alone)" 16 --port "$fan_port" --token "$alone_idp" --method POST \
        --path /scim/v2/Users --body "${user//fan/alone}" --requests "$n"
    mark1=$(cpu_mark)
    alone_out=$last_out
    build/release/tests/fanout_sink --url-file "$work/alone-sink-url" --secret "$secret" --expect "$n" \
        --timeout 600 >"$work/alone-sink.json" &
    sink_pid=$!
    for _ in $(seq 100); do [[ -s "$work/alone-sink-url" ]] && break; sleep 0.05; done
    if [[ "$scim_target" == stub ]]; then
        start_scim_sink "$target" "$work/alone-scim-url" "$work/alone-scim-sink.json"
        trap 'kill "$sink_pid" "$scim_pid" 2>/dev/null; cleanup' EXIT
    fi
    alone_tenant=$("$pg_psql" "$DATABASE_URL" -qAtc "SELECT id FROM tenant WHERE name = 'fanout-alone'")
    mark2=$(cpu_mark)
    t_alone0=$(date +%s.%N)
    create_apps "$(cat "$work/alone-sink-url")" "$scim_url" "$alone_admin"
    for _ in $(seq 1200); do
        left=$("$pg_psql" "$DATABASE_URL" -qAtc "SELECT count(*) FROM delivery WHERE tenant_id = '$alone_tenant' AND state IN ('pending', 'leased')")
        [[ "$left" == 0 ]] && break
        sleep 0.5
    done
    mark3=$(cpu_mark)
    t_alone1=$("$pg_psql" "$DATABASE_URL" -qAtc "SELECT extract(epoch FROM max(finished_at)) FROM delivery WHERE tenant_id = '$alone_tenant'")
    alone_delivered=$("$pg_psql" "$DATABASE_URL" -qAtc "SELECT count(*) FILTER (WHERE state = 'delivered') || ' ' || count(*) FROM delivery WHERE tenant_id = '$alone_tenant'")
    wait "$sink_pid" || true
    if [[ "$scim_target" == stub ]]; then
        kill "$scim_pid"; wait "$scim_pid" || true
        trap cleanup EXIT
    fi
    budget="$alone_out|$t_alone0 $t_alone1 $alone_delivered|$mark0 $mark1 $mark2 $mark3"
    python3 - "$t_start" "$t_end" "$(cat "$work/sink.json")" "$main_out" "$stats" "$scim_stats" "$budget" >>"$results" <<'PY'
import json, sys
t0, t1, sink, bench, stats = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
scim = json.loads(sys.argv[6])
rows = [l.split() for l in stats.strip().splitlines()]
delivered = sum(int(r[1]) for r in rows)
print()
print(f"- Creates accepted with fan-out on: {bench['rps']:.0f}/s (p99 {bench['p99_ms']:.1f} ms, {bench['errors']} errors; goal ≥ 2,000/s).")
print(f"- Deliveries: {delivered} in {t1 - t0:.1f} s from the first create to an empty outbox = {delivered / (t1 - t0):.0f}/s (goal ≥ 4,000/s).")
for name, ok, other, p50, p99 in rows:
    print(f"- {name}: {ok} delivered, {other} not delivered; commit→delivery p50 {p50} ms, p99 {p99} ms (goal p99 ≤ 1 s).")
print(f"- Webhook sink: {sink['applied']} applied of {sink['requests']} requests, {sink['invalid_signatures']} bad signatures, {sink['order_violations']} order violations, {sink['connections']} connections.")
if scim:
    print(f"- SCIM sink: holds {scim['users']} users; {scim['created']} created, {scim['conflicts']} conflicts, "
          f"{scim['bad_requests']} bad requests, {scim['unauthorized']} unauthorized; requests {scim['requests']}.")
alone, drain, marks = sys.argv[7].split('|')
alone = json.loads(alone)
a0, a1, a_ok, a_all = drain.split()
m = [float(x) for x in marks.split()]
idle = lambda i: 100 * (m[4 * i + 2] - m[4 * i]) / max(1, m[4 * i + 3] - m[4 * i + 1])  # (idle, total) at 4 marks
c_alone, c_main = alone['rps'], bench['rps']
d_alone, d_main = int(a_ok) / (float(a1) - float(a0)), delivered / (t1 - t0)
print(f"- The machine's budget, each half alone: creates into a tenant without apps {c_alone:.0f}/s "
      f"(CPU idle {idle(0):.0f} %); then both apps created there, {a_ok} of {a_all} deliveries done with no create "
      f"running in {float(a1) - float(a0):.1f} s = {d_alone:.0f} deliveries/s (CPU idle {idle(1):.0f} %).")
print(f"  - This run's share of the machine by that measure: {c_main:.0f}/{c_alone:.0f} + {d_main:.0f}/{d_alone:.0f} "
      f"= {c_main / c_alone + d_main / d_alone:.2f} (1.00: the two halves share the CPU linearly).")
goal = 2000 / c_alone + 4000 / d_alone
bound = idle(0) < 10 and idle(1) < 10  # both halves alone saturate the CPU: the shares are capacities
print(f"  - The goal's share: 2000/{c_alone:.0f} + 4000/{d_alone:.0f} = {goal:.2f}"
      + ("." if bound else f"; no bound on what the machine can do: a half alone left the CPU idle "
         f"(deliveries are then held by the in-flight limits and latency, not the CPU)."))
PY
    tail -n 10 "$results"
    ;;
resync)
    # Reconciliation at scale (issue 7): both apps hold every user (written directly: fanning
    # out RESYNC_USERS × 2 deliveries through the workers would outlast the suite) with 1% drift,
    # and both reconcile jobs run while the IdP keeps creating users.
    n=${RESYNC_USERS:-100000}
    scim_target=${RESYNC_SCIM_TARGET:-stub}
    window=${RESYNC_INGEST_WINDOW:-5}
    max_wait=${RESYNC_MAX_SECONDS:-600}
    rs=$work/resync
    mkdir -p "$rs"
    now() { date +%s.%N; }
    q() { psql "$DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    server_pid=
    t_setup=$(now)
    load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
    # A tenant of its own, like the fan-out suite's: the walk is of its RESYNC_USERS users only.
    "$bin" tenant create resync >/dev/null
    rs_admin=$("$bin" token create --tenant resync --kind admin | tail -n 1)
    rs_idp=$("$bin" token create --tenant resync --kind idp --source okta | tail -n 1)
    downstream=resync-downstream
    "$bin" tenant create "$downstream" >/dev/null
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    scim_seed=()
    if [[ "$scim_target" == stub ]]; then
        # The sink starts once the seed wrote its copies; the app's token is set now (it is stored
        # encrypted), its URL then.
        target=$(random_token)
        scim_url="http://127.0.0.1:9/scim/v2"
        scim_seed=(-v scim_seed_file="$rs/scim-seed.tsv")
    else
        target=$("$bin" token create --tenant "$downstream" --kind idp | tail -n 1)
        scim_url="http://127.0.0.1:$port/scim/v2"
    fi
    tenant_id=$(q "SELECT id FROM tenant WHERE name = 'resync'")
    downstream_id=$(q "SELECT id FROM tenant WHERE name = '$downstream'")
    secret=$(python3 -c 'import base64, os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())')
    # The apps before the users (an app created in a populated tenant enqueues a delivery of every
    # user); the webhook URL is the sink's, set once the sink runs.
    cat >"$rs/apps.json" <<JSON
[{"name": "resync-webhook", "connector": "webhook", "webhook": {"url": "http://127.0.0.1:9/resync", "secrets": ["$secret"]}},
 {"name": "resync-scim", "connector": "scim", "scim": {"base_url": "$scim_url", "token": "$target"}}]
JSON
    "$bin" app import --tenant resync "$rs/apps.json" >/dev/null
    webhook_app=$(q "SELECT id FROM app WHERE tenant_id = '$tenant_id' AND name = 'resync-webhook'")
    scim_app=$(q "SELECT id FROM app WHERE tenant_id = '$tenant_id' AND name = 'resync-scim'")
    apps="'$webhook_app', '$scim_app'"
    # Only these two apps receive the tenant's changes, and
    # nothing is queued for them: the seed below is what they were delivered.
    q "UPDATE app SET enabled = false WHERE tenant_id = '$tenant_id' AND id NOT IN ($apps)" >/dev/null
    q "DELETE FROM delivery WHERE tenant_id = '$tenant_id'" >/dev/null
    python3 tests/bench/load_scale.py --tenant "$tenant_id" --users "$n" --groups 0 --sample 0 --out "$rs"
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
        -c "\copy scim_user (tenant_id, id, user_name, external_id, display_name, active, emails, schemas, doc, version, created_at, modified_at) FROM '$rs/users.copy'"
    rm -f "$rs"/*.copy
    psql "$DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 -v bench="$tenant_id" -v downstream="$downstream_id" \
        -v scim_app="$scim_app" -v webhook_app="$webhook_app" -v seed_file="$rs/webhook-seed.tsv" \
        -v counts_file="$rs/counts.json" "${scim_seed[@]}" -f tests/bench/resync_seed.sql
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "VACUUM (ANALYZE) scim_user, app_object, delivery, schedule"
    build/release/tests/fanout_sink --url-file "$rs/sink-url" --secret "$secret" --seed "$rs/webhook-seed.tsv" \
        --expect 1000000000 --timeout 7200 >"$rs/sink.json" &
    sink_pid=$!
    trap 'kill "$sink_pid" 2>/dev/null; cleanup' EXIT
    for _ in $(seq 600); do [[ -s "$rs/sink-url" ]] && break; sleep 0.05; done
    [[ -s "$rs/sink-url" ]] || { echo "fanout_sink did not start"; exit 1; }
    sink_url=$(cat "$rs/sink-url")
    q "UPDATE app SET definition = jsonb_set(definition, '{webhook,url}', to_jsonb(CAST('$sink_url' AS text))) WHERE id = '$webhook_app'" >/dev/null
    scim_pid=
    if [[ "$scim_target" == stub ]]; then
        start_scim_sink "$target" "$rs/scim-url" "$rs/scim-sink.json" "$rs/scim-seed.tsv"
        trap 'kill "$sink_pid" "$scim_pid" 2>/dev/null; cleanup' EXIT
        q "UPDATE app SET definition = jsonb_set(definition, '{scim,base_url}', to_jsonb(CAST('$scim_url' AS text))) WHERE id = '$scim_app'" >/dev/null
    fi
    setup_s=$(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$t_setup" "$(now)")
    "$bin" serve --http-listen "127.0.0.1:$port" --outbound-allow-cidrs 127.0.0.0/8 --outbound-allow-http true \
        2>"$rs/log" &
    server_pid=$!
    for _ in $(seq 200); do grep -q "\"port\":$port" "$rs/log" && break; sleep 0.05; done
    grep -q "\"port\":$port" "$rs/log" || { echo "resync server did not start:"; cat "$rs/log"; exit 1; }
    echo "resync setup: $(cat "$rs/counts.json") in ${setup_s}s"

    keys="reconcile:$scim_app,reconcile:$webhook_app"
    last_run() { q "SELECT coalesce(max(id), 0) FROM schedule_run"; }
    ask_runs() {  # DRY_RUN: asks for a run of both apps' reconcile jobs
        local app_id
        for app_id in "$scim_app" "$webhook_app"; do
            curl -sf -o /dev/null -X POST -H "Authorization: Bearer $rs_admin" -H 'Content-Type: application/json' \
                -d "{\"dry_run\": $1}" "http://127.0.0.1:$port/admin/v1/schedules/reconcile:$app_id/run"
        done
    }
    watch_runs() {  # AFTER OUT
        python3 tests/bench/resync_bench.py watch --dsn "$DATABASE_URL" --after "$1" --keys "$keys" --out "$2" \
            --max-seconds "$max_wait"
    }
    show_runs() {  # FILE
        python3 - "$1" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["runs"]:
    rep = r["report"] or {}
    u, o = rep.get("users", {}), rep.get("orphans", {})
    print(f"  {r['app']}: {r['state']} in {(r['finished'] or r['started']) - r['started']:.1f}s, users {json.dumps({k: v for k, v in u.items() if k not in ('samples', 'stale_attributes')})}, "
          f"orphans found {o.get('found')} acted {o.get('acted')}, requests {rep.get('requests')}, repairs {rep.get('repairs_enqueued')} {r.get('error') or ''}")
PY
    }
    sampled() {  # AFTER UPTO: of each run's sampled drift (≤ 50 ids per kind), how many are users created during the resync
        q "SELECT coalesce(json_object_agg(a.name, x.o), '{}') FROM schedule_run r JOIN app a ON r.key = 'reconcile:' || a.id
           CROSS JOIN LATERAL (SELECT json_object_agg(k.kind, json_build_object(
                 'sampled', (SELECT count(*) FROM jsonb_array_elements(k.list)),
                 'ingest', (SELECT count(*) FROM jsonb_array_elements(k.list) e JOIN scim_user u
                             ON u.tenant_id = '$tenant_id' AND u.id::text = e->>'id' WHERE u.user_name LIKE 'rsd%'))) AS o
               FROM (VALUES ('missing', r.report->'users'->'samples'->'missing'), ('stale', r.report->'users'->'samples'->'stale'),
                            ('orphans', r.report->'orphans'->'samples')) k (kind, list)
              WHERE jsonb_typeof(k.list) = 'array') x
           WHERE r.id > $1 AND r.id <= $2 AND a.id IN ($apps)"
    }
    drained() {  # WHERE: waits until no delivery matching it is pending or leased; false after max_wait
        local left
        for _ in $(seq $((max_wait * 4))); do
            left=$(q "SELECT count(*) FROM delivery WHERE state IN ('pending', 'leased') AND app_id IN ($apps) $1")
            [[ "$left" == 0 ]] && return 0
            sleep 0.25
        done
        return 1
    }
    ingest_window() {  # NAME TAG FILE [RATE]: one window of POST /Users, closed loop at 16
        # connections, or offered open-loop at RATE/s over 64 (latency counted from when each
        # request was due)
        local body out conns=16 open=()
        body='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"TAG-{seq}@example.com","externalId":"TAG-{seq}","name":{"givenName":"Ingest","familyName":"User {seq}"},"emails":[{"value":"TAG-{seq}@example.com","type":"work","primary":true}],"displayName":"Ingest User {seq}","active":true}'
        if [[ -n "${4:-}" ]]; then conns=64; open=(--rate "$4"); fi
        out=$("$bench" --connections "$conns" "${open[@]}" --seconds "$window" --port "$port" --token "$rs_idp" \
            --latencies "${3%.jsonl}.lat" --method POST --path /scim/v2/Users --body "${body//TAG/$2}") || true
        [[ -n "$out" ]] || return 0
        echo "$out" >>"$3"
        printf '%-60s %s\n' "$1 (c=$conns)" "$out"
        python3 - "$1" "$out" "$conns" >>"$results" <<'PY'
import json, sys
name, out, conns = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
print(f"| {name} | {conns} | {out['requests']} | {out['rps']:.0f} | {out['p50_ms']:.3f} | {out['p99_ms']:.3f} | {out['errors']} |")
PY
    }

    # 1. A dry run of both apps: the diff must be exactly the injected drift (else the seed is not
    #    what the bridge would have recorded, and the figures below mean nothing).
    before=$(last_run)
    ask_runs true
    watch_runs "$before" "$rs/dry.json"
    echo "resync dry run:"; show_runs "$rs/dry.json"

    section "Resync: $n users × 2 apps (webhook to fanout_sink + outbound SCIM to $([[ "$scim_target" == stub ]] && echo scim_sink || echo 'a second tenant of this bridge')), 1% drift; ingest POST /Users, ${window}s windows"
    phase() {  # LABEL TAG FILE [RATE [SECS]]: ingest windows for SECS (default SECONDS), then the wait
        # for their fan-out; sets phase_wal (walstat before and after the windows) and phase_drain (seconds)
        local w t ws secs=${5:-$seconds}
        ws=$(walstat)
        for ((w = 1; w == 1 || (w - 1) * window < secs; w++)); do
            ingest_window "$1, window $w" "$2$w" "$3" "${4:-}"
        done
        phase_wal="[$ws, $(walstat)]"
        t=$(now)
        drained "" || echo "$1: the deliveries were not drained within ${max_wait}s"
        phase_drain=$(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$t" "$(now)")
    }
    # What a commit waits for: the WAL written and flushed, and the checkpoints begun (the
    # full-page images after one double the WAL for a while).
    walstat() {
        q "SELECT json_build_object('t', extract(epoch FROM clock_timestamp()), 'wal_bytes', wal_bytes,
                  'wal_syncs', wal_sync, 'wal_fpi', wal_fpi, 'wal_sync_ms', wal_sync_time,
                  'checkpoints', (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)) FROM pg_stat_wal"
    }
    # 2. The ingest's capacity C: POST /Users closed loop (creates fanned out to both apps; at
    #    saturation their deliveries lag and drain afterwards).
    phase "POST /Users, capacity (closed loop)" rsc "$rs/capacity.jsonl"
    capacity_drain=$phase_drain
    rate=${RESYNC_INGEST_RATE:-$(python3 -c 'import json, sys
ws = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(round(sum(w["rps"] for w in ws) / len(ws) / 2))' "$rs/capacity.jsonl")}
    echo "{\"rate\": $rate, \"chosen\": \"${RESYNC_INGEST_RATE:+RESYNC_INGEST_RATE}\"}" >"$rs/rate.json"
    # 3. Ingest baseline: POST /Users offered at R/s without a resync.
    # As long as a resync under ingest usually lasts (RESYNC_BASELINE_SECONDS, default 30): the p99
    # of two 5 s windows ranged over 11–59 ms from one window to the next.
    phase "POST /Users at ${rate}/s, baseline" rsb "$rs/baseline.jsonl" "$rate" "${RESYNC_BASELINE_SECONDS:-30}"
    wal_base=$phase_wal
    baseline_drain=$phase_drain

    # 4. The resync: both runs at once, the same offered load until both finished (at least SECONDS).
    before=$(last_run)
    wal_during=$(walstat)
    ask_runs false
    watch_runs "$before" "$rs/real.json" &
    watch_pid=$!
    for ((w = 1; ; w++)); do
        ingest_window "POST /Users at ${rate}/s during the resync, window $w" "rsd$w" "$rs/during.jsonl" "$rate"
        if [[ -s "$rs/real.json" ]] && ((w * window >= seconds)); then break; fi
        ((w * window < max_wait)) || break
    done
    wait "$watch_pid" || true
    echo "{\"baseline\": $wal_base, \"during\": [$wal_during, $(walstat)]}" >"$rs/wal.json"
    echo "resync runs:"; show_runs "$rs/real.json"
    real_before=$before
    repaired=true
    drained "AND operation = 'resync'" || repaired=false
    outboxed=true
    drained "" || outboxed=false
    python3 - "$rs/drain.json" "$repaired" "$outboxed" "$setup_s" "$load_before" "$capacity_drain" "$baseline_drain" \
        "$(q "SELECT json_build_object(
                'drift0', extract(epoch FROM greatest(max(r.finished_at), (SELECT max(d.finished_at) FROM delivery d
                          WHERE d.operation = 'resync' AND d.app_id IN ($apps))) - min(r.started_at)),
                'outbox', extract(epoch FROM (SELECT max(d.finished_at) FROM delivery d WHERE d.app_id IN ($apps)) - min(r.started_at)),
                'created', (SELECT count(*) FROM scim_user u WHERE u.tenant_id = '$tenant_id' AND u.user_name LIKE 'rsd%'))
              FROM schedule_run r WHERE r.id > $before AND r.key IN ('reconcile:$scim_app', 'reconcile:$webhook_app')")" <<'PY'
import json, sys
path, repaired, outboxed, setup, load, cap_drain, base_drain, db = sys.argv[1:]
db = json.loads(db)
json.dump({"drift0_s": db["drift0"] if repaired == "true" else None,
           "outbox_s": db["outbox"] if outboxed == "true" else float("nan"),
           "ingest_created": db["created"],
           "setup": f"Setup {setup} s (generate, COPY, seed, VACUUM); load average before {load}; "
                    f"the capacity run's fan-out drained {cap_drain} s after it, the baseline's {base_drain} s."},
          open(path, "w"))
PY
    q "SELECT coalesce(json_object_agg(x.name, x.o), '{}') FROM (
         SELECT a.name, coalesce((SELECT jsonb_object_agg(s.state, s.c) FROM (SELECT d.state, count(*) AS c FROM delivery d
                  WHERE d.app_id = a.id AND d.operation = 'resync' GROUP BY d.state) s), '{}')
             || jsonb_build_object(
                  'p50_ms', (SELECT round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY d.finished_at - d.created_at))::numeric)
                               FROM delivery d WHERE d.app_id = a.id AND d.operation = 'resync' AND d.state = 'delivered'),
                  'p99_ms', (SELECT round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY d.finished_at - d.created_at))::numeric)
                               FROM delivery d WHERE d.app_id = a.id AND d.operation = 'resync' AND d.state = 'delivered')) AS o
           FROM app a WHERE a.id IN ($apps)) x" >"$rs/deliveries.json"

    # 5. A check run per app once the outbox is empty: drift 0 (and a no-drift resync's duration).
    before=$(last_run)
    ask_runs false
    watch_runs "$before" "$rs/verify.json"
    echo "resync check runs:"; show_runs "$rs/verify.json"
    sampled "$real_before" "$before" >"$rs/sampled-real.json"
    sampled "$before" "$(last_run)" >"$rs/sampled-check.json"
    kill "$sink_pid" $scim_pid 2>/dev/null || true
    wait "$sink_pid" $scim_pid 2>/dev/null || true
    trap cleanup EXIT
    python3 tests/bench/resync_bench.py summary --dir "$rs" --log "$rs/log" --downstream "$downstream" \
        --seconds "$seconds" --window "$window" >"$rs/summary.md"
    cat "$rs/summary.md" >>"$results"
    cat "$rs/summary.md"
    ;;
durability)
    # Reliability plan F6, what serve's durability check keeps from happening: POST /Users at
    # 16 connections into a database with synchronous_commit off, then on, each user fanned out
    # to a webhook app (fanout_sink); after DURABILITY_KILL_AFTER (default 3) seconds every
    # PostgreSQL process is killed with SIGKILL (a crash of the database server; the OS and its
    # page cache survive). After the restart (crash recovery), the creates the bridge
    # acknowledged with 201 (its access log) are compared with the users PostgreSQL still has;
    # then the bridge is started again and every user that survived must reach the app: the
    # delivery bookkeeping commits asynchronously, so the crash may cost redeliveries (same
    # event id), never a delivery.
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    server_pid=
    section "Durability (reliability plan F6): PostgreSQL killed with SIGKILL during POST /Users, 16 connections" notable
    user='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dur{seq}@example.com","active":true}'
    for mode in off on; do
        db="sbdur_$mode"
        psql "$SCIM_TEST_PG_DSN" -qc "CREATE DATABASE $db" -qc "ALTER DATABASE $db SET synchronous_commit = $mode"
        url="$SCIM_TEST_PG_DSN dbname=$db"
        DATABASE_URL="$url" "$bin" tenant create dur >/dev/null
        dur_token=$(DATABASE_URL="$url" "$bin" token create --tenant dur --kind idp | tail -n 1)
        secret=$(python3 -c 'import base64, os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())')
        rm -f "$work/dur-sink-url"
        build/release/tests/fanout_sink --url-file "$work/dur-sink-url" --secret "$secret" --expect 1000000000 \
            --timeout 3600 >/dev/null &
        dur_sink=$!
        for _ in $(seq 100); do [[ -s "$work/dur-sink-url" ]] && break; sleep 0.05; done
        printf '{"name":"hook","connector":"webhook","webhook":{"url":"%s","secrets":["%s"]}}' \
            "$(cat "$work/dur-sink-url")" "$secret" >"$work/dur-app.json"
        DATABASE_URL="$url" "$bin" app import --tenant dur "$work/dur-app.json" >/dev/null
        dur_serve() {  # LOG: serve this database (leases of 2 s: a lost completion is retried soon)
            DATABASE_URL="$url" "$bin" serve --listen off --http-listen 127.0.0.1:0 --allow-unsafe-durability true \
                --outbound-allow-cidrs 127.0.0.0/8 --outbound-allow-http true --delivery-lease-ms 2000 2>"$1" &
            dur_pid=$!
            dur_port=$(await_http_port "$1" "durability server")
        }
        dur_serve "$work/dur-$mode.log"
        "$bench" --connections 16 --seconds $(( ${DURABILITY_KILL_AFTER:-3} + 2 )) --port "$dur_port" \
            --token "$dur_token" --method POST --path /scim/v2/Users --body "$user" >"$work/dur-$mode.json" 2>/dev/null &
        load_pid=$!
        sleep "${DURABILITY_KILL_AFTER:-3}"
        postmaster=$(head -n 1 "$TEST_PG_DIR/data/postmaster.pid")
        kill -9 $(pgrep -P "$postmaster") "$postmaster" 2>/dev/null || true
        wait "$load_pid" 2>/dev/null || true
        kill "$dur_pid"; wait "$dur_pid" 2>/dev/null || true
        # (pg_ctl notes the stale postmaster.pid the kill left behind.)
        "${TEST_PG_AS[@]}" /usr/lib/postgresql/15/bin/pg_ctl start -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/log" -w -s 2>/dev/null
        acked=$(grep '"route":"/scim/v2/Users"' "$work/dur-$mode.log" | grep -c '"status":201' || true)
        kept=$(psql "$url" -qAtc "SELECT count(*) FROM scim_user")
        lost=$(( acked > kept ? acked - kept : 0 ))
        # The bridge again: every surviving user's delivery reaches the app.
        dur_serve "$work/dur-$mode-after.log"
        open=1
        for _ in $(seq 240); do
            open=$(psql "$url" -qAtc "SELECT count(*) FROM delivery WHERE state IN ('pending', 'leased')")
            [[ "$open" == 0 ]] && break
            sleep 0.5
        done
        undelivered=$(psql "$url" -qAtc "SELECT count(*) FROM scim_user u WHERE NOT EXISTS (SELECT 1 FROM delivery d
            WHERE d.resource_id = u.id AND d.state = 'delivered')")
        again=$(psql "$url" -qAtc "SELECT count(*) FROM delivery WHERE state = 'delivered' AND attempts > 1")
        kill "$dur_pid" "$dur_sink" 2>/dev/null; wait "$dur_pid" "$dur_sink" 2>/dev/null || true
        printf 'synchronous_commit = %s: %s creates acknowledged, %s users after recovery, %s acknowledged creates lost; %s users never delivered (%s deliveries still open, %s sent more than once)\n' \
            "$mode" "$acked" "$kept" "$lost" "$undelivered" "$open" "$again"
        echo "- synchronous_commit = $mode: $acked creates acknowledged with 201 before the kill, $kept users after crash recovery: **$lost acknowledged creates lost**. After the bridge's restart, users whose delivery never reached the app: **$undelivered** ($open deliveries still open; $again sent more than once, under their first event id)." >>"$results"
    done
    echo "- serve refuses to start on the first of these databases (synchronous_commit off) unless allow_unsafe_durability=true, which this run sets." >>"$results"
    ;;
esac
done
echo "results appended to $results"
