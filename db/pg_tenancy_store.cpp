#include "db/pg_tenancy_store.hpp"

#include "db/database_impl.hpp"

namespace scimbridge::db {

namespace {

#define SCIMBRIDGE_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

constexpr std::string_view kInsertTenant =
    "INSERT INTO tenant (name) VALUES (:name) RETURNING id::text, name, " SCIMBRIDGE_TS("created_at");
constexpr std::string_view kSelectTenants =
    "SELECT id::text, name, " SCIMBRIDGE_TS("created_at") " FROM tenant ORDER BY name";
constexpr std::string_view kSelectTenantByName =
    "SELECT id::text, name, " SCIMBRIDGE_TS("created_at") " FROM tenant WHERE name = :name";

constexpr std::string_view kTokenColumns =
    "t.id, t.tenant_id::text, n.name, t.kind, t.name, t.secret_hash, " SCIMBRIDGE_TS(
        "t.created_at") ", " SCIMBRIDGE_TS("t.revoked_at") ", t.source, t.lenient::int, t.strict::int";
constexpr std::string_view kInsertToken =
    "INSERT INTO api_token (id, tenant_id, kind, name, secret_hash, source, lenient, strict) "
    "VALUES (:id, CAST(:tenant AS uuid), :kind, :name, :hash, :source, :lenient <> 0, :strict <> 0)";
constexpr std::string_view kSelectTokenWhere =
    " FROM api_token t JOIN tenant n ON n.id = t.tenant_id WHERE ";
constexpr std::string_view kRevokeToken =
    "UPDATE api_token SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id";

#undef SCIMBRIDGE_TS

std::string select_tokens(std::string_view where) {
    std::string sql = "SELECT ";
    sql.append(kTokenColumns).append(kSelectTokenWhere).append(where);
    return sql;
}

scim::TokenRecord token_from_row(const soci::row& r) {
    scim::TokenRecord t;
    t.id = r.get<std::string>(0);
    t.tenant_id = r.get<std::string>(1);
    t.tenant_name = r.get<std::string>(2);
    t.kind = scim::parse_token_kind(r.get<std::string>(3)).value_or(scim::TokenKind::kIdp);
    t.name = r.get<std::string>(4);
    t.secret_hash = r.get<std::string>(5);
    t.created_at = r.get<std::string>(6);
    if (r.get_indicator(7) == soci::i_ok) {
        t.revoked_at = r.get<std::string>(7);
    }
    t.source = r.get<std::string>(8);
    t.lenient = r.get<int>(9) != 0;
    t.strict = r.get<int>(10) != 0;
    return t;
}

std::optional<scim::TokenRecord> select_token(soci::session& session, const std::string& id) {
    soci::row r;
    session << select_tokens("t.id = :id"), soci::use(id), soci::into(r);
    if (!session.got_data()) {
        return std::nullopt;
    }
    return token_from_row(r);
}

}  // namespace

scim::Result<scim::Tenant> PgTenancyStore::create_tenant(const std::string& name) {
    return db_.impl().with_session([&](soci::session& session) -> scim::Result<scim::Tenant> {
        scim::Tenant t;
        try {
            session << kInsertTenant, soci::use(name), soci::into(t.id), soci::into(t.name),
                soci::into(t.created_at);
        } catch (const soci::soci_error& e) {
            if (sqlstate_of(e) == "23505") {
                return scim::Error::uniqueness("a tenant named '" + name + "' already exists");
            }
            throw;
        }
        return t;
    });
}

std::vector<scim::Tenant> PgTenancyStore::list_tenants() {
    return db_.impl().with_session([](soci::session& session) {
        std::vector<scim::Tenant> out;
        soci::rowset<soci::row> rows = (session.prepare << kSelectTenants);
        for (const soci::row& r : rows) {
            out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2)});
        }
        return out;
    });
}

std::optional<scim::Tenant> PgTenancyStore::find_tenant_by_name(const std::string& name) {
    return db_.impl().with_session([&](soci::session& session) -> std::optional<scim::Tenant> {
        scim::Tenant t;
        session << kSelectTenantByName, soci::use(name), soci::into(t.id), soci::into(t.name),
            soci::into(t.created_at);
        if (!session.got_data()) {
            return std::nullopt;
        }
        return t;
    });
}

scim::Result<scim::TokenRecord> PgTenancyStore::insert_token(const scim::TokenRecord& token) {
    return db_.impl().with_session(
        [&](soci::session& session) -> scim::Result<scim::TokenRecord> {
            const std::string kind(scim::to_string(token.kind));
            const int lenient = token.lenient ? 1 : 0;
            const int strict = token.strict ? 1 : 0;
            try {
                session << kInsertToken, soci::use(token.id), soci::use(token.tenant_id),
                    soci::use(kind), soci::use(token.name), soci::use(token.secret_hash),
                    soci::use(token.source), soci::use(lenient), soci::use(strict);
            } catch (const soci::soci_error& e) {
                if (sqlstate_of(e) == "23505") {
                    return scim::Error::uniqueness("token id collision; try again");
                }
                if (sqlstate_of(e) == "23503") {
                    return scim::Error::not_found("no such tenant");
                }
                throw;
            }
            auto stored = select_token(session, token.id);
            if (!stored) {
                return scim::Error::not_found("token vanished after insert");
            }
            return *stored;
        });
}

std::optional<scim::TokenRecord> PgTenancyStore::find_token(const std::string& id) {
    // Every request with a cold cache comes here: a prepared statement, one round trip.
    return db_.impl().with_connection([&](Connection& c) -> std::optional<scim::TokenRecord> {
        const auto row = query_row(c, select_tokens("t.id = :id"), {{"id", id}});
        if (!row) {
            return std::nullopt;
        }
        const auto& r = *row;
        scim::TokenRecord t;
        t.id = r[0].value_or("");
        t.tenant_id = r[1].value_or("");
        t.tenant_name = r[2].value_or("");
        t.kind = scim::parse_token_kind(r[3].value_or("")).value_or(scim::TokenKind::kIdp);
        t.name = r[4].value_or("");
        t.secret_hash = r[5].value_or("");
        t.created_at = r[6].value_or("");
        t.revoked_at = r[7];
        t.source = r[8].value_or("generic");
        t.lenient = r[9].value_or("0") != "0";
        t.strict = r[10].value_or("0") != "0";
        return t;
    });
}

std::vector<scim::TokenRecord> PgTenancyStore::list_tokens(const std::string& tenant_id) {
    return db_.impl().with_session([&](soci::session& session) {
        std::vector<scim::TokenRecord> out;
        soci::rowset<soci::row> rows =
            (session.prepare << select_tokens("t.tenant_id = CAST(:tenant AS uuid) ORDER BY "
                                              "t.created_at, t.id"),
             soci::use(tenant_id));
        for (const soci::row& r : rows) {
            out.push_back(token_from_row(r));
        }
        return out;
    });
}

scim::Result<scim::TokenRecord> PgTenancyStore::revoke_token(const std::string& id) {
    return db_.impl().with_session(
        [&](soci::session& session) -> scim::Result<scim::TokenRecord> {
            session << kRevokeToken, soci::use(id);
            // Servers caching credentials drop this one at once (db/notification_listener.hpp).
            session << "SELECT pg_notify('" << kTokenRevokedChannel << "', :id)", soci::use(id);
            auto stored = select_token(session, id);
            if (!stored) {
                return scim::Error::not_found("no token with id '" + id + "'");
            }
            return *stored;
        });
}

}  // namespace scimbridge::db
