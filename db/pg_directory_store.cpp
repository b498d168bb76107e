#include "db/pg_directory_store.hpp"

#include "db/database_impl.hpp"
#include "db/json_rows.hpp"
#include "db/pg_resource_store.hpp"

#include <boost/json.hpp>

namespace scimbridge::db {

namespace json = boost::json;
using scim::Error;

namespace {

constexpr const char* kSourceJson =
    "json_build_object('tenant_id', s.tenant_id, 'id', s.id, 'name', s.name, 'kind', s.kind, "
    "'config', s.config, 'state', s.state, 'enabled', s.enabled)";

mappers::DirectorySourceRow source_from(const json::object& o) {
    mappers::DirectorySourceRow r;
    r.tenant_id = std::string(o.at("tenant_id").as_string());
    r.id = std::string(o.at("id").as_string());
    r.name = std::string(o.at("name").as_string());
    r.kind = std::string(o.at("kind").as_string());
    r.config = o.at("config").as_object();
    r.state = std::string(o.at("state").as_string());
    r.enabled = o.at("enabled").as_bool();
    return r;
}

}  // namespace

scim::Result<mappers::DirectorySourceRow> PgDirectoryStore::create_source(const std::string& tenant_id,
                                                                          const std::string& name,
                                                                          const json::object& config,
                                                                          const std::string& actor) {
    const std::string sql = std::string(
        "WITH s AS (INSERT INTO directory_source (tenant_id, name, kind, config) "
        "  VALUES (CAST(:t AS uuid), :name, :kind, CAST(:config AS jsonb)) RETURNING *), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, detail) SELECT s.tenant_id, :actor, "
        "  'directory.create', jsonb_build_object('id', s.id, 'name', s.name, 'kind', s.kind) FROM s RETURNING 1) "
        "SELECT ") + kSourceJson + "::text FROM s WHERE (SELECT count(*) FROM a) >= 0";
    const json::value* kind = config.if_contains("kind");
    const Params p{{"t", tenant_id},
                   {"name", name},
                   {"kind", kind != nullptr && kind->is_string() ? std::string(kind->as_string()) : ""},
                   {"config", json::serialize(config)},
                   {"actor", actor}};
    try {
        const auto row = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, p); });
        if (!row) {
            return Error::not_found("tenant not found");
        }
        return source_from(row->as_object());
    } catch (const DatabaseError& e) {
        if (e.sqlstate() == "23505") {
            return Error::uniqueness("a directory named \"" + name + "\" exists");
        }
        if (e.sqlstate() == "23514") {
            return Error::invalid_value("name must have 1 to 200 characters");
        }
        throw;
    }
}

std::vector<mappers::DirectorySourceRow> PgDirectoryStore::list_sources(const std::string& tenant_id) {
    const std::string sql = std::string("SELECT coalesce(json_agg(") + kSourceJson +
                            " ORDER BY lower(s.name)), '[]')::text FROM directory_source s "
                            "WHERE s.tenant_id = CAST(:t AS uuid)";
    std::vector<mappers::DirectorySourceRow> out;
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, Params{{"t", tenant_id}}); });
    if (rows) {
        for (const json::value& v : rows->as_array()) {
            out.push_back(source_from(v.as_object()));
        }
    }
    return out;
}

std::optional<mappers::DirectorySourceRow> PgDirectoryStore::source(const std::string& source_id) {
    if (!is_uuid(source_id)) {
        return std::nullopt;
    }
    const std::string sql = std::string("SELECT ") + kSourceJson +
                            "::text FROM directory_source s WHERE s.id = CAST(:id AS uuid)";
    const auto row = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, Params{{"id", source_id}}); });
    if (!row) {
        return std::nullopt;
    }
    return source_from(row->as_object());
}

scim::Result<void> PgDirectoryStore::delete_source(const std::string& tenant_id, const std::string& source_id,
                                                   const std::string& actor) {
    if (!is_uuid(source_id)) {
        return Error::not_found("no such directory");
    }
    const char* sql =
        "WITH s AS (DELETE FROM directory_source WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) "
        "  RETURNING tenant_id, id, name), "
        "x AS (DELETE FROM schedule WHERE key = 'directory:' || :id RETURNING 1), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, detail) SELECT s.tenant_id, :actor, "
        "  'directory.delete', jsonb_build_object('id', s.id, 'name', s.name) FROM s RETURNING 1) "
        "SELECT count(*) FROM s WHERE (SELECT count(*) FROM a) + (SELECT count(*) FROM x) >= 0";
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return query_row(c, sql, Params{{"t", tenant_id}, {"id", source_id}, {"actor", actor}});
    });
    if (!row || !row->at(0) || *row->at(0) == "0") {
        return Error::not_found("no such directory");
    }
    return {};
}

void PgDirectoryStore::save_state(const std::string& source_id, const std::string& state) {
    db_.impl().with_connection([&](Connection& c) {
        query_row(c,
                  "UPDATE directory_source SET state = :state, modified_at = now() WHERE id = CAST(:id AS uuid) "
                  "RETURNING 1",
                  Params{{"id", source_id}, {"state", state}});
    });
}

std::vector<mappers::CanonicalEntry> PgDirectoryStore::canonical(const std::string& tenant_id,
                                                                 scim::ResourceKind kind) {
    const char* users =
        "SELECT coalesce(json_agg(json_build_object('id', u.id, 'external_id', coalesce(u.external_id, ''), "
        "'version', u.version, 'resource', u.doc || jsonb_strip_nulls(jsonb_build_object('externalId', u.external_id, "
        "'userName', u.user_name)))), '[]')::text FROM scim_user u WHERE u.tenant_id = CAST(:t AS uuid)";
    const char* groups =
        "SELECT coalesce(json_agg(json_build_object('id', g.id, 'external_id', coalesce(g.external_id, ''), "
        "'version', g.version, 'resource', jsonb_build_object('displayName', g.display_name, 'members', "
        "  coalesce((SELECT jsonb_agg(jsonb_build_object('value', m.member_id, 'type', m.member_type)) "
        "   FROM scim_group_member m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id), '[]'::jsonb)))), "
        "'[]')::text FROM scim_group g WHERE g.tenant_id = CAST(:t AS uuid)";
    std::vector<mappers::CanonicalEntry> out;
    const auto rows = db_.impl().with_connection([&](Connection& c) {
        return json_row(c, kind == scim::ResourceKind::kUser ? users : groups, Params{{"t", tenant_id}});
    });
    if (rows) {
        out.reserve(rows->as_array().size());
        for (const json::value& v : rows->as_array()) {
            const json::object& o = v.as_object();
            out.push_back(mappers::CanonicalEntry{std::string(o.at("id").as_string()),
                                                  std::string(o.at("external_id").as_string()),
                                                  o.at("version").to_number<std::int64_t>(),
                                                  o.at("resource").as_object()});
        }
    }
    return out;
}

}  // namespace scimbridge::db
