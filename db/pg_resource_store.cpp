#include "db/pg_resource_store.hpp"

#include "db/database_impl.hpp"
#include "db/filter_sql.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>

namespace scimbridge::db {

namespace json = boost::json;
using scim::Error;
using scim::ResourceKind;

namespace {

#define SCIMBRIDGE_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// Column lists shared by every read: id, external_id, schemas, doc, version, created, modified.
constexpr const char* kUserColumns =
    "t.id::text, t.external_id, array_to_string(t.schemas, ' '), t.doc::text, t.version, "
    SCIMBRIDGE_TS("t.created_at") ", " SCIMBRIDGE_TS("t.modified_at");
constexpr const char* kGroupColumns = kUserColumns;

constexpr const char* kInsertUser =
    "INSERT INTO scim_user (tenant_id, id, user_name, external_id, display_name, active, emails, "
    "schemas, doc, version, created_at, modified_at) VALUES (CAST(:t AS uuid), CAST(:id AS uuid), "
    ":user_name, :external_id, :display_name, CAST(:active AS boolean), CAST(:emails AS text[]), "
    "CAST(:schemas AS text[]), CAST(:doc AS jsonb), 1, CAST(:ts AS timestamptz), "
    "CAST(:ts AS timestamptz))";
constexpr const char* kInsertGroup =
    "INSERT INTO scim_group (tenant_id, id, display_name, external_id, schemas, doc, version, "
    "created_at, modified_at) VALUES (CAST(:t AS uuid), CAST(:id AS uuid), :display_name, "
    ":external_id, CAST(:schemas AS text[]), CAST(:doc AS jsonb), 1, CAST(:ts AS timestamptz), "
    "CAST(:ts AS timestamptz))";
constexpr const char* kUpdateUser =
    "UPDATE scim_user SET user_name = :user_name, external_id = :external_id, "
    "display_name = :display_name, active = CAST(:active AS boolean), "
    "emails = CAST(:emails AS text[]), schemas = CAST(:schemas AS text[]), "
    "doc = CAST(:doc AS jsonb), version = version + 1, modified_at = CAST(:ts AS timestamptz) "
    "WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) AND version = :v "
    "RETURNING version";
constexpr const char* kUpdateGroup =
    "UPDATE scim_group SET display_name = :display_name, external_id = :external_id, "
    "schemas = CAST(:schemas AS text[]), doc = CAST(:doc AS jsonb), version = version + 1, "
    "modified_at = CAST(:ts AS timestamptz) "
    "WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) AND version = :v "
    "RETURNING version";
constexpr const char* kInsertEvent =
    "INSERT INTO change_event (tenant_id, resource_type, resource_id, version, operation, "
    "changed_attributes, occurred_at) VALUES (CAST(:t AS uuid), :rt, CAST(:id AS uuid), :v, :op, "
    "CAST(:changed AS text[]), CAST(:ts AS timestamptz))";
// Member ids that are neither a user nor a group of the tenant.
constexpr const char* kUnknownMember =
    "SELECT m.id::text FROM unnest(CAST(:ids AS uuid[])) AS m(id) "
    "WHERE NOT EXISTS (SELECT 1 FROM scim_user u WHERE u.tenant_id = CAST(:t AS uuid) AND u.id = m.id) "
    "AND NOT EXISTS (SELECT 1 FROM scim_group g WHERE g.tenant_id = CAST(:t AS uuid) AND g.id = m.id) "
    "LIMIT 1";
// Set-based membership replace: the difference is computed in the database.
constexpr const char* kDeleteOtherMembers =
    "DELETE FROM scim_group_member WHERE tenant_id = CAST(:t AS uuid) AND group_id = CAST(:g AS uuid) "
    "AND NOT (member_id = ANY (CAST(:ids AS uuid[])))";
constexpr const char* kInsertMembers =
    "INSERT INTO scim_group_member (tenant_id, group_id, member_id, member_type) "
    "SELECT CAST(:t AS uuid), CAST(:g AS uuid), m.id, "
    "CASE WHEN EXISTS (SELECT 1 FROM scim_user u WHERE u.tenant_id = CAST(:t AS uuid) AND u.id = m.id) "
    "THEN 'User' ELSE 'Group' END FROM unnest(CAST(:ids AS uuid[])) AS m(id) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kSelectMembers =
    "SELECT m.member_id::text, m.member_type, coalesce(u.display_name, u.user_name, g.display_name, '') "
    "FROM scim_group_member m "
    "LEFT JOIN scim_user u ON m.member_type = 'User' AND u.tenant_id = m.tenant_id AND u.id = m.member_id "
    "LEFT JOIN scim_group g ON m.member_type = 'Group' AND g.tenant_id = m.tenant_id AND g.id = m.member_id "
    "WHERE m.tenant_id = CAST(:t AS uuid) AND m.group_id = CAST(:g AS uuid) ORDER BY m.member_id";
// Direct and indirect groups of many users at once (nested groups, cycles bounded by depth).
constexpr const char* kSelectGroupsOfUsers =
    "WITH RECURSIVE up(root, group_id, depth) AS ("
    "  SELECT m.member_id, m.group_id, 1 FROM scim_group_member m "
    "  WHERE m.tenant_id = CAST(:t AS uuid) AND m.member_id = ANY (CAST(:ids AS uuid[])) "
    "  UNION "
    "  SELECT up.root, m.group_id, up.depth + 1 FROM scim_group_member m JOIN up ON m.member_id = up.group_id "
    "  WHERE m.tenant_id = CAST(:t AS uuid) AND up.depth < 16) "
    "SELECT up.root::text, up.group_id::text, g.display_name, min(up.depth) "
    "FROM up JOIN scim_group g ON g.tenant_id = CAST(:t AS uuid) AND g.id = up.group_id "
    "GROUP BY up.root, up.group_id, g.display_name ORDER BY up.root, min(up.depth), up.group_id::text";

#undef SCIMBRIDGE_TS

const char* table_of(ResourceKind kind) { return kind == ResourceKind::kUser ? "scim_user" : "scim_group"; }

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = std::min(text.find(' ', pos), text.size());
        if (end > pos) {
            out.push_back(text.substr(pos, end - pos));
        }
        pos = end + 1;
    }
    return out;
}

scim::StoredResource from_row(const soci::row& r) {
    scim::StoredResource s;
    s.id = r.get<std::string>(0);
    if (r.get_indicator(1) == soci::i_ok) {
        s.external_id = r.get<std::string>(1);
    }
    s.schemas = split_words(r.get<std::string>(2));
    s.document = json::parse(r.get<std::string>(3)).as_object();
    s.version = r.get<long long>(4);
    s.created = r.get<std::string>(5);
    s.last_modified = r.get<std::string>(6);
    return s;
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

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

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
                    emails.push_back(lower(value->as_string()));
                }
            }
        }
    }
    c.emails = pg_array_literal(emails);
    return c;
}

std::string group_display_name(const json::object& doc) {
    const json::value* v = doc.if_contains("displayName");
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// 23505 → 409 with the attribute that collided.
std::optional<Error> uniqueness_error(const soci::soci_error& e, const scim::WriteRequest& w) {
    if (sqlstate_of(e) != "23505") {
        return std::nullopt;
    }
    const std::string what = e.what();
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

// Validates and writes the member list of a group (replacing the old one).
std::optional<Error> write_members(soci::session& s, const std::string& tenant_id,
                                   const std::string& group_id,
                                   const std::vector<scim::MemberRef>& members) {
    std::vector<std::string> ids;
    for (const scim::MemberRef& m : members) {
        if (!is_uuid(m.value)) {
            return Error::invalid_value("member '" + m.value + "' does not exist");
        }
        if (m.value == group_id) {
            return Error::invalid_value("a group cannot be a member of itself");
        }
        ids.push_back(lower(m.value));
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    const std::string literal = pg_array_literal(ids);
    if (!ids.empty()) {
        std::string unknown;
        soci::indicator ind = soci::i_null;
        s << kUnknownMember, soci::use(literal, "ids"), soci::use(tenant_id, "t"),
            soci::into(unknown, ind);
        if (s.got_data() && ind == soci::i_ok) {
            return Error::invalid_value("member '" + unknown + "' does not exist");
        }
    }
    s << kDeleteOtherMembers, soci::use(tenant_id, "t"), soci::use(group_id, "g"),
        soci::use(literal, "ids");
    if (!ids.empty()) {
        s << kInsertMembers, soci::use(tenant_id, "t"), soci::use(group_id, "g"),
            soci::use(literal, "ids");
    }
    return std::nullopt;
}

std::vector<scim::MemberRef> read_members(soci::session& s, const std::string& tenant_id,
                                          const std::string& group_id) {
    std::vector<scim::MemberRef> out;
    soci::rowset<soci::row> rows =
        (s.prepare << kSelectMembers, soci::use(tenant_id, "t"), soci::use(group_id, "g"));
    for (const soci::row& r : rows) {
        out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2)});
    }
    return out;
}

void read_groups(soci::session& s, const std::string& tenant_id,
                 std::vector<scim::StoredResource>& users) {
    std::vector<std::string> ids;
    std::map<std::string, scim::StoredResource*> by_id;
    for (scim::StoredResource& u : users) {
        ids.push_back(u.id);
        by_id[u.id] = &u;
        u.groups.emplace();
    }
    if (ids.empty()) {
        return;
    }
    const std::string literal = pg_array_literal(ids);
    soci::rowset<soci::row> rows =
        (s.prepare << kSelectGroupsOfUsers, soci::use(tenant_id, "t"), soci::use(literal, "ids"));
    for (const soci::row& r : rows) {
        const auto it = by_id.find(r.get<std::string>(0));
        if (it != by_id.end()) {
            it->second->groups->push_back(
                {r.get<std::string>(1), r.get<std::string>(2), r.get<int>(3) == 1});
        }
    }
}

std::optional<scim::StoredResource> select_one(soci::session& s, const std::string& tenant_id,
                                               ResourceKind kind, const std::string& id) {
    if (!is_uuid(id)) {
        return std::nullopt;
    }
    const std::string sql = std::string("SELECT ") +
                            (kind == ResourceKind::kUser ? kUserColumns : kGroupColumns) +
                            " FROM " + table_of(kind) +
                            " t WHERE t.tenant_id = CAST(:t AS uuid) AND t.id = CAST(:id AS uuid)";
    soci::row r;
    s << sql, soci::use(tenant_id, "t"), soci::use(id, "id"), soci::into(r);
    if (!s.got_data()) {
        return std::nullopt;
    }
    return from_row(r);
}

void load_extras(soci::session& s, const std::string& tenant_id, ResourceKind kind,
                 const scim::LoadOptions& load, std::vector<scim::StoredResource>& resources) {
    if (kind == ResourceKind::kGroup && load.members) {
        for (scim::StoredResource& g : resources) {
            g.members = read_members(s, tenant_id, g.id);
        }
    }
    if (kind == ResourceKind::kUser && load.groups) {
        read_groups(s, tenant_id, resources);
    }
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

scim::Result<scim::StoredResource> PgResourceStore::insert(const std::string& tenant_id,
                                                           const scim::WriteRequest& w) {
    return db_.impl().with_session([&](soci::session& s) -> scim::Result<scim::StoredResource> {
        const std::string doc = json::serialize(w.document);
        const std::string schemas = pg_array_literal(w.schemas);
        std::string external_id = w.external_id.value_or("");
        soci::indicator external_ind = w.external_id ? soci::i_ok : soci::i_null;
        soci::transaction tr(s);
        try {
            if (w.kind == ResourceKind::kUser) {
                UserColumns c = user_columns(w.document);
                s << kInsertUser, soci::use(tenant_id, "t"), soci::use(w.id, "id"),
                    soci::use(c.user_name, "user_name"),
                    soci::use(external_id, external_ind, "external_id"),
                    soci::use(c.display_name, c.display_ind, "display_name"),
                    soci::use(c.active, c.active_ind, "active"), soci::use(c.emails, "emails"),
                    soci::use(schemas, "schemas"), soci::use(doc, "doc"),
                    soci::use(w.timestamp, "ts");
            } else {
                const std::string display = group_display_name(w.document);
                s << kInsertGroup, soci::use(tenant_id, "t"), soci::use(w.id, "id"),
                    soci::use(display, "display_name"),
                    soci::use(external_id, external_ind, "external_id"),
                    soci::use(schemas, "schemas"), soci::use(doc, "doc"),
                    soci::use(w.timestamp, "ts");
                if (w.members) {
                    if (auto err = write_members(s, tenant_id, w.id, *w.members)) {
                        return *err;  // the transaction rolls back
                    }
                }
            }
        } catch (const soci::soci_error& e) {
            if (auto err = uniqueness_error(e, w)) {
                return *err;
            }
            throw;
        }
        insert_event(s, tenant_id, w.kind, w.id, 1, w.event.operation, w.event.changed, w.timestamp);
        tr.commit();
        scim::StoredResource out;
        out.id = w.id;
        out.external_id = w.external_id;
        out.document = w.document;
        out.schemas = w.schemas;
        out.version = 1;
        out.created = w.timestamp;
        out.last_modified = w.timestamp;
        if (w.kind == ResourceKind::kGroup) {
            out.members = read_members(s, tenant_id, w.id);
        }
        return out;
    });
}

scim::Result<scim::StoredResource> PgResourceStore::update(const std::string& tenant_id,
                                                           const scim::WriteRequest& w) {
    return db_.impl().with_session([&](soci::session& s) -> scim::Result<scim::StoredResource> {
        const std::string doc = json::serialize(w.document);
        const std::string schemas = pg_array_literal(w.schemas);
        std::string external_id = w.external_id.value_or("");
        soci::indicator external_ind = w.external_id ? soci::i_ok : soci::i_null;
        const long long expected = w.expected_version.value_or(0);
        long long version = 0;
        soci::transaction tr(s);
        try {
            if (w.kind == ResourceKind::kUser) {
                UserColumns c = user_columns(w.document);
                s << kUpdateUser, soci::use(c.user_name, "user_name"),
                    soci::use(external_id, external_ind, "external_id"),
                    soci::use(c.display_name, c.display_ind, "display_name"),
                    soci::use(c.active, c.active_ind, "active"), soci::use(c.emails, "emails"),
                    soci::use(schemas, "schemas"), soci::use(doc, "doc"),
                    soci::use(w.timestamp, "ts"), soci::use(tenant_id, "t"),
                    soci::use(w.id, "id"), soci::use(expected, "v"), soci::into(version);
            } else {
                const std::string display = group_display_name(w.document);
                s << kUpdateGroup, soci::use(display, "display_name"),
                    soci::use(external_id, external_ind, "external_id"),
                    soci::use(schemas, "schemas"), soci::use(doc, "doc"),
                    soci::use(w.timestamp, "ts"), soci::use(tenant_id, "t"),
                    soci::use(w.id, "id"), soci::use(expected, "v"), soci::into(version);
            }
            if (!s.got_data()) {
                const bool exists = select_one(s, tenant_id, w.kind, w.id).has_value();
                if (!exists) {
                    return Error::not_found(std::string(scim::resource_type_id(w.kind)) + " " +
                                            w.id + " not found");
                }
                return Error::precondition_failed("resource has changed since it was read");
            }
            if (w.kind == ResourceKind::kGroup && w.members) {
                if (auto err = write_members(s, tenant_id, w.id, *w.members)) {
                    return *err;
                }
            }
        } catch (const soci::soci_error& e) {
            if (auto err = uniqueness_error(e, w)) {
                return *err;
            }
            throw;
        }
        insert_event(s, tenant_id, w.kind, w.id, version, w.event.operation, w.event.changed,
                     w.timestamp);
        tr.commit();
        auto stored = select_one(s, tenant_id, w.kind, w.id);
        if (!stored) {
            return Error::not_found(w.id + " vanished");
        }
        if (w.kind == ResourceKind::kGroup) {
            stored->members = read_members(s, tenant_id, w.id);
        }
        return std::move(*stored);
    });
}

scim::Result<void> PgResourceStore::remove(const std::string& tenant_id, ResourceKind kind,
                                           const std::string& id,
                                           std::optional<std::int64_t> expected_version,
                                           const std::string& timestamp) {
    return db_.impl().with_session([&](soci::session& s) -> scim::Result<void> {
        const std::string not_found =
            std::string(scim::resource_type_id(kind)) + " " + id + " not found";
        if (!is_uuid(id)) {
            return Error::not_found(not_found);
        }
        soci::transaction tr(s);
        long long version = 0;
        const long long expected = expected_version.value_or(-1);
        const std::string sql = std::string("DELETE FROM ") + table_of(kind) +
                                " WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:id AS uuid) "
                                "AND (:v < 0 OR version = :v) RETURNING version";
        s << sql, soci::use(tenant_id, "t"), soci::use(id, "id"), soci::use(expected, "v"),
            soci::into(version);
        if (!s.got_data()) {
            if (expected_version && select_one(s, tenant_id, kind, id)) {
                return Error::precondition_failed("resource has changed since it was read");
            }
            return Error::not_found(not_found);
        }
        // Its memberships go with it (a group's own member rows cascade).
        s << "DELETE FROM scim_group_member WHERE tenant_id = CAST(:t AS uuid) AND "
             "member_id = CAST(:id AS uuid)",
            soci::use(tenant_id, "t"), soci::use(id, "id");
        insert_event(s, tenant_id, kind, id, version + 1, "delete", {}, timestamp);
        tr.commit();
        return {};
    });
}

std::optional<scim::StoredResource> PgResourceStore::find(const std::string& tenant_id,
                                                          ResourceKind kind, const std::string& id,
                                                          const scim::LoadOptions& load) {
    return db_.impl().with_session([&](soci::session& s) -> std::optional<scim::StoredResource> {
        auto found = select_one(s, tenant_id, kind, id);
        if (!found) {
            return std::nullopt;
        }
        std::vector<scim::StoredResource> one{std::move(*found)};
        load_extras(s, tenant_id, kind, load, one);
        return std::move(one.front());
    });
}

scim::Result<scim::Page> PgResourceStore::list(const std::string& tenant_id,
                                               const scim::ListRequest& request) {
    std::string where = "t.tenant_id = CAST(:t AS uuid)";
    std::vector<std::string> params;
    if (request.filter != nullptr) {
        auto compiled = compile_filter(*request.filter, request.kind, registry_);
        if (!compiled) {
            return compiled.error();
        }
        where += " AND " + compiled->sql;
        params = std::move(compiled->params);
    }
    return db_.impl().with_session([&](soci::session& s) -> scim::Result<scim::Page> {
        const auto bind_all = [&](soci::statement& st) {
            st.exchange(soci::use(tenant_id, "t"));
            for (std::size_t i = 0; i < params.size(); ++i) {
                st.exchange(soci::use(params[i], "p" + std::to_string(i + 1)));
            }
        };
        scim::Page page;
        {
            long long total = 0;
            soci::statement st(s);
            st.alloc();
            st.prepare(std::string("SELECT count(*) FROM ") + table_of(request.kind) + " t WHERE " + where);
            st.exchange(soci::into(total));
            bind_all(st);
            st.define_and_bind();
            st.execute(true);
            page.total_results = total;
        }
        if (request.count > 0 && page.total_results >= request.start_index) {
            const long long limit = request.count;
            const long long offset = request.start_index - 1;
            soci::row r;
            soci::statement st(s);
            st.alloc();
            // Stable across pages (Okta pages with startIndex): ordered by id.
            st.prepare(std::string("SELECT ") +
                       (request.kind == ResourceKind::kUser ? kUserColumns : kGroupColumns) +
                       " FROM " + table_of(request.kind) + " t WHERE " + where +
                       " ORDER BY t.id LIMIT :limit OFFSET :offset");
            st.exchange(soci::into(r));
            bind_all(st);
            st.exchange(soci::use(limit, "limit"));
            st.exchange(soci::use(offset, "offset"));
            st.define_and_bind();
            st.execute(false);
            while (st.fetch()) {
                page.resources.push_back(from_row(r));
            }
        }
        load_extras(s, tenant_id, request.kind, request.load, page.resources);
        return page;
    });
}

}  // namespace scimbridge::db
