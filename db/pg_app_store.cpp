#include "db/pg_app_store.hpp"

#include "db/database_impl.hpp"
#include "db/json_rows.hpp"
#include "db/pg_resource_store.hpp"

#include <boost/json.hpp>

namespace scimbridge::db {

namespace json = boost::json;
using scim::Error;

namespace {

// After a create or a change that can alter who is in scope or what is sent: every user (and
// group) of the tenant is delivered once more; those the app already holds unchanged are skipped.
constexpr const char* kSyncAll =
    "su AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
    "  SELECT x.tenant_id, x.id, 'User', u.id, u.version, 'sync' FROM x "
    "  JOIN scim_user u ON u.tenant_id = x.tenant_id WHERE x.enabled RETURNING 1), "
    "sg AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
    "  SELECT x.tenant_id, x.id, 'Group', g.id, g.version, 'sync' FROM x "
    "  JOIN scim_group g ON g.tenant_id = x.tenant_id WHERE x.enabled AND x.groups RETURNING 1), "
    "n AS (SELECT pg_notify('scim_bridge_outbox', '') FROM x WHERE x.enabled) ";

// Optional equality conditions: "(CAST(:k AS text) IS NULL OR col = CAST(:k AS type))".
std::string optional_eq(const char* column, const char* param, const char* type) {
    return std::string(" AND (CAST(:") + param + " AS text) IS NULL OR " + column + " = CAST(:" +
           param + " AS " + type + "))";
}

std::optional<std::string> opt(const std::optional<std::int64_t>& v) {
    return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

scim::Result<void> check_uuid(const std::optional<std::string>& v, const char* what) {
    if (v && !is_uuid(*v)) {
        return Error::bad_request(std::string(what) + " must be a UUID");
    }
    return {};
}

// One page of rows (a JSON array from `sql`), with the cursor of the next page when it is full.
mappers::RowPage fetch_page(Database& db, const std::string& sql, const Params& params, std::size_t limit,
                            std::string (*cursor_of)(const json::object& last)) {
    mappers::RowPage page;
    const auto rows = db.impl().with_connection([&](Connection& c) { return json_row(c, sql, params); });
    if (rows) {
        page.rows = rows->as_array();
    }
    if (page.rows.size() == limit && !page.rows.empty()) {
        page.next = cursor_of(page.rows.back().as_object());
    }
    return page;
}

std::string id_cursor(const json::object& last) {
    return std::to_string(last.at("id").to_number<std::int64_t>());
}

}  // namespace

scim::Result<mappers::StoredApp> PgAppStore::create_app(const std::string& tenant_id,
                                                        const mappers::AppDefinition& app,
                                                        const std::string& actor) {
    const std::string sql =
        "WITH x AS (INSERT INTO app (tenant_id, name, connector, definition, groups, enabled) "
        "  VALUES (CAST(:t AS uuid), :name, :connector, CAST(:def AS jsonb), CAST(:groups AS boolean), "
        "  CAST(:enabled AS boolean)) RETURNING *), "
        "aud AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, detail) "
        "  SELECT x.tenant_id, :actor, 'app.create', x.id, jsonb_build_object('name', x.name) FROM x), " +
        std::string(kSyncAll) + "SELECT " + kAppJson +
        "::text FROM x WHERE (SELECT count(*) FROM n) >= 0 AND (SELECT count(*) FROM su) >= 0 "
        "AND (SELECT count(*) FROM sg) >= 0";
    const Params p{{"t", tenant_id},
                   {"name", app.name},
                   {"connector", app.connector},
                   {"def", json::serialize(mappers::to_stored_json(app))},
                   {"groups", app.needs_group_events() ? "true" : "false"},
                   {"enabled", app.enabled ? "true" : "false"},
                   {"actor", actor}};
    try {
        const auto row = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, p); });
        if (!row) {
            return Error::not_found("tenant not found");
        }
        return app_from(row->as_object());
    } catch (const DatabaseError& e) {
        if (e.sqlstate() == "23505") {
            return Error::uniqueness("an app named \"" + app.name + "\" exists");
        }
        throw;
    }
}

std::vector<mappers::StoredApp> PgAppStore::list_apps(const std::string& tenant_id) {
    const std::string sql = std::string("SELECT coalesce(json_agg(") + kAppJson +
                            " ORDER BY lower(x.name)), '[]')::text FROM app x WHERE x.tenant_id = CAST(:t AS uuid)";
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, {{"t", tenant_id}}); });
    std::vector<mappers::StoredApp> apps;
    if (rows) {
        for (const json::value& v : rows->as_array()) {
            apps.push_back(app_from(v.as_object()));
        }
    }
    return apps;
}

std::optional<mappers::StoredApp> PgAppStore::get_app(const std::string& tenant_id, const std::string& app_id) {
    if (!is_uuid(app_id)) {
        return std::nullopt;
    }
    const std::string sql = std::string("SELECT ") + kAppJson +
                            "::text FROM app x WHERE x.tenant_id = CAST(:t AS uuid) AND x.id = CAST(:a AS uuid)";
    const auto row = db_.impl().with_connection(
        [&](Connection& c) { return json_row(c, sql, {{"t", tenant_id}, {"a", app_id}}); });
    if (!row) {
        return std::nullopt;
    }
    return app_from(row->as_object());
}

scim::Result<mappers::StoredApp> PgAppStore::update_app(const std::string& tenant_id,
                                                        const std::string& app_id,
                                                        const mappers::AppDefinition& app,
                                                        std::optional<std::int64_t> expected_version,
                                                        const std::string& actor) {
    if (!is_uuid(app_id)) {
        return Error::not_found("no such app");
    }
    const std::string sql =
        "WITH x AS (UPDATE app SET name = :name, connector = :connector, "
        "  definition = CAST(:def AS jsonb), groups = CAST(:groups AS boolean), "
        "  enabled = CAST(:enabled AS boolean), version = version + 1, modified_at = now() "
        "  WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:a AS uuid) "
        "  AND (CAST(:v AS bigint) IS NULL OR version = CAST(:v AS bigint)) RETURNING *), "
        "aud AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, detail) "
        "  SELECT x.tenant_id, :actor, 'app.update', x.id, "
        "  jsonb_build_object('name', x.name, 'version', x.version, 'enabled', x.enabled) FROM x), " +
        std::string(kSyncAll) + "SELECT " + kAppJson +
        "::text FROM x WHERE (SELECT count(*) FROM n) >= 0 AND (SELECT count(*) FROM su) >= 0 "
        "AND (SELECT count(*) FROM sg) >= 0";
    const Params p{{"t", tenant_id},
                   {"a", app_id},
                   {"v", opt(expected_version)},
                   {"name", app.name},
                   {"connector", app.connector},
                   {"def", json::serialize(mappers::to_stored_json(app))},
                   {"groups", app.needs_group_events() ? "true" : "false"},
                   {"enabled", app.enabled ? "true" : "false"},
                   {"actor", actor}};
    try {
        const auto row = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, p); });
        if (!row) {
            if (expected_version && get_app(tenant_id, app_id)) {
                return Error::precondition_failed("the app has changed since it was read");
            }
            return Error::not_found("no such app");
        }
        return app_from(row->as_object());
    } catch (const DatabaseError& e) {
        if (e.sqlstate() == "23505") {
            return Error::uniqueness("an app named \"" + app.name + "\" exists");
        }
        throw;
    }
}

scim::Result<void> PgAppStore::delete_app(const std::string& tenant_id, const std::string& app_id,
                                          const std::string& actor) {
    if (!is_uuid(app_id)) {
        return Error::not_found("no such app");
    }
    const std::string sql =
        "WITH x AS (DELETE FROM app WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:a AS uuid) "
        "  RETURNING tenant_id, id, name), "
        "aud AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, detail) "
        "  SELECT x.tenant_id, :actor, 'app.delete', x.id, jsonb_build_object('name', x.name) FROM x "
        "  RETURNING 1) "
        "SELECT count(*)::text FROM aud";
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return query_row(c, sql, {{"t", tenant_id}, {"a", app_id}, {"actor", actor}});
    });
    if (!row || !row->at(0) || *row->at(0) == "0") {
        return Error::not_found("no such app");
    }
    return {};
}

mappers::RowPage PgAppStore::accounts(const std::string& tenant_id, const mappers::AccountQuery& q) {
    std::string after_app, after_resource;
    if (q.after) {
        const auto slash = q.after->find('/');
        if (slash != std::string::npos) {
            after_app = q.after->substr(0, slash);
            after_resource = q.after->substr(slash + 1);
        }
    }
    const bool has_after = is_uuid(after_app) && is_uuid(after_resource);
    const std::string sql =
        "SELECT coalesce(json_agg(r ORDER BY r.app_id, r.user_id), '[]')::text FROM ("
        " SELECT o.app_id, a.name AS app_name, o.resource_id AS user_id, u.user_name, o.state, "
        "  o.state_before_block, o.remote_id, o.delivered_version, o.created_at, o.updated_at "
        " FROM app_object o JOIN app a ON a.tenant_id = o.tenant_id AND a.id = o.app_id "
        " LEFT JOIN scim_user u ON u.tenant_id = o.tenant_id AND u.id = o.resource_id "
        " WHERE o.tenant_id = CAST(:t AS uuid) AND o.resource_type = 'User'" +
        optional_eq("o.app_id", "app", "uuid") + optional_eq("o.state", "state", "text") +
        optional_eq("o.resource_id", "user", "uuid") +
        (has_after ? " AND (o.app_id, o.resource_id) > (CAST(:aa AS uuid), CAST(:ar AS uuid))" : "") +
        " ORDER BY o.app_id, o.resource_id LIMIT CAST(:n AS integer)) r";
    Params p{{"t", tenant_id}, {"app", q.app_id}, {"state", q.state}, {"user", q.user_id},
             {"n", std::to_string(q.limit)}};
    if (has_after) {
        p["aa"] = after_app;
        p["ar"] = after_resource;
    }
    if (!check_uuid(q.app_id, "app") || !check_uuid(q.user_id, "user")) {
        return {};
    }
    return fetch_page(db_, sql, p, q.limit, [](const json::object& last) {
        return std::string(last.at("app_id").as_string()) + "/" + std::string(last.at("user_id").as_string());
    });
}

mappers::RowPage PgAppStore::deliveries(const std::string& tenant_id, const mappers::DeliveryQuery& q) {
    const std::string sql =
        "SELECT coalesce(json_agg(r ORDER BY r.id), '[]')::text FROM ("
        " SELECT d.id, 'dlv_' || d.id AS webhook_id, d.app_id, d.event_id, d.resource_type, "
        "  d.resource_id, d.version, d.operation, d.state, d.attempts, d.next_at, d.last_status, "
        "  d.last_error, d.created_at, d.finished_at FROM delivery d "
        " WHERE d.tenant_id = CAST(:t AS uuid)" +
        optional_eq("d.app_id", "app", "uuid") + optional_eq("d.state", "state", "text") +
        optional_eq("d.resource_id", "res", "uuid") +
        " AND (CAST(:after AS text) IS NULL OR d.id > CAST(:after AS bigint)) "
        " ORDER BY d.id LIMIT CAST(:n AS integer)) r";
    if (!check_uuid(q.app_id, "app") || !check_uuid(q.resource_id, "resource")) {
        return {};
    }
    const Params p{{"t", tenant_id}, {"app", q.app_id}, {"state", q.state}, {"res", q.resource_id},
                   {"after", opt(q.after)}, {"n", std::to_string(q.limit)}};
    return fetch_page(db_, sql, p, q.limit, id_cursor);
}

scim::Result<std::int64_t> PgAppStore::replay(const std::string& tenant_id, const mappers::ReplayRequest& r,
                                              const std::string& actor) {
    if (auto ok = check_uuid(r.app_id, "app_id"); !ok) {
        return ok.error();
    }
    if (r.ids.empty() && !r.from && !r.to) {
        return Error::bad_request("give delivery ids, or a time range (from, to)");
    }
    std::vector<std::string> ids;
    for (const std::int64_t id : r.ids) {
        ids.push_back(std::to_string(id));
    }
    const std::string sql =
        "WITH x AS (UPDATE delivery d SET state = 'pending', next_at = now(), lease_token = NULL, "
        "  lease_until = NULL, finished_at = NULL, attempts = 0 "
        "  WHERE d.tenant_id = CAST(:t AS uuid) AND d.state IN ('dead', 'delivered', 'skipped', 'superseded') "
        "  AND (d.id = ANY (CAST(:ids AS bigint[])) OR (cardinality(CAST(:ids AS bigint[])) = 0 "
        "   AND (CAST(:from AS text) IS NULL OR d.created_at >= CAST(:from AS timestamptz)) "
        "   AND (CAST(:to AS text) IS NULL OR d.created_at < CAST(:to AS timestamptz)) "
        "   AND d.state = coalesce(CAST(:state AS text), 'dead')" +
        optional_eq("d.app_id", "app", "uuid") +
        ")) RETURNING d.id), "
        "aud AS (INSERT INTO audit_log (tenant_id, actor, action, detail) "
        "  SELECT CAST(:t AS uuid), :actor, 'delivery.replay', jsonb_build_object('count', count(*), "
        "  'ids', coalesce(jsonb_agg(x.id) FILTER (WHERE x.id IS NOT NULL), '[]')) FROM x RETURNING 1), "
        "n AS (SELECT pg_notify('scim_bridge_outbox', '') WHERE EXISTS (SELECT 1 FROM x)) "
        "SELECT ((SELECT count(*) FROM x) + 0 * (SELECT count(*) FROM aud) "
        " + 0 * (SELECT count(*) FROM n))::text";
    const Params p{{"t", tenant_id}, {"ids", pg_array_literal(ids)}, {"from", r.from}, {"to", r.to},
                   {"state", r.state}, {"app", r.app_id}, {"actor", actor}};
    try {
        const auto row = db_.impl().with_connection([&](Connection& c) { return query_row(c, sql, p); });
        return row && row->at(0) ? std::stoll(*row->at(0)) : 0;
    } catch (const DatabaseError& e) {
        if (e.sqlstate().starts_with("22")) {  // data exception: a malformed timestamp
            return Error::bad_request("from and to must be RFC 3339 timestamps");
        }
        throw;
    }
}

mappers::RowPage PgAppStore::audit(const std::string& tenant_id, const mappers::AuditQuery& q) {
    const std::string sql =
        "SELECT coalesce(json_agg(r ORDER BY r.id), '[]')::text FROM ("
        " SELECT id, at, actor, action, app_id, resource_type, resource_id, detail FROM audit_log "
        " WHERE tenant_id = CAST(:t AS uuid)" +
        optional_eq("app_id", "app", "uuid") + optional_eq("resource_id", "res", "uuid") +
        " AND (CAST(:action AS text) IS NULL OR starts_with(action, CAST(:action AS text))) "
        " AND (CAST(:after AS text) IS NULL OR id > CAST(:after AS bigint)) "
        " ORDER BY id LIMIT CAST(:n AS integer)) r";
    if (!check_uuid(q.app_id, "app") || !check_uuid(q.resource_id, "resource")) {
        return {};
    }
    const Params p{{"t", tenant_id}, {"app", q.app_id}, {"res", q.resource_id}, {"action", q.action},
                   {"after", opt(q.after)}, {"n", std::to_string(q.limit)}};
    return fetch_page(db_, sql, p, q.limit, id_cursor);
}

}  // namespace scimbridge::db
