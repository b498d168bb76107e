# Sourced by scripts/test.sh and tests/bench/run.sh: a throwaway PostgreSQL 15. It listens only
# on a Unix socket inside its temp directory. Tests run it with fsync off (the data is
# disposable); TEST_PG_DURABLE=1 keeps PostgreSQL's durable defaults with 2 GB of shared buffers
# (benchmarks). initdb refuses to run as root, so as root the cluster belongs to the postgres
# user. TEST_PG_CONF: extra postgresql.conf lines (profiling, e.g. "shared_preload_libraries = 'pg_stat_statements'").

start_test_postgres() {
    local bindir=/usr/lib/postgresql/15/bin
    TEST_PG_DIR=$(mktemp -d /tmp/scim-bridge-testpg.XXXXXX)
    chmod 755 "$TEST_PG_DIR"
    local as=()
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres:postgres "$TEST_PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bindir/initdb" -D "$TEST_PG_DIR/data" -U postgres --auth=trust -E UTF8 \
        --locale=C --lc-ctype=C.UTF-8 >/dev/null
    cat >>"$TEST_PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$TEST_PG_DIR'
max_connections = 300
CONF
    if [[ "${TEST_PG_DURABLE:-0}" != 1 ]]; then
        printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' \
            >>"$TEST_PG_DIR/data/postgresql.conf"
    else
        # The benchmark setting of ../shared/reference/reliability-plan.md: durable, 2 GB of
        # shared buffers (the default 128 MB made backends write dirty pages out themselves
        # while the resync read app objects under a saturating ingest), and checkpoints spaced
        # by time, as the embedded cluster's are (see db/embedded_postgres.cpp).
        printf 'shared_buffers = 2GB\nmax_wal_size = 4GB\n' >>"$TEST_PG_DIR/data/postgresql.conf"
    fi
    if [[ -n "${TEST_PG_CONF:-}" ]]; then
        printf '%s\n' "$TEST_PG_CONF" >>"$TEST_PG_DIR/data/postgresql.conf"
    fi
    "${as[@]}" "$bindir/pg_ctl" start -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/log" -w -s
    SCIM_TEST_PG_DSN="host=$TEST_PG_DIR port=5432 user=postgres dbname=postgres"
    TEST_PG_AS=("${as[@]}")
    echo "test PostgreSQL: $SCIM_TEST_PG_DSN"
}

stop_test_postgres() {
    if [[ -n "${TEST_PG_DIR:-}" && -d "$TEST_PG_DIR/data" ]]; then
        "${TEST_PG_AS[@]}" /usr/lib/postgresql/15/bin/pg_ctl stop -D "$TEST_PG_DIR/data" -m fast -w -s || true
        rm -rf "$TEST_PG_DIR"
    fi
}
