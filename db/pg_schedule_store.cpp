#include "db/pg_schedule_store.hpp"

#include "db/database_impl.hpp"
#include "db/json_rows.hpp"
#include "db/pg_resource_store.hpp"

#include <boost/json.hpp>

#include <libpq-fe.h>

namespace scimbridge::db {

namespace json = boost::json;
using scim::Error;

namespace {

// An arbitrary constant shared by every scim-bridge process: the scheduler's leadership lock.
constexpr const char* kLeaderLock = "SELECT pg_try_advisory_lock(x'5c1b41d6e0002'::bigint)";

constexpr const char* kEntryJson =
    "json_build_object('key', s.key, 'kind', s.kind, 'tenant_id', s.tenant_id, 'subject_id', s.subject_id, "
    "'period_ms', s.period_ms, 'enabled', s.enabled, "
    "'next_run_at', to_char(s.next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "'due', s.next_run_at <= scim_bridge_now(), 'dry_run_requested', coalesce((s.options->>'dry_run')::boolean, false), "
    "'last_run_id', s.last_run_id)";

constexpr const char* kRunJson =
    "json_build_object('id', r.id, 'key', r.key, 'kind', r.kind, 'tenant_id', r.tenant_id, "
    "'subject_id', s.subject_id, 'dry_run', r.dry_run, 'resumed', r.resumed, 'checkpoint', r.checkpoint)";

mappers::ScheduleRun run_from(const json::object& o) {
    mappers::ScheduleRun r;
    r.id = o.at("id").to_number<std::int64_t>();
    r.key = std::string(o.at("key").as_string());
    r.kind = std::string(o.at("kind").as_string());
    r.tenant_id = opt_text(o, "tenant_id");
    r.subject_id = opt_text(o, "subject_id");
    r.dry_run = o.at("dry_run").as_bool();
    r.resumed = o.at("resumed").to_number<int>();
    if (const json::value* c = o.if_contains("checkpoint"); c != nullptr && c->is_object()) {
        r.checkpoint = c->as_object();
    }
    return r;
}

}  // namespace

PgScheduleStore::~PgScheduleStore() { resign(); }

bool PgScheduleStore::try_lead() {
    std::lock_guard lock(mutex_);
    if (leader_conn_ != nullptr) {
        // Still ours while the connection lives; a round trip tells.
        PGresult* res = PQexec(leader_conn_, "SELECT 1");
        const bool alive = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (alive) {
            return true;
        }
        PQfinish(leader_conn_);
        leader_conn_ = nullptr;
    }
    PGconn* conn = PQconnectdb(dsn_.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        return false;
    }
    PGresult* res = PQexec(conn, kLeaderLock);
    const bool won = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                     std::string(PQgetvalue(res, 0, 0)) == "t";
    PQclear(res);
    if (!won) {
        PQfinish(conn);
        return false;
    }
    leader_conn_ = conn;
    return true;
}

void PgScheduleStore::resign() {
    std::lock_guard lock(mutex_);
    if (leader_conn_ != nullptr) {
        PQfinish(leader_conn_);  // the session lock goes with the session
        leader_conn_ = nullptr;
    }
}

void PgScheduleStore::ensure_jobs(std::chrono::milliseconds lifecycle_period,
                                  std::chrono::milliseconds default_period) {
    const char* sql =
        "WITH g AS (INSERT INTO schedule (key, kind, period_ms) VALUES ('lifecycle', 'lifecycle', "
        "  CAST(:lp AS bigint)) ON CONFLICT (key) DO UPDATE SET period_ms = EXCLUDED.period_ms RETURNING 1), "
        "a AS (INSERT INTO schedule (key, kind, tenant_id, subject_id, period_ms, next_run_at) "
        "  SELECT 'reconcile:' || a.id, 'reconcile', a.tenant_id, a.id, "
        "   coalesce(t.resync_period_ms, CAST(:dp AS bigint)), "
        "   scim_bridge_now() + coalesce(t.resync_period_ms, CAST(:dp AS bigint)) * interval '1 millisecond' "
        "  FROM app a JOIN tenant t ON t.id = a.tenant_id WHERE a.enabled "
        "  ON CONFLICT (key) DO NOTHING RETURNING 1), "
        "d AS (INSERT INTO schedule (key, kind, tenant_id, subject_id, period_ms) "
        "  SELECT 'directory:' || d.id, 'directory', d.tenant_id, d.id, coalesce(t.resync_period_ms, CAST(:dp AS bigint)) "
        "  FROM directory_source d JOIN tenant t ON t.id = d.tenant_id WHERE d.enabled "
        "  ON CONFLICT (key) DO NOTHING RETURNING 1), "
        "x AS (DELETE FROM schedule s WHERE (s.kind = 'reconcile' AND NOT EXISTS (SELECT 1 FROM app a "
        "   WHERE a.id = s.subject_id AND a.enabled)) "
        "  OR (s.kind = 'directory' AND NOT EXISTS (SELECT 1 FROM directory_source d "
        "   WHERE d.id = s.subject_id AND d.enabled)) RETURNING 1) "
        "SELECT (SELECT count(*) FROM g) + (SELECT count(*) FROM a) + (SELECT count(*) FROM d) "
        " + (SELECT count(*) FROM x)";
    db_.impl().with_connection([&](Connection& c) {
        query_row(c, sql, Params{{"lp", millis(lifecycle_period)}, {"dp", millis(default_period)}});
    });
}

std::vector<mappers::ScheduleEntry> PgScheduleStore::jobs(const std::optional<std::string>& tenant_id) {
    const std::string sql = std::string("SELECT coalesce(json_agg(") + kEntryJson +
                            " ORDER BY s.key), '[]')::text FROM schedule s "
                            "WHERE CAST(:t AS text) IS NULL OR s.tenant_id = CAST(:t AS uuid)";
    std::vector<mappers::ScheduleEntry> out;
    if (tenant_id && !is_uuid(*tenant_id)) {
        return out;
    }
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, Params{{"t", tenant_id}}); });
    if (!rows) {
        return out;
    }
    for (const json::value& v : rows->as_array()) {
        const json::object& o = v.as_object();
        mappers::ScheduleEntry e;
        e.key = std::string(o.at("key").as_string());
        e.kind = std::string(o.at("kind").as_string());
        e.tenant_id = opt_text(o, "tenant_id");
        e.subject_id = opt_text(o, "subject_id");
        e.period = std::chrono::milliseconds(o.at("period_ms").to_number<std::int64_t>());
        e.enabled = o.at("enabled").as_bool();
        e.next_run_at = std::string(o.at("next_run_at").as_string());
        e.due = o.at("due").as_bool();
        e.dry_run_requested = o.at("dry_run_requested").as_bool();
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<mappers::ScheduleRun> PgScheduleStore::interrupted_runs() {
    const std::string sql = std::string("SELECT coalesce(json_agg(") + kRunJson +
                            " ORDER BY r.id), '[]')::text FROM schedule_run r JOIN schedule s ON s.key = r.key "
                            "WHERE r.state = 'running'";
    std::vector<mappers::ScheduleRun> out;
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, Params{}); });
    if (rows) {
        for (const json::value& v : rows->as_array()) {
            out.push_back(run_from(v.as_object()));
        }
    }
    return out;
}

void PgScheduleStore::mark_resumed(std::int64_t run_id) {
    db_.impl().with_connection([&](Connection& c) {
        query_row(c, "UPDATE schedule_run SET resumed = resumed + 1 WHERE id = CAST(:id AS bigint) RETURNING 1",
                  Params{{"id", std::to_string(run_id)}});
    });
}

std::optional<mappers::ScheduleRun> PgScheduleStore::start_run(const std::string& key, bool force) {
    const std::string sql = std::string(
        "WITH s AS (UPDATE schedule SET next_run_at = scim_bridge_now() + period_ms * interval '1 millisecond', "
        "  options = options - 'dry_run' "
        "  WHERE key = :key AND enabled AND (CAST(:force AS boolean) OR next_run_at <= scim_bridge_now()) "
        "  AND NOT EXISTS (SELECT 1 FROM schedule_run r WHERE r.key = :key AND r.state = 'running') "
        "  RETURNING key, kind, tenant_id, subject_id, coalesce((options->>'dry_run')::boolean, false) AS dry, "
        "  (SELECT coalesce((o.options->>'dry_run')::boolean, false) FROM schedule o WHERE o.key = :key) AS was_dry), "
        "r AS (INSERT INTO schedule_run (key, kind, tenant_id, dry_run) "
        "  SELECT s.key, s.kind, s.tenant_id, s.was_dry FROM s RETURNING *), "
        "l AS (UPDATE schedule SET last_run_id = r.id FROM r WHERE schedule.key = r.key RETURNING 1) "
        "SELECT json_build_object('id', r.id, 'key', r.key, 'kind', r.kind, 'tenant_id', r.tenant_id, "
        " 'subject_id', s.subject_id, 'dry_run', r.dry_run, 'resumed', r.resumed, 'checkpoint', r.checkpoint)::text "
        "FROM r JOIN s ON s.key = r.key WHERE (SELECT count(*) FROM l) >= 0");
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row(c, sql, Params{{"key", key}, {"force", force ? "true" : "false"}});
    });
    if (!row) {
        return std::nullopt;
    }
    return run_from(row->as_object());
}

void PgScheduleStore::save_checkpoint(std::int64_t run_id, const json::object& checkpoint) {
    db_.impl().with_connection([&](Connection& c) {
        query_row(c,
                  "UPDATE schedule_run SET checkpoint = CAST(:c AS jsonb) WHERE id = CAST(:id AS bigint) "
                  "AND state = 'running' RETURNING 1",
                  Params{{"id", std::to_string(run_id)}, {"c", json::serialize(checkpoint)}});
    });
}

void PgScheduleStore::finish_run(std::int64_t run_id, bool succeeded, const json::object& report,
                                 const std::string& error) {
    db_.impl().with_connection([&](Connection& c) {
        query_row(c,
                  "UPDATE schedule_run SET state = :state, finished_at = scim_bridge_now(), report = CAST(:report AS jsonb), "
                  "error = nullif(:error, '') WHERE id = CAST(:id AS bigint) RETURNING 1",
                  Params{{"id", std::to_string(run_id)},
                         {"state", succeeded ? "succeeded" : "failed"},
                         {"report", json::serialize(report)},
                         {"error", error.substr(0, 1000)}});
    });
}

mappers::RowPage PgScheduleStore::runs(const std::string& tenant_id, const mappers::RunQuery& q) {
    const char* sql =
        "SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')::text FROM (SELECT r.id, r.key, r.kind, "
        " r.dry_run, r.state, r.resumed, "
        " to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS started_at, "
        " to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS finished_at, "
        " extract(epoch FROM (coalesce(r.finished_at, scim_bridge_now()) - r.started_at)) * 1000 AS duration_ms, "
        " r.report, r.error FROM schedule_run r "
        " WHERE (r.tenant_id = CAST(:t AS uuid) OR r.tenant_id IS NULL) "
        " AND (CAST(:key AS text) IS NULL OR r.key = :key) "
        " AND (CAST(:after AS bigint) IS NULL OR r.id < CAST(:after AS bigint)) "
        " ORDER BY r.id DESC LIMIT CAST(:n AS integer)) x";
    mappers::RowPage page;
    const Params p{{"t", tenant_id},
                   {"key", q.key},
                   {"after", q.after ? std::optional<std::string>(std::to_string(*q.after)) : std::nullopt},
                   {"n", std::to_string(q.limit)}};
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, p); });
    if (rows) {
        page.rows = rows->as_array();
    }
    if (page.rows.size() == q.limit && !page.rows.empty()) {
        page.next = std::to_string(page.rows.back().as_object().at("id").to_number<std::int64_t>());
    }
    return page;
}

scim::Result<void> PgScheduleStore::configure(const std::string& tenant_id, const std::string& key,
                                              std::optional<std::chrono::milliseconds> period,
                                              std::optional<bool> enabled, const std::string& actor) {
    const char* sql =
        "WITH s AS (UPDATE schedule SET period_ms = coalesce(CAST(:p AS bigint), period_ms), "
        "  enabled = coalesce(CAST(:e AS boolean), enabled), "
        "  next_run_at = CASE WHEN CAST(:p AS bigint) IS NULL THEN next_run_at "
        "   ELSE least(next_run_at, scim_bridge_now() + CAST(:p AS bigint) * interval '1 millisecond') END "
        "  WHERE key = :key AND tenant_id = CAST(:t AS uuid) RETURNING key, period_ms, enabled), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, detail) SELECT CAST(:t AS uuid), :actor, "
        "  'schedule.configure', jsonb_build_object('key', s.key, 'period_ms', s.period_ms, 'enabled', s.enabled) "
        "  FROM s RETURNING 1) "
        "SELECT count(*) FROM s WHERE (SELECT count(*) FROM a) >= 0";
    const Params p{{"t", tenant_id},
                   {"key", key},
                   {"p", period ? std::optional<std::string>(millis(*period)) : std::nullopt},
                   {"e", enabled ? std::optional<std::string>(*enabled ? "true" : "false") : std::nullopt},
                   {"actor", actor}};
    const auto row = db_.impl().with_connection([&](Connection& c) { return query_row(c, sql, p); });
    if (!row || !row->at(0) || *row->at(0) == "0") {
        return Error::not_found("no such schedule in this tenant");
    }
    return {};
}

void PgScheduleStore::configure_tenant(const std::string& tenant_id, std::chrono::milliseconds period,
                                       const std::string& actor) {
    const char* sql =
        "WITH t AS (UPDATE tenant SET resync_period_ms = CAST(:p AS bigint) WHERE id = CAST(:t AS uuid) RETURNING id), "
        "s AS (UPDATE schedule SET period_ms = CAST(:p AS bigint), "
        "  next_run_at = least(next_run_at, scim_bridge_now() + CAST(:p AS bigint) * interval '1 millisecond') "
        "  WHERE tenant_id = CAST(:t AS uuid) AND kind IN ('directory', 'reconcile') RETURNING 1), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, detail) SELECT t.id, :actor, "
        "  'schedule.configure_tenant', jsonb_build_object('period_ms', CAST(:p AS bigint)) FROM t RETURNING 1) "
        "SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM a)";
    db_.impl().with_connection([&](Connection& c) {
        query_row(c, sql, Params{{"t", tenant_id}, {"p", millis(period)}, {"actor", actor}});
    });
}

std::optional<std::chrono::milliseconds> PgScheduleStore::tenant_period(const std::string& tenant_id) {
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return query_row(c, "SELECT resync_period_ms FROM tenant WHERE id = CAST(:t AS uuid)", Params{{"t", tenant_id}});
    });
    if (!row || !row->at(0)) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(std::stoll(*row->at(0)));
}

scim::Result<void> PgScheduleStore::request_run(const std::string& tenant_id, const std::string& key, bool dry_run,
                                                const std::string& actor) {
    const char* sql =
        "WITH s AS (UPDATE schedule SET next_run_at = scim_bridge_now(), "
        "  options = CASE WHEN CAST(:dry AS boolean) THEN options || '{\"dry_run\": true}' ELSE options - 'dry_run' END "
        "  WHERE key = :key AND tenant_id = CAST(:t AS uuid) RETURNING key), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, detail) SELECT CAST(:t AS uuid), :actor, "
        "  'schedule.run_requested', jsonb_build_object('key', s.key, 'dry_run', CAST(:dry AS boolean)) "
        "  FROM s RETURNING 1) "
        "SELECT count(*) FROM s WHERE (SELECT count(*) FROM a) >= 0";
    const Params p{{"t", tenant_id}, {"key", key}, {"dry", dry_run ? "true" : "false"}, {"actor", actor}};
    const auto row = db_.impl().with_connection([&](Connection& c) { return query_row(c, sql, p); });
    if (!row || !row->at(0) || *row->at(0) == "0") {
        return Error::not_found("no such schedule in this tenant");
    }
    return {};
}

}  // namespace scimbridge::db
