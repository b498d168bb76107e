#include "db/pg_resource_store.hpp"
#include "db/sql_text.hpp"

#include "db/database_impl.hpp"
#include "db/filter_sql.hpp"
#include "scim/text.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <map>

namespace scimbridge::db {

namespace json = boost::json;
using scim::Error;
using scim::ResourceKind;

namespace {

#define SCIMBRIDGE_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// Direct and indirect groups of user t (nested groups; cycles bounded by depth), as JSON, in no
// order (groups_from_json orders them).
// The group rows are looked up one by one through the primary key (a lateral LIMIT 1 keeps the
// planner from hashing every group of the tenant: 3 ms a read with 10,000 groups, 0.4 ms this way).
// The nesting steps name member_type = 'Group' so they read the small partial index (0014).
constexpr const char* kGroupsOfUser =
    "(WITH RECURSIVE up(group_id, depth) AS ("
    "   SELECT m.group_id, 1 FROM scim_group_member m"
    "   WHERE m.tenant_id = t.tenant_id AND m.member_id = t.id"
    "   UNION"
    "   SELECT m.group_id, up.depth + 1 FROM scim_group_member m JOIN up ON m.member_id = up.group_id"
    "   WHERE m.tenant_id = t.tenant_id AND m.member_type = 'Group' AND up.depth < 16)"
    " SELECT coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name,"
    "                                            'direct', d.depth = 1)), '[]')"
    " FROM (SELECT group_id, min(depth) AS depth FROM up GROUP BY group_id) d"
    " CROSS JOIN LATERAL (SELECT g.id, g.display_name FROM scim_group g"
    "                      WHERE g.tenant_id = t.tenant_id AND g.id = d.group_id LIMIT 1) g)";
// Only the direct groups of user t, as JSON like kGroupsOfUser's. Read while the tenant has no
// group nested in another (Okta and Entra push none): without the recursive step a lookup costs
// PostgreSQL about a sixth less (userName eq at 1M users: 0.115 ms → 0.100 ms a call, pgbench).
// Such a read also selects kTenantNests, in the same statement and so the same snapshot: when
// that is false, the direct groups are all the groups.
constexpr const char* kDirectGroupsOfUser =
    "(SELECT coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name,"
    "                                            'direct', true)), '[]')"
    " FROM scim_group_member m"
    " CROSS JOIN LATERAL (SELECT g.id, g.display_name FROM scim_group g"
    "                      WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id LIMIT 1) g"
    " WHERE m.tenant_id = t.tenant_id AND m.member_id = t.id)";
// Whether any group of tenant :t is a member of another (the partial index of 0014).
constexpr const char* kTenantNests =
    "EXISTS (SELECT 1 FROM scim_group_member n WHERE n.tenant_id = CAST(:t AS uuid) AND n.member_type = 'Group')";

// Members of group t with their current display names, as JSON.
constexpr const char* kMembersOfGroup =
    "(SELECT coalesce(json_agg(json_build_object('value', m.member_id, 'type', m.member_type,"
    "   'display', coalesce(u.display_name, u.user_name, g.display_name, '')) ORDER BY m.member_id), '[]')"
    " FROM scim_group_member m"
    " LEFT JOIN scim_user u ON m.member_type = 'User' AND u.tenant_id = m.tenant_id AND u.id = m.member_id"
    " LEFT JOIN scim_group g ON m.member_type = 'Group' AND g.tenant_id = m.tenant_id AND g.id = m.member_id"
    " WHERE m.tenant_id = t.tenant_id AND m.group_id = t.id)";

// The groups of every user on a page at once: one recursive query seeded with the page (CTE p),
// instead of one per row. Yields gs(root, groups).
constexpr const char* kGroupsOfPage =
    "up(root, group_id, depth) AS ("
    "   SELECT m2.member_id, m2.group_id, 1 FROM scim_group_member m2"
    "   JOIN p ON m2.tenant_id = p.tenant_id AND m2.member_id = p.id"
    "   UNION"
    "   SELECT up.root, m2.group_id, up.depth + 1 FROM scim_group_member m2"
    "   JOIN up ON m2.member_id = up.group_id"
    "   WHERE m2.tenant_id = CAST(:t AS uuid) AND m2.member_type = 'Group' AND up.depth < 16), "
    "gs AS (SELECT d.root, json_agg(json_build_object('value', g.id, 'display', g.display_name,"
    "                                                 'direct', d.depth = 1)) AS groups"
    "   FROM (SELECT root, group_id, min(depth) AS depth FROM up GROUP BY root, group_id) d"
    "   CROSS JOIN LATERAL (SELECT g.id, g.display_name FROM scim_group g"
    "                        WHERE g.tenant_id = CAST(:t AS uuid) AND g.id = d.group_id LIMIT 1) g"
    "   GROUP BY d.root)";

// kGroupsOfPage flat: the direct groups of every user on the page (see kDirectGroupsOfUser).
constexpr const char* kDirectGroupsOfPage =
    "gs AS (SELECT m2.member_id AS root, json_agg(json_build_object('value', g.id,"
    "                                      'display', g.display_name, 'direct', true)) AS groups"
    "   FROM scim_group_member m2 JOIN p ON m2.tenant_id = p.tenant_id AND m2.member_id = p.id"
    "   CROSS JOIN LATERAL (SELECT g.id, g.display_name FROM scim_group g"
    "                        WHERE g.tenant_id = CAST(:t AS uuid) AND g.id = m2.group_id LIMIT 1) g"
    "   GROUP BY m2.member_id)";

// What a read loads besides the row: a user's groups or a group's members (JSON), or nothing.
enum class Related { kNone, kGroups, kMembers };

Related related_of(ResourceKind kind, const scim::LoadOptions& load) {
    if (kind == ResourceKind::kUser && load.groups) {
        return Related::kGroups;
    }
    if (kind == ResourceKind::kGroup && load.members) {
        return Related::kMembers;
    }
    return Related::kNone;
}

// The columns every read selects from resource row t, in from_row's order: each as PostgreSQL
// keeps it (cheaper for it than building JSON), then `related` (JSON or NULL).
std::string resource_columns(const std::string& related) {
    return "t.id, t.external_id, array_to_json(t.schemas), t.doc, t.version, t.created_at, t.modified_at, " +
           related;
}

// The related column of a single read of row t; `flat`: a user's direct groups only.
std::string related_column(Related related, bool flat = false) {
    switch (related) {
        case Related::kGroups:
            return flat ? kDirectGroupsOfUser : kGroupsOfUser;
        case Related::kMembers:
            return kMembersOfGroup;
        case Related::kNone:
            break;
    }
    return "NULL::json";
}

constexpr const char* kInsertGroup =
    "INSERT INTO scim_group (tenant_id, id, display_name, external_id, schemas, doc, version, "
    "created_at, modified_at) VALUES (CAST(:t AS uuid), CAST(:id AS uuid), :display_name, "
    ":external_id, CAST(:schemas AS text[]), CAST(:doc AS jsonb), 1, CAST(:ts AS timestamptz), "
    "CAST(:ts AS timestamptz))";
constexpr const char* kUpdateGroup =
    "UPDATE scim_group SET display_name = :display_name, external_id = :external_id, "
    "schemas = CAST(:schemas AS text[]), doc = CAST(:doc AS jsonb), version = version + 1, "
    "modified_at = CAST(:ts AS timestamptz) "
    "WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) AND version = :v "
    "RETURNING version, " SCIMBRIDGE_TS("created_at");
// A member-only change: a new version, the attributes untouched (:v < 0: any version).
constexpr const char* kBumpGroup =
    "UPDATE scim_group SET version = version + 1, modified_at = CAST(:ts AS timestamptz) "
    "WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) "
    "AND (CAST(:v AS bigint) < 0 OR version = CAST(:v AS bigint)) "
    "RETURNING version, " SCIMBRIDGE_TS("created_at");
constexpr const char* kInsertEvent =
    "INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
    "changed_attributes, occurred_at) VALUES (CAST(:t AS uuid), :rt, CAST(:id AS uuid), :v, :op, "
    "CAST(:changed AS text[]), CAST(:ts AS timestamptz))";
// Member changes (MemberStep), each one set-based statement whatever the size of the group.
// Adding locks the members that exist (FOR KEY SHARE: a concurrent DELETE of one waits for this
// transaction, then finds and removes the new membership row) and reports how many ids name
// nothing in the tenant (→ 400, the transaction rolls back).
constexpr const char* kAddMembers =
    "WITH ids AS (SELECT DISTINCT x.id FROM unnest(CAST(:ids AS uuid[])) AS x(id)), "
    "u AS (SELECT u.id FROM scim_user u JOIN ids ON u.id = ids.id "
    "      WHERE u.tenant_id = CAST(:t AS uuid) FOR KEY SHARE OF u), "
    "g AS (SELECT g.id FROM scim_group g JOIN ids ON g.id = ids.id "
    "      WHERE g.tenant_id = CAST(:t AS uuid) FOR KEY SHARE OF g), "
    "ins AS (INSERT INTO scim_group_member (tenant_id, group_id, member_id, member_type) "
    "      SELECT CAST(:t AS uuid), CAST(:g AS uuid), id, 'User' FROM u "
    "      UNION ALL SELECT CAST(:t AS uuid), CAST(:g AS uuid), id, 'Group' FROM g "
    "      ON CONFLICT DO NOTHING RETURNING 1) "
    "SELECT (SELECT count(*) FROM ids) - (SELECT count(*) FROM u) - (SELECT count(*) FROM g), "
    "(SELECT count(*) FROM ins)";
// Member ids that are neither a user nor a group of the tenant.
constexpr const char* kUnknownMember =
    "SELECT m.id::text FROM unnest(CAST(:ids AS uuid[])) AS m(id) "
    "WHERE NOT EXISTS (SELECT 1 FROM scim_user u WHERE u.tenant_id = CAST(:t AS uuid) AND u.id = m.id) "
    "AND NOT EXISTS (SELECT 1 FROM scim_group g WHERE g.tenant_id = CAST(:t AS uuid) AND g.id = m.id) "
    "LIMIT 1";
constexpr const char* kRemoveMembers =
    "WITH d AS (DELETE FROM scim_group_member WHERE tenant_id = CAST(:t AS uuid) "
    "AND group_id = CAST(:g AS uuid) AND member_id = ANY (CAST(:ids AS uuid[])) RETURNING 1) "
    "SELECT count(*) FROM d";
constexpr const char* kRemoveAllMembers =
    "WITH d AS (DELETE FROM scim_group_member WHERE tenant_id = CAST(:t AS uuid) "
    "AND group_id = CAST(:g AS uuid) RETURNING 1) SELECT count(*) FROM d";
// PUT and "replace members": the difference is computed in the database (an anti-join against
// the new list), then the new list is added.
constexpr const char* kRemoveOtherMembers =
    "WITH d AS (DELETE FROM scim_group_member m WHERE m.tenant_id = CAST(:t AS uuid) "
    "AND m.group_id = CAST(:g AS uuid) AND NOT EXISTS (SELECT 1 FROM unnest(CAST(:ids AS uuid[])) "
    "AS x(id) WHERE x.id = m.member_id) RETURNING 1) SELECT count(*) FROM d";
#undef SCIMBRIDGE_TS

const char* table_of(ResourceKind kind) { return kind == ResourceKind::kUser ? "scim_user" : "scim_group"; }

// A user's groups as kGroupsOfUser/kGroupsOfPage aggregate them, in SCIM's order.
std::vector<scim::GroupRef> groups_from_json(const json::array& a) {
    std::vector<scim::GroupRef> groups;
    groups.reserve(a.size());
    for (const json::value& v : a) {
        const json::object& x = v.as_object();
        groups.push_back({std::string(x.at("value").as_string()), std::string(x.at("display").as_string()),
                          x.at("direct").as_bool()});
    }
    // Aggregated unordered (an ORDER BY in the aggregate is a sort per user in SQL): direct
    // groups first, each kind by id.
    std::sort(groups.begin(), groups.end(), [](const auto& a1, const auto& b1) {
        return a1.direct != b1.direct ? a1.direct : a1.value < b1.value;
    });
    return groups;
}

std::vector<scim::MemberRef> members_from_json(const json::array& a) {
    std::vector<scim::MemberRef> members;
    members.reserve(a.size());
    for (const json::value& v : a) {
        const json::object& x = v.as_object();
        members.push_back({std::string(x.at("value").as_string()), std::string(x.at("type").as_string()),
                           std::string(x.at("display").as_string())});
    }
    return members;
}

// `text` parsed by `parser` (one parser for a whole page: its buffers are reused) into `storage`.
json::value parse_with(json::parser& parser, std::string_view text, const json::storage_ptr& storage) {
    parser.reset(storage);
    parser.write(text);
    return parser.release();
}

// The resource in row `row` of `rows`, its resource_columns from column `first` on. The document
// is parsed into `storage` (a request's arena) and moved into the resource.
scim::StoredResource from_row(const Rows& rows, int row, int first, Related related, json::parser& parser,
                              const json::storage_ptr& storage) {
    const auto column = [&](int i) { return rows.text(row, first + i); };
    const json::value schema_list = parse_with(parser, column(2), storage);
    std::vector<std::string> schemas;
    schemas.reserve(schema_list.as_array().size());
    for (const json::value& s : schema_list.as_array()) {
        schemas.emplace_back(s.as_string());
    }
    json::value doc = parse_with(parser, column(3), storage);
    std::int64_t version = 0;
    std::from_chars(column(4).data(), column(4).data() + column(4).size(), version);
    const auto external_id = rows.optional_text(row, first + 1);
    scim::StoredResource r{std::string(column(0)),
                           external_id ? std::optional<std::string>(std::string(*external_id)) : std::nullopt,
                           std::move(doc.as_object()),
                           std::move(schemas),
                           version,
                           scim_time_from_pg(column(5)),
                           scim_time_from_pg(column(6)),
                           std::nullopt,
                           std::nullopt};
    if (related == Related::kGroups) {
        r.groups = groups_from_json(parse_with(parser, column(7), storage).as_array());
    } else if (related == Related::kMembers) {
        r.members = members_from_json(parse_with(parser, column(7), storage).as_array());
    }
    return r;
}

// The one resource of a single read's result, if any.
std::optional<scim::StoredResource> single(const Rows& rows, Related related) {
    if (rows.size() == 0) {
        return std::nullopt;
    }
    json::parser parser;
    return from_row(rows, 0, 0, related, parser, json::storage_ptr());
}

// The extracted, indexed columns of a user document.
struct UserColumns {
    std::string user_name;
    std::string display_name;
    soci::indicator display_ind = soci::i_null;
    std::string active;
    soci::indicator active_ind = soci::i_null;
    std::string emails;
};

UserColumns user_columns(const json::object& doc) {
    UserColumns c;
    if (const json::value* v = doc.if_contains("userName"); v != nullptr && v->is_string()) {
        c.user_name = std::string(v->as_string());
    }
    if (const json::value* v = doc.if_contains("displayName"); v != nullptr && v->is_string()) {
        c.display_name = std::string(v->as_string());
        c.display_ind = soci::i_ok;
    }
    if (const json::value* v = doc.if_contains("active"); v != nullptr && v->is_bool()) {
        c.active = v->as_bool() ? "true" : "false";
        c.active_ind = soci::i_ok;
    }
    std::vector<std::string> emails;
    if (const json::value* v = doc.if_contains("emails"); v != nullptr && v->is_array()) {
        for (const json::value& e : v->as_array()) {
            if (e.is_object()) {
                if (const json::value* value = e.as_object().if_contains("value");
                    value != nullptr && value->is_string()) {
                    // Folded as PostgreSQL lower() folds the filter literal (emails.value eq).
                    emails.push_back(scim::fold_case(value->as_string()));
                }
            }
        }
    }
    c.emails = pg_array_literal(emails);
    return c;
}

// The same columns as statement parameters (nullopt = SQL NULL).
Params user_params(const json::object& doc) {
    const UserColumns c = user_columns(doc);
    Params p;
    p.emplace("user_name", c.user_name);
    p.emplace("display_name", c.display_ind == soci::i_ok ? std::optional<std::string>(c.display_name)
                                                          : std::nullopt);
    p.emplace("active", c.active_ind == soci::i_ok ? std::optional<std::string>(c.active)
                                                   : std::nullopt);
    p.emplace("emails", c.emails);
    return p;
}

std::string group_display_name(const json::object& doc) {
    const json::value* v = doc.if_contains("displayName");
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// SQLSTATEs a client's data can cause, as SCIM errors: 23505 → 409 with the attribute that
// collided; a value too large to index (54000) or that PostgreSQL cannot store (22021 bad
// encoding, 22P05 NUL in JSON text) → 400 invalidValue. Never a 500 for a client mistake.
std::optional<Error> uniqueness_error(const std::string& sqlstate, const std::string& what,
                                      const scim::WriteRequest& w) {
    if (sqlstate == "54000") {
        return Error::invalid_value("a value is too long (userName, displayName and externalId "
                                    "are limited to about 2,700 bytes)");
    }
    if (sqlstate == "22021" || sqlstate == "22P05") {
        return Error::invalid_value("a value is not valid text");
    }
    if (sqlstate != "23505") {
        return std::nullopt;
    }
    if (what.find("user_name_key") != std::string::npos) {
        return Error::uniqueness("userName '" +
                                 std::string(w.document.at("userName").as_string()) +
                                 "' is already in use");
    }
    if (what.find("external_id_key") != std::string::npos) {
        return Error::uniqueness("externalId '" + w.external_id.value_or("") + "' is already in use");
    }
    if (what.find("_pkey") != std::string::npos) {
        return Error::uniqueness("id collision; retry");
    }
    return Error::uniqueness("a unique attribute is already in use");
}

void insert_event(soci::session& s, const std::string& tenant_id, ResourceKind kind,
                  const std::string& id, long long version, const std::string& operation,
                  const std::vector<std::string>& changed, const std::string& ts) {
    const std::string rt(scim::resource_type_id(kind));
    const std::string changed_literal = pg_array_literal(changed);
    s << kInsertEvent, soci::use(tenant_id, "t"), soci::use(rt, "rt"), soci::use(id, "id"),
        soci::use(version, "v"), soci::use(operation, "op"), soci::use(changed_literal, "changed"),
        soci::use(ts, "ts");
}

long long count_of(const std::optional<Row>& row, std::size_t column = 0) {
    return row && row->size() > column && row->at(column) ? std::stoll(*row->at(column)) : 0;
}

// Validated, lower-cased, de-duplicated member ids as a PostgreSQL array literal.
scim::Result<std::string> member_ids(const std::vector<scim::MemberRef>& members,
                                     const std::string& group_id) {
    std::vector<std::string> ids;
    ids.reserve(members.size());
    for (const scim::MemberRef& m : members) {
        if (!is_uuid(m.value)) {
            return Error::invalid_value("member '" + m.value + "' does not exist");
        }
        if (scim::ascii_lower(m.value) == scim::ascii_lower(group_id)) {
            return Error::invalid_value("a group cannot be a member of itself");
        }
        ids.push_back(scim::ascii_lower(m.value));
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return pg_array_literal(ids);
}

// Runs a write's member steps in order (inside the caller's transaction); returns how many
// member rows were added or removed, or the client's error.
scim::Result<long long> run_member_steps(Connection& conn, const std::string& tenant_id,
                                         const std::string& group_id,
                                         const std::vector<scim::MemberStep>& steps) {
    using Kind = scim::MemberStep::Kind;
    long long changed = 0;
    const auto add = [&](const std::vector<scim::MemberRef>& members) -> scim::Result<void> {
        if (members.empty()) {
            return {};
        }
        auto ids = member_ids(members, group_id);
        if (!ids) {
            return ids.error();
        }
        const Params p{{"t", tenant_id}, {"g", group_id}, {"ids", *ids}};
        const auto row = query_row(conn, kAddMembers, p);
        if (count_of(row, 0) > 0) {
            const auto unknown = query_row(conn, kUnknownMember, {{"t", tenant_id}, {"ids", *ids}});
            return Error::invalid_value("member '" + (unknown ? unknown->at(0).value_or("") : "") +
                                        "' does not exist");
        }
        changed += count_of(row, 1);
        return {};
    };
    for (const scim::MemberStep& step : steps) {
        switch (step.kind) {
            case Kind::kAdd:
                if (auto r = add(step.members); !r) {
                    return r.error();
                }
                break;
            case Kind::kReplace: {
                auto ids = member_ids(step.members, group_id);
                if (!ids) {
                    return ids.error();
                }
                changed += count_of(query_row(conn, kRemoveOtherMembers,
                                              {{"t", tenant_id}, {"g", group_id}, {"ids", *ids}}));
                if (auto r = add(step.members); !r) {
                    return r.error();
                }
                break;
            }
            case Kind::kRemove: {
                std::vector<std::string> ids;
                for (const std::string& id : step.ids) {
                    if (is_uuid(id)) {  // anything else is no member of any group
                        ids.push_back(scim::ascii_lower(id));
                    }
                }
                if (!ids.empty()) {
                    changed += count_of(query_row(conn, kRemoveMembers,
                                                  {{"t", tenant_id}, {"g", group_id},
                                                   {"ids", pg_array_literal(ids)}}));
                }
                break;
            }
            case Kind::kRemoveAll:
                changed += count_of(query_row(conn, kRemoveAllMembers, {{"t", tenant_id}, {"g", group_id}}));
                break;
            case Kind::kRemoveMatching: {
                auto cond = compile_member_filter(*step.filter);
                if (!cond) {
                    return cond.error();
                }
                Params p{{"t", tenant_id}, {"g", group_id}};
                for (std::size_t i = 0; i < cond->params.size(); ++i) {
                    p.emplace("p" + std::to_string(i + 1), cond->params[i]);
                }
                changed += count_of(query_row_planned(
                    conn,
                    "WITH d AS (DELETE FROM scim_group_member m WHERE m.tenant_id = CAST(:t AS uuid) "
                    "AND m.group_id = CAST(:g AS uuid) AND " + cond->sql + " RETURNING 1) "
                    "SELECT count(*) FROM d",
                    p));
                break;
            }
        }
    }
    return changed;
}

// A read of users with their groups: `run(flat)` (flat: direct groups only, see
// kDirectGroupsOfUser) unless `nesting` remembers the tenant nesting groups. Its first row's
// column `nests_column` (kTenantNests) says whether the tenant nests groups; a flat read that
// finds nesting after all is run again recursively.
template <class Run>
Rows read_with_groups(NestingMemory& nesting, const std::string& tenant_id, int nests_column, Run run) {
    const bool flat = !nesting.nests(tenant_id);
    Rows first = run(flat);
    if (first.size() == 0) {
        return first;
    }
    const bool nests = first.text(0, nests_column) == "t";
    nesting.saw(tenant_id, nests);
    if (flat && nests) {
        return run(false);
    }
    return first;
}

// The rows of a read by id: `statement(columns, table)` selects `columns` from resource row t
// of `table`; a user's groups come through read_with_groups (kTenantNests after the columns).
template <class Statement>
Rows read_by_id(Connection& c, const std::string& tenant_id, ResourceKind kind, Related related,
                const Params& params, NestingMemory& nesting, Statement statement) {
    if (related != Related::kGroups) {
        return query_rows(c, statement(resource_columns(related_column(related)), table_of(kind)), params);
    }
    return read_with_groups(nesting, tenant_id, 8, [&](bool flat) {
        return query_rows(c, statement(resource_columns(related_column(related, flat)) + ", " + kTenantNests,
                                       "scim_user"),
                          params);
    });
}

// One resource by id.
std::optional<scim::StoredResource> select_one(Connection& c, const std::string& tenant_id,
                                               ResourceKind kind, const std::string& id,
                                               const scim::LoadOptions& load, NestingMemory& nesting) {
    if (!is_uuid(id)) {
        return std::nullopt;
    }
    const Related related = related_of(kind, load);
    return single(read_by_id(c, tenant_id, kind, related, Params{{"t", tenant_id}, {"id", id}}, nesting,
                             [](const std::string& columns, const std::string& table) {
                                 return "SELECT " + columns + " FROM " + table +
                                        " t WHERE t.tenant_id = CAST(:t AS uuid) AND t.id = CAST(:id AS uuid)";
                             }),
                  related);
}

// Several resources by id, in one statement (the delivery workers' read-ahead).
std::vector<scim::StoredResource> select_many(Connection& c, const std::string& tenant_id, ResourceKind kind,
                                              const std::vector<std::string>& ids,
                                              const scim::LoadOptions& load, NestingMemory& nesting) {
    std::vector<std::string> valid;
    for (const std::string& id : ids) {
        if (is_uuid(id)) {
            valid.push_back(id);
        }
    }
    std::vector<scim::StoredResource> out;
    if (valid.empty()) {
        return out;
    }
    // One primary-key lookup per id, the LIMIT keeping the planner from turning it into a join:
    // with statistics still those of an empty table (a tenant's first burst), `= ANY` and joins
    // were planned as scans of the tenant's every row.
    const Related related = related_of(kind, load);
    const Rows rows = read_by_id(c, tenant_id, kind, related, Params{{"t", tenant_id}, {"ids", pg_array_literal(valid)}},
                                 nesting, [](const std::string& columns, const std::string& table) {
                                     return "SELECT x.* FROM unnest(CAST(:ids AS uuid[])) AS k(id) CROSS JOIN LATERAL "
                                            "(SELECT " + columns + " FROM " + table +
                                            " t WHERE t.tenant_id = CAST(:t AS uuid) AND t.id = k.id LIMIT 1) x";
                                 });
    json::parser parser;
    out.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) {
        out.push_back(from_row(rows, i, 0, related, parser, json::storage_ptr()));
    }
    return out;
}

}  // namespace

std::string pg_array_literal(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        out.push_back('"');
        for (const char c : values[i]) {
            if (c == '"' || c == '\\') {
                out.push_back('\\');
            }
            out.push_back(c);
        }
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

bool is_uuid(std::string_view text) {
    if (text.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return false;
            }
        } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

namespace {

// User writes are one autocommit statement each: the data-modifying CTE writes the row and its
// change event atomically, in one round trip.
constexpr const char* kInsertUserWithEvent =
    "WITH ins AS (INSERT INTO scim_user (tenant_id, id, user_name, external_id, display_name, "
    "active, emails, schemas, doc, version, created_at, modified_at) VALUES (CAST(:t AS uuid), "
    "CAST(:id AS uuid), :user_name, :external_id, :display_name, CAST(:active AS boolean), "
    "CAST(:emails AS text[]), CAST(:schemas AS text[]), CAST(:doc AS jsonb), 1, "
    "CAST(:ts AS timestamptz), CAST(:ts AS timestamptz)) RETURNING tenant_id, id, version) "
    "INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
    "changed_attributes, occurred_at) SELECT tenant_id, 'User', id, version, :op, "
    "CAST(:changed AS text[]), CAST(:ts AS timestamptz) FROM ins";
constexpr const char* kUpdateUserWithEvent =
    "WITH upd AS (UPDATE scim_user SET user_name = :user_name, external_id = :external_id, "
    "display_name = :display_name, active = CAST(:active AS boolean), "
    "emails = CAST(:emails AS text[]), schemas = CAST(:schemas AS text[]), "
    "doc = CAST(:doc AS jsonb), version = version + 1, modified_at = CAST(:ts AS timestamptz) "
    "WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) AND version = :v "
    "RETURNING tenant_id, id, version, created_at), "
    "ev AS (INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
    "changed_attributes, occurred_at) SELECT tenant_id, 'User', id, version, :op, "
    "CAST(:changed AS text[]), CAST(:ts AS timestamptz) FROM upd) "
    "SELECT version, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM upd";

// Inside a catch block: the SCIM error for a write that failed because of the client's data
// (see uniqueness_error), or nullopt to rethrow.
std::optional<Error> client_error(const scim::WriteRequest& w) {
    try {
        throw;
    } catch (const soci::soci_error& e) {
        return uniqueness_error(sqlstate_of(e), e.what(), w);
    } catch (const DatabaseError& e) {
        return uniqueness_error(e.sqlstate(), e.what(), w);
    } catch (...) {
        return std::nullopt;
    }
}

// A resource after its transaction, carrying what the write asked for (w.load).
scim::Result<scim::StoredResource> reread(Connection& conn, const std::string& tenant_id,
                                          const scim::WriteRequest& w, NestingMemory& nesting) {
    auto stored = select_one(conn, tenant_id, w.kind, w.id, w.load, nesting);
    if (!stored) {
        return Error::not_found(w.id + " vanished");
    }
    return std::move(*stored);
}

// A write's values as statement parameters (SOCI binds them by reference: they live here).
struct WriteValues {
    explicit WriteValues(const scim::WriteRequest& w)
        : doc(json::serialize(w.document)), schemas(pg_array_literal(w.schemas)),
          changed(pg_array_literal(w.event.changed)), external_id(w.external_id.value_or("")),
          external_ind(w.external_id ? soci::i_ok : soci::i_null) {}
    std::string doc;
    std::string schemas;
    std::string changed;
    std::string external_id;
    soci::indicator external_ind;
};

scim::StoredResource written(const scim::WriteRequest& w, std::int64_t version,
                             const std::string& created) {
    scim::StoredResource out;
    out.id = w.id;
    out.external_id = w.external_id;
    out.document = w.document;
    out.schemas = w.schemas;
    out.version = version;
    out.created = created;
    out.last_modified = w.timestamp;
    return out;
}

}  // namespace

scim::Result<scim::StoredResource> PgResourceStore::insert(const std::string& tenant_id,
                                                           const scim::WriteRequest& w) {
    return written_then_tell(db_.impl().with_connection(
        [&](Connection& conn) -> scim::Result<scim::StoredResource> {
        soci::session& s = conn.session;
        WriteValues v(w);
        try {
            if (w.kind == ResourceKind::kUser) {
                // Prepared once per connection: a create is one EXECUTE and one commit.
                Params p = user_params(w.document);
                p.insert({{"t", tenant_id}, {"id", w.id}, {"external_id", w.external_id},
                          {"schemas", v.schemas}, {"doc", v.doc}, {"ts", w.timestamp},
                          {"op", w.event.operation}, {"changed", v.changed}});
                query_row(conn, kInsertUserWithEvent, p);
                return written(w, 1, w.timestamp);
            }
            soci::transaction tr(s);
            const std::string display = group_display_name(w.document);
            s << kInsertGroup, soci::use(tenant_id, "t"), soci::use(w.id, "id"),
                soci::use(display, "display_name"),
                soci::use(v.external_id, v.external_ind, "external_id"),
                soci::use(v.schemas, "schemas"), soci::use(v.doc, "doc"), soci::use(w.timestamp, "ts");
            auto members = run_member_steps(conn, tenant_id, w.id, w.member_steps);
            if (!members) {
                return members.error();  // the transaction rolls back
            }
            insert_event(s, tenant_id, w.kind, w.id, 1, w.event.operation, w.event.changed,
                         w.timestamp);
            tr.commit();
        } catch (...) {
            if (auto err = client_error(w)) {
                return *err;
            }
            throw;
        }
        return reread(conn, tenant_id, w, nesting_);
    }));
}

scim::Result<scim::StoredResource> PgResourceStore::update(const std::string& tenant_id,
                                                           const scim::WriteRequest& w) {
    return written_then_tell(db_.impl().with_connection(
        [&](Connection& conn) -> scim::Result<scim::StoredResource> {
        soci::session& s = conn.session;
        WriteValues v(w);
        const long long expected = w.expected_version.value_or(-1);
        long long version = 0;
        std::string created;
        const auto missing_or_changed = [&]() -> Error {
            if (!select_one(conn, tenant_id, w.kind, w.id, {}, nesting_).has_value()) {
                return Error::not_found(std::string(scim::resource_type_id(w.kind)) + " " + w.id +
                                        " not found");
            }
            return Error::precondition_failed("resource has changed since it was read");
        };
        try {
            if (w.kind == ResourceKind::kUser) {
                Params p = user_params(w.document);
                p.insert({{"t", tenant_id}, {"id", w.id}, {"external_id", w.external_id},
                          {"schemas", v.schemas}, {"doc", v.doc}, {"ts", w.timestamp},
                          {"v", std::to_string(expected)}, {"op", w.event.operation},
                          {"changed", v.changed}});
                // Users have no member rows: every user write changes attributes and carries the
                // version it was computed from.
                const auto row = query_row(conn, kUpdateUserWithEvent, p);
                if (!row) {
                    return missing_or_changed();
                }
                if (w.load.groups) {
                    return reread(conn, tenant_id, w, nesting_);
                }
                return written(w, std::stoll(row->at(0).value_or("0")), row->at(1).value_or(""));
            }
            soci::transaction tr(s);
            // The row first: its lock orders concurrent writers of this group.
            if (w.attributes_changed) {
                const std::string display = group_display_name(w.document);
                s << kUpdateGroup, soci::use(display, "display_name"),
                    soci::use(v.external_id, v.external_ind, "external_id"),
                    soci::use(v.schemas, "schemas"), soci::use(v.doc, "doc"),
                    soci::use(w.timestamp, "ts"), soci::use(tenant_id, "t"), soci::use(w.id, "id"),
                    soci::use(expected, "v"), soci::into(version), soci::into(created);
                if (!s.got_data()) {
                    return missing_or_changed();
                }
            } else {
                const auto row = query_row(conn, kBumpGroup,
                                           {{"t", tenant_id}, {"id", w.id}, {"ts", w.timestamp},
                                            {"v", std::to_string(expected)}});
                if (!row) {
                    return missing_or_changed();
                }
                version = std::stoll(row->at(0).value_or("0"));
                created = row->at(1).value_or("");
            }
            auto members = run_member_steps(conn, tenant_id, w.id, w.member_steps);
            if (!members) {
                return members.error();  // the transaction rolls back
            }
            std::vector<std::string> event_changed = w.event.changed;
            if (*members > 0 && std::find(event_changed.begin(), event_changed.end(), "members") ==
                                    event_changed.end()) {
                event_changed.emplace_back("members");
            }
            if (w.skip_if_unchanged && !w.attributes_changed && *members == 0) {
                tr.rollback();  // nothing changed: no new version, no event
                return reread(conn, tenant_id, w, nesting_);
            }
            insert_event(s, tenant_id, w.kind, w.id, version, w.event.operation, event_changed,
                         w.timestamp);
            tr.commit();
        } catch (...) {
            if (auto err = client_error(w)) {
                return *err;
            }
            throw;
        }
        // The write knows the group's attributes (a member-only change carries them unchanged);
        // only a member list to return needs a read.
        if (w.load.members) {
            return reread(conn, tenant_id, w, nesting_);
        }
        return written(w, version, created);
    }));
}

scim::Result<void> PgResourceStore::remove(const std::string& tenant_id, ResourceKind kind,
                                           const std::string& id,
                                           std::optional<std::int64_t> expected_version,
                                           const std::string& timestamp) {
    return written_then_tell(db_.impl().with_connection(
        [&](Connection& conn) -> scim::Result<void> {
        soci::session& s = conn.session;
        const std::string not_found =
            std::string(scim::resource_type_id(kind)) + " " + id + " not found";
        if (!is_uuid(id)) {
            return Error::not_found(not_found);
        }
        // One transaction: the row, then (in a later statement, so that its snapshot sees
        // memberships added concurrently) its memberships, a new version and change event for
        // every group that lost it as a member, and its own delete event.
        const std::string rt(scim::resource_type_id(kind));
        const long long expected = expected_version.value_or(-1);
        soci::transaction tr(s);
        long long version = 0;
        s << std::string("DELETE FROM ") + table_of(kind) +
                 " WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) "
                 "AND (CAST(:v AS bigint) < 0 OR version = :v) RETURNING version",
            soci::use(tenant_id, "t"), soci::use(id, "id"), soci::use(expected, "v"),
            soci::into(version);
        if (!s.got_data()) {
            tr.rollback();
            if (expected_version && select_one(conn, tenant_id, kind, id, {}, nesting_)) {
                return Error::precondition_failed("resource has changed since it was read");
            }
            return Error::not_found(not_found);
        }
        s << "WITH gone AS (DELETE FROM scim_group_member WHERE tenant_id = CAST(:t AS uuid) "
             "AND member_id = CAST(:id AS uuid) RETURNING group_id), "
             "bumped AS (UPDATE scim_group g SET version = g.version + 1, "
             "modified_at = CAST(:ts AS timestamptz) FROM (SELECT DISTINCT group_id FROM gone) x "
             "WHERE g.tenant_id = CAST(:t AS uuid) AND g.id = x.group_id RETURNING g.id, g.version) "
             "INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
             "changed_attributes, occurred_at) SELECT CAST(:t AS uuid), 'Group', id, version, "
             "'patch', '{members}', CAST(:ts AS timestamptz) FROM bumped",
            soci::use(tenant_id, "t"), soci::use(id, "id"), soci::use(timestamp, "ts");
        const long long delete_version = version + 1;  // bound by reference: must be a named local
        s << "INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
             "occurred_at) VALUES (CAST(:t AS uuid), :rt, CAST(:id AS uuid), :v, 'delete', "
             "CAST(:ts AS timestamptz))",
            soci::use(tenant_id, "t"), soci::use(rt, "rt"), soci::use(id, "id"),
            soci::use(delete_version, "v"), soci::use(timestamp, "ts");
        tr.commit();
        return {};
    }));
}

std::optional<scim::StoredResource> PgResourceStore::find(const std::string& tenant_id,
                                                          ResourceKind kind, const std::string& id,
                                                          const scim::LoadOptions& load) {
    return db_.impl().with_connection(
        [&](Connection& conn) { return select_one(conn, tenant_id, kind, id, load, nesting_); });
}

std::vector<scim::StoredResource> PgResourceStore::find_many(const std::string& tenant_id,
                                                             ResourceKind kind,
                                                             const std::vector<std::string>& ids,
                                                             const scim::LoadOptions& load) {
    return db_.impl().with_connection(
        [&](Connection& conn) { return select_many(conn, tenant_id, kind, ids, load, nesting_); });
}

scim::Result<scim::Page> PgResourceStore::list(const std::string& tenant_id,
                                               const scim::ListRequest& request) {
    const scim::SchemaRegistry& registry = request.registry != nullptr ? *request.registry : registry_;
    std::string where = "t.tenant_id = CAST(:t AS uuid)";
    std::vector<std::string> params;
    bool indexed = false;
    if (request.filter != nullptr) {
        auto compiled = compile_filter(*request.filter, request.kind, registry);
        if (!compiled) {
            return compiled.error();
        }
        where += " AND " + compiled->sql;
        params = std::move(compiled->params);
        indexed = compiled->indexed_lookup;
    }
    std::optional<SortSql> sort;
    if (request.sort_by) {
        auto compiled = compile_sort(*request.sort_by, request.kind, registry, params, params.size() + 1);
        if (!compiled) {
            return compiled.error();
        }
        sort = std::move(*compiled);
    }
    const std::string table = table_of(request.kind);
    const std::string sk = sort ? sort->expr : "NULL";
    const bool backward = request.after && request.after->backward;

    // Order: the sort key (nulls last either way), then id; walking backward reverses it.
    std::string order = "t.id";
    std::string reverse = "t.id DESC";
    if (sort) {
        order = sk + (request.descending ? " DESC" : " ASC") + " NULLS LAST, t.id";
        reverse = sk + (request.descending ? " ASC" : " DESC") + " NULLS FIRST, t.id DESC";
    }
    // Keyset: rows after (or, backward, before) the cursor's row in that order.
    std::string keyset;
    Params values{{"t", tenant_id}};
    if (request.after) {
        const scim::Cursor& c = *request.after;
        const std::string id = "CAST(:ci AS uuid)";
        values.emplace("ci", c.id);
        if (!is_uuid(c.id)) {
            return Error::invalid_cursor("the cursor is not valid for this query");
        }
        if (!sort) {
            keyset = backward ? "t.id < " + id : "t.id > " + id;
        } else if (c.key_null) {
            keyset = backward ? "(" + sk + " IS NOT NULL OR t.id < " + id + ")"
                              : "(" + sk + " IS NULL AND t.id > " + id + ")";
        } else {
            values.emplace("ck", c.key.value_or(""));
            const std::string key = "CAST(:ck AS " + sort->type + ")";
            const bool greater = request.descending == backward;  // asc forward / desc backward
            const std::string beyond = sk + (greater ? " > " : " < ") + key;
            keyset = backward ? "(" + beyond + " OR (" + sk + " = " + key + " AND t.id < " + id + "))"
                              : "(" + beyond + " OR (" + sk + " = " + key + " AND t.id > " + id +
                                    ") OR " + sk + " IS NULL)";
        }
    }
    const std::string page_where = keyset.empty() ? where : where + " AND " + keyset;
    const bool want_total = !request.cursor_mode || !request.after;
    const std::int64_t fetch = request.cursor_mode ? request.count + 1 : request.count;

    // One statement: a row per resource of the page (each column as PostgreSQL keeps it, which
    // costs it less than building JSON), all carrying the total; an empty page is one row with
    // the total and NULLs. With a filter, the matching rows are found once (through the filter's
    // own index) and both the count and the page read them; without one, the page walks the
    // ordered index and stops at the limit.
    const bool filtered = request.filter != nullptr;
    const std::string source = filtered ? "m" : table;
    // User pages compute their groups set-based (kGroupsOfPage, or flat kDirectGroupsOfPage)
    // over the page CTE p.
    const Related related = related_of(request.kind, request.load);
    const bool page_groups = related == Related::kGroups && request.count > 0;
    const std::string page_rows =
        "SELECT t.*, " + sk + " AS sk FROM " + source + " t WHERE " +
        (filtered ? (keyset.empty() ? std::string("true") : keyset) : page_where) + " ORDER BY " +
        (backward ? reverse : order) + " LIMIT :limit" + (request.cursor_mode ? "" : " OFFSET :offset");
    // Unfiltered, the total is the tenant's maintained count (migration 0013), not a count of
    // every row.
    std::string total = "NULL::bigint";
    if (want_total) {
        total = filtered ? "(SELECT count(*) FROM m)"
                         : std::string("(SELECT coalesce(sum(delta), 0) FROM scim_resource_count "
                                       "WHERE tenant_id = CAST(:t AS uuid) AND kind = '") +
                               std::string(scim::resource_type_id(request.kind)) + "')";
    }
    const auto statement = [&](bool flat) {
        std::vector<std::string> ctes;
        if (filtered) {
            ctes.push_back("m AS MATERIALIZED (SELECT t.* FROM " + table + " t WHERE " + where + ")");
        }
        if (page_groups) {
            ctes.push_back("p AS (" + page_rows + ")");
            ctes.push_back(flat ? kDirectGroupsOfPage : kGroupsOfPage);
        }
        std::string sql;
        if (!ctes.empty()) {
            sql = page_groups && !flat ? "WITH RECURSIVE " : "WITH ";
            for (std::size_t i = 0; i < ctes.size(); ++i) {
                sql += (i > 0 ? ", " : "") + ctes[i];
            }
            sql += " ";
        }
        if (request.count == 0) {
            return sql + "SELECT " + total;
        }
        std::string rows;
        if (page_groups) {
            rows = "SELECT t.*, coalesce(gs.groups, '[]'::json) AS related FROM p t LEFT JOIN gs ON gs.root = t.id";
        } else if (related == Related::kMembers) {
            rows = std::string("SELECT t.*, ") + kMembersOfGroup + " AS related FROM (" + page_rows + ") t";
        } else {
            rows = "SELECT t.*, NULL::json AS related FROM (" + page_rows + ") t";
        }
        const std::string ordered =
            sort ? std::string("t.sk") + (request.descending ? " DESC" : " ASC") + " NULLS LAST, t.id" : "t.id";
        return sql + "SELECT c.total, " + resource_columns("t.related") + ", t.sk::text" +
               (page_groups ? std::string(", ") + kTenantNests : std::string()) + " FROM (SELECT " + total +
               " AS total) c LEFT JOIN (" + rows + ") t ON true ORDER BY " + ordered;
    };
    if (request.count > 0) {
        values.emplace("limit", std::to_string(fetch));
        if (!request.cursor_mode) {
            values.emplace("offset", std::to_string(request.start_index - 1));
        }
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        values.emplace("p" + std::to_string(i + 1), params[i]);
    }
    return db_.impl().with_connection([&](Connection& conn) -> scim::Result<scim::Page> {
        // Planned for these values (a generic plan cannot see how selective a filter is), except
        // equality lookups on an indexed column, whose plan is that index, and unfiltered pages,
        // whose plan is the order's index: those stay prepared.
        const auto run = [&](bool flat) {
            const std::string sql = statement(flat);
            return indexed || !filtered ? query_rows(conn, sql, values) : query_rows_planned(conn, sql, values);
        };
        const Rows rows = page_groups ? read_with_groups(nesting_, tenant_id, 10, run) : run(false);
        scim::Page page;
        if (rows.size() > 0 && !rows.is_null(0, 0)) {
            page.total_results = std::stoll(std::string(rows.text(0, 0)));
        }
        // Parsed into the caller's storage (an arena for a request), the documents are moved,
        // not copied, into the page.
        unsigned char scratch[4096];
        json::parser parser(json::storage_ptr(), json::parse_options(), scratch);
        page.resources.reserve(static_cast<std::size_t>(rows.size()));
        page.sort_keys.reserve(static_cast<std::size_t>(rows.size()));
        for (int i = 0; request.count > 0 && i < rows.size(); ++i) {
            if (rows.is_null(i, 1)) {
                continue;  // the empty page's row: only the total
            }
            page.sort_keys.push_back(rows.is_null(i, 9) ? std::nullopt
                                                        : std::optional<std::string>(std::string(rows.text(i, 9))));
            page.resources.push_back(from_row(rows, i, 1, related, parser, request.storage));
        }
        if (request.cursor_mode && static_cast<std::int64_t>(page.resources.size()) > request.count) {
            page.more = true;
            // The extra row is the last one in the direction of travel.
            const auto drop = backward ? page.resources.begin() : page.resources.end() - 1;
            page.sort_keys.erase(page.sort_keys.begin() + (drop - page.resources.begin()));
            page.resources.erase(drop);
        }
        return page;
    });
}

scim::Result<std::optional<scim::StoredResource>> PgResourceStore::patch_user_scalars(
    const std::string& tenant_id, const std::string& id, const scim::ScalarPatch& patch,
    const std::string& timestamp, const scim::LoadOptions& load) {
    if (!is_uuid(id)) {
        return std::optional<scim::StoredResource>();
    }
    // Read, change and write the row, and record the event with the names of the attributes
    // whose values changed, in one statement. Writes nothing when nothing would change.
    const std::string sql =
        "WITH old AS (SELECT tenant_id, id, doc FROM scim_user WHERE tenant_id = CAST(:t AS uuid) "
        "  AND id = CAST(:id AS uuid) FOR UPDATE), "
        "new AS (SELECT tenant_id, id, doc AS before, "
        "  (doc - CAST(:removed AS text[])) || CAST(:set AS jsonb) AS after FROM old), "
        "t AS (UPDATE scim_user u SET doc = n.after, "
        "  active = CASE WHEN jsonb_typeof(n.after->'active') = 'boolean' "
        "                THEN (n.after->>'active')::boolean END, "
        "  version = u.version + 1, modified_at = CAST(:ts AS timestamptz) "
        "  FROM new n WHERE u.tenant_id = n.tenant_id AND u.id = n.id AND n.after <> n.before "
        "  RETURNING u.*, n.before), "
        "ev AS (INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
        "  changed_attributes, occurred_at) SELECT t.tenant_id, 'User', t.id, t.version, 'patch', "
        "  ARRAY(SELECT k FROM (SELECT jsonb_object_keys(t.doc) UNION SELECT jsonb_object_keys(t.before)) "
        "        AS ks(k) WHERE t.doc->k IS DISTINCT FROM t.before->k ORDER BY k), "
        "  CAST(:ts AS timestamptz) FROM t) "
        "SELECT " + resource_columns(related_column(related_of(ResourceKind::kUser, load))) + " FROM t";
    const Params p{{"t", tenant_id},
                   {"id", id},
                   {"removed", pg_array_literal(patch.removed)},
                   {"set", json::serialize(patch.set)},
                   {"ts", timestamp}};
    return written_then_tell(db_.impl().with_connection(
        [&](Connection& conn) -> scim::Result<std::optional<scim::StoredResource>> {
            return single(query_rows(conn, sql, p), related_of(ResourceKind::kUser, load));
        }));
}

}  // namespace scimbridge::db
