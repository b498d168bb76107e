#include "db/pg_reconcile_store.hpp"

#include "db/database_impl.hpp"
#include "db/json_rows.hpp"
#include "db/pg_outbox_store.hpp"
#include "db/pg_resource_store.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace scimbridge::db {

namespace json = boost::json;
using scim::ResourceKind;

namespace {

// Objects of a batch of resources, which of them have a delivery on its way, whether the app's
// copy was written since :since, and (groups) the members each app copy was told. Every lookup
// is by primary key or delivery_open_key_idx: the in-flight check is a lateral LIMIT 1 per id,
// which PostgreSQL cannot turn into a hash of every open delivery of the app (with an ingest
// backlog queued, that hash was 115 ms a page of 1,000). Planned per call, like kGone: the outbox
// grows from empty within a run, faster than its statistics, and a plan cached on a connection
// while it was small scanned it once per id (2.5 s a page). (Should the database's clock run behind the
// bridge's, a copy written just after :since is judged from the read-back as before: at worst a
// repair the app answers with 409, and the copy is adopted.)
constexpr const char* kRecorded =
    "WITH ids AS (SELECT unnest(CAST(:ids AS uuid[])) AS id) "
    "SELECT json_build_object("
    " 'objects', (SELECT coalesce(json_agg(json_build_object('id', o.resource_id, 'object', " APP_OBJECT_JSON ", "
    "   'written_since', o.updated_at >= CAST(NULLIF(:since, '') AS timestamptz), "
    "   'told', CASE WHEN o.resource_type = 'Group' THEN (SELECT coalesce(json_agg(m.member_id), '[]') "
    "     FROM app_group_member m WHERE m.tenant_id = o.tenant_id AND m.app_id = o.app_id "
    "     AND m.group_id = o.resource_id) END)), '[]') "
    "   FROM app_object o JOIN ids ON o.resource_id = ids.id "
    "   WHERE o.tenant_id = CAST(:t AS uuid) AND o.app_id = CAST(:a AS uuid)), "
    " 'in_flight', (SELECT coalesce(json_agg(ids.id), '[]') FROM ids CROSS JOIN LATERAL (SELECT 1 FROM delivery d "
    "   WHERE d.app_id = CAST(:a AS uuid) AND d.resource_id = ids.id AND d.state IN ('pending', 'leased') LIMIT 1) d))::text";

// One page of the app's objects (primary key order) and which of them lost their canonical
// resource. A page, not the whole app: the anti-join over 130,000 objects took 0.4–1.6 s in one
// statement, a burst of a full core the ingest queued behind.
constexpr const char* kGone =
    "WITH o AS (SELECT * FROM app_object o WHERE o.tenant_id = CAST(:t AS uuid) AND o.app_id = CAST(:a AS uuid) "
    "  AND o.resource_id > coalesce(CAST(NULLIF(:after, '') AS uuid), '00000000-0000-0000-0000-000000000000') "
    "  ORDER BY o.resource_id LIMIT CAST(:n AS integer)) "
    "SELECT json_build_object('seen', (SELECT count(*) FROM o), "
    " 'last', (SELECT resource_id FROM o ORDER BY resource_id DESC LIMIT 1), "
    " 'gone', (SELECT coalesce(json_agg(json_build_object('type', o.resource_type, 'id', o.resource_id, "
    "  'object', " APP_OBJECT_JSON ", 'in_flight', EXISTS (SELECT 1 FROM delivery d WHERE d.app_id = o.app_id "
    "   AND d.resource_id = o.resource_id AND d.state IN ('pending', 'leased')))), '[]') "
    " FROM o WHERE CASE WHEN o.resource_type = 'User' "
    "  THEN NOT EXISTS (SELECT 1 FROM scim_user u WHERE u.tenant_id = o.tenant_id AND u.id = o.resource_id) "
    "  ELSE NOT EXISTS (SELECT 1 FROM scim_group g WHERE g.tenant_id = o.tenant_id AND g.id = o.resource_id) END))::text";

// The steps of a repair batch; :p is a JSON array of {type, id, version, kind, payload?,
// delivered_state?, told?}.
constexpr const char* kRecreateUsers =
    "UPDATE app_object o SET remote_id = NULL, payload = '{}', delivered_version = 0, updated_at = now() "
    "FROM jsonb_to_recordset(CAST(:p AS jsonb)) x(type text, id uuid, kind text) "
    "WHERE x.kind = 'recreate' AND x.type = 'User' AND o.tenant_id = CAST(:t AS uuid) "
    "AND o.app_id = CAST(:a AS uuid) AND o.resource_id = x.id";
constexpr const char* kForgetGroups =
    "WITH x AS (SELECT * FROM jsonb_to_recordset(CAST(:p AS jsonb)) x(type text, id uuid, kind text, told jsonb) "
    "  WHERE x.type = 'Group' AND (x.kind = 'recreate' OR x.told IS NOT NULL)), "
    "m AS (DELETE FROM app_group_member m USING x WHERE m.tenant_id = CAST(:t AS uuid) "
    "  AND m.app_id = CAST(:a AS uuid) AND m.group_id = x.id RETURNING 1) "
    "DELETE FROM app_object o USING x WHERE x.kind = 'recreate' AND o.tenant_id = CAST(:t AS uuid) "
    "AND o.app_id = CAST(:a AS uuid) AND o.resource_id = x.id AND (SELECT count(*) FROM m) >= 0";
constexpr const char* kRefresh =
    "UPDATE app_object o SET payload = coalesce(x.payload, o.payload), "
    "delivered_state = coalesce(x.delivered_state, o.delivered_state), updated_at = now() "
    "FROM jsonb_to_recordset(CAST(:p AS jsonb)) x(id uuid, kind text, payload jsonb, delivered_state text) "
    "WHERE x.kind = 'refresh' AND o.tenant_id = CAST(:t AS uuid) AND o.app_id = CAST(:a AS uuid) "
    "AND o.resource_id = x.id";
constexpr const char* kToldMembers =
    "INSERT INTO app_group_member (tenant_id, app_id, group_id, member_id) "
    "SELECT CAST(:t AS uuid), CAST(:a AS uuid), x.id, CAST(m AS uuid) "
    "FROM jsonb_to_recordset(CAST(:p AS jsonb)) x(type text, id uuid, told jsonb), "
    "  jsonb_array_elements_text(x.told) m "
    "WHERE x.type = 'Group' AND x.told IS NOT NULL ON CONFLICT DO NOTHING";
constexpr const char* kEnqueue =
    "WITH d AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
    "  SELECT CAST(:t AS uuid), CAST(:a AS uuid), x.type, x.id, x.version, 'resync' "
    "  FROM jsonb_to_recordset(CAST(:p AS jsonb)) x(type text, id uuid, version bigint) RETURNING 1) "
    "SELECT pg_notify('scim_bridge_outbox', '') FROM (SELECT count(*) n FROM d) c WHERE c.n > 0";

std::string uuid_array(const std::vector<std::string>& ids) {
    std::string out = "{";
    for (const std::string& id : ids) {
        if (out.size() > 1) {
            out += ',';
        }
        out += id;
    }
    return out + "}";
}

std::string_view kind_name(mappers::Repair::Kind kind) {
    switch (kind) {
        case mappers::Repair::Kind::kDeliver: return "deliver";
        case mappers::Repair::Kind::kRecreate: return "recreate";
        case mappers::Repair::Kind::kRefresh: return "refresh";
    }
    return "deliver";
}

}  // namespace

std::unordered_map<std::string, mappers::Recorded> PgReconcileStore::recorded(const std::string& tenant_id,
                                                                             const std::string& app_id,
                                                                             ResourceKind /*kind*/,
                                                                             const std::vector<std::string>& ids,
                                                                             const std::string& since) {
    std::unordered_map<std::string, mappers::Recorded> out;
    for (const std::string& id : ids) {
        if (!is_uuid(id)) {
            return out;  // not one of ours: nothing recorded
        }
        out[id];
    }
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row_planned(c, kRecorded,
                        Params{{"t", tenant_id}, {"a", app_id}, {"ids", uuid_array(ids)}, {"since", since}});
    });
    if (!row) {
        return out;
    }
    for (const json::value& v : row->as_object().at("objects").as_array()) {
        const json::object& o = v.as_object();
        mappers::Recorded& r = out[std::string(o.at("id").as_string())];
        r.object = app_object_from(o.at("object").as_object());
        const json::value* fresh = o.if_contains("written_since");
        r.written_since = fresh != nullptr && fresh->is_bool() && fresh->as_bool();
        if (const json::value* told = o.if_contains("told"); told != nullptr && told->is_array()) {
            for (const json::value& m : told->as_array()) {
                r.told_members.emplace_back(m.as_string());
            }
        }
    }
    for (const json::value& v : row->as_object().at("in_flight").as_array()) {
        out[std::string(v.as_string())].in_flight = true;
    }
    return out;
}

mappers::GonePage PgReconcileStore::gone(const std::string& tenant_id, const std::string& app_id,
                                        const std::string& after, std::size_t limit) {
    mappers::GonePage out;
    const std::size_t n = std::max<std::size_t>(limit, 1);
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row_planned(c, kGone, Params{{"t", tenant_id}, {"a", app_id}, {"after", after},
                                                 {"n", std::to_string(n)}});
    });
    if (!row) {
        return out;
    }
    const json::object& page = row->as_object();
    if (page.at("seen").to_number<std::int64_t>() >= static_cast<std::int64_t>(n)) {  // a full page: maybe more
        out.next = std::string(page.at("last").as_string());
    }
    for (const json::value& v : page.at("gone").as_array()) {
        const json::object& o = v.as_object();
        mappers::GoneObject g;
        g.kind = o.at("type").as_string() == "Group" ? ResourceKind::kGroup : ResourceKind::kUser;
        g.id = std::string(o.at("id").as_string());
        g.object = app_object_from(o.at("object").as_object());
        g.in_flight = o.at("in_flight").as_bool();
        out.objects.push_back(std::move(g));
    }
    return out;
}

std::unordered_map<std::string, std::string> PgReconcileStore::user_remote_ids(const std::string& tenant_id,
                                                                              const std::string& app_id) {
    std::unordered_map<std::string, std::string> out;
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row(c,
                        "SELECT coalesce(json_object_agg(resource_id, remote_id), '{}')::text FROM app_object "
                        "WHERE tenant_id = CAST(:t AS uuid) AND app_id = CAST(:a AS uuid) "
                        "AND resource_type = 'User' AND remote_id IS NOT NULL",
                        Params{{"t", tenant_id}, {"a", app_id}});
    });
    if (row) {
        for (const auto& [id, remote] : row->as_object()) {
            out.emplace(std::string(id), std::string(remote.as_string()));
        }
    }
    return out;
}

void PgReconcileStore::repair(const std::string& tenant_id, const std::string& app_id,
                              const std::vector<mappers::Repair>& repairs) {
    if (repairs.empty()) {
        return;
    }
    json::array list;
    list.reserve(repairs.size());
    for (const mappers::Repair& r : repairs) {
        json::object o{{"type", scim::resource_type_id(r.resource)},
                       {"id", r.id},
                       {"version", r.version},
                       {"kind", kind_name(r.kind)}};
        if (r.payload) {
            o["payload"] = *r.payload;
        }
        if (r.delivered_state) {
            o["delivered_state"] = mappers::to_string(*r.delivered_state);
        }
        if (r.told_members) {
            json::array told;
            for (const std::string& m : *r.told_members) {
                told.emplace_back(m);
            }
            o["told"] = std::move(told);
        }
        list.push_back(std::move(o));
    }
    const Params p{{"t", tenant_id}, {"a", app_id}, {"p", json::serialize(list)}};
    db_.impl().with_connection([&](Connection& c) {
        soci::transaction tr(c.session);
        query_row(c, kRecreateUsers, p);
        query_row(c, kForgetGroups, p);
        query_row(c, kRefresh, p);
        query_row(c, kToldMembers, p);
        query_row(c, kEnqueue, p);
        tr.commit();
    });
}

}  // namespace scimbridge::db
