#include "db/pg_lifecycle_store.hpp"

#include "db/database_impl.hpp"
#include "db/json_rows.hpp"
#include "db/pg_resource_store.hpp"

#include <boost/json.hpp>

namespace scimbridge::db {

namespace json = boost::json;
using scim::Error;

namespace {

// The person's address for invitations: the primary email, else a work one, else the first.
constexpr const char* kUserEmail =
    "(SELECT e->>'value' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(u.doc->'emails') = 'array' "
    "   THEN u.doc->'emails' ELSE '[]'::jsonb END) WITH ORDINALITY x(e, n) "
    "  WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e->'value') = 'string' "
    "  ORDER BY (e->'primary' = 'true'::jsonb) DESC, (lower(e->>'type') = 'work') DESC, n LIMIT 1)";

constexpr const char* kDisplayName =
    "coalesce(u.display_name, u.doc->'name'->>'formatted', "
    "  nullif(concat_ws(' ', u.doc->'name'->>'givenName', u.doc->'name'->>'familyName'), ''), u.user_name)";

constexpr const char* kLockAccount =
    "SELECT state FROM app_object WHERE tenant_id = CAST(:t AS uuid) AND app_id = CAST(:a AS uuid) "
    "AND resource_id = CAST(:u AS uuid) FOR UPDATE";

std::string snapshot_sql() {
    return std::string(
               "SELECT json_build_object('app_name', a.name, 'tenant_name', t.name, 'definition', a.definition, "
               " 'state', o.state, 'before', o.state_before_block, 'user_exists', u.id IS NOT NULL, "
               " 'active', coalesce(u.active, true), 'user_name', coalesce(u.user_name, ''), "
               " 'display_name', ") +
           kDisplayName + ", 'email', " + kUserEmail +
           ", 'locale', coalesce(u.doc->>'preferredLanguage', u.doc->>'locale', ''), "
           " 'open_invitation', EXISTS (SELECT 1 FROM invitation i WHERE i.tenant_id = a.tenant_id "
           "   AND i.app_id = a.id AND i.user_id = CAST(:u AS uuid) AND i.state = 'open'))::text "
           "FROM app a JOIN tenant t ON t.id = a.tenant_id "
           "LEFT JOIN scim_user u ON u.tenant_id = a.tenant_id AND u.id = CAST(:u AS uuid) "
           "LEFT JOIN app_object o ON o.tenant_id = a.tenant_id AND o.app_id = a.id "
           " AND o.resource_id = CAST(:u AS uuid) "
           "WHERE a.tenant_id = CAST(:t AS uuid) AND a.id = CAST(:a AS uuid)";
}

// The new state of the account and one audit row per transition.
constexpr const char* kWriteState =
    "WITH o AS (UPDATE app_object SET state = :to, "
    "  state_before_block = CASE WHEN :to = 'blocked' AND state <> 'blocked' THEN state "
    "                            WHEN :to = 'blocked' THEN state_before_block END, "
    "  blocked_at = CASE WHEN :to = 'blocked' AND state <> 'blocked' THEN scim_bridge_now() "
    "                    WHEN :to = 'blocked' THEN blocked_at END, "
    "  block_cause = CASE WHEN :to = 'blocked' AND state <> 'blocked' THEN :last_cause "
    "                     WHEN :to = 'blocked' THEN block_cause END, "
    "  updated_at = scim_bridge_now() "
    "  WHERE tenant_id = CAST(:t AS uuid) AND app_id = CAST(:a AS uuid) AND resource_id = CAST(:u AS uuid) "
    "  RETURNING 1) "
    "INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
    "SELECT CAST(:t AS uuid), :actor, 'account.' || (c->>'to'), CAST(:a AS uuid), 'User', CAST(:u AS uuid), "
    "  jsonb_strip_nulls(jsonb_build_object('from', c->>'from', 'to', c->>'to', 'cause', c->>'cause', "
    "   'invitation_id', CAST(:inv AS text), 'access_code_id', CAST(:code AS text))) "
    "FROM jsonb_array_elements(CAST(:changes AS jsonb)) c WHERE EXISTS (SELECT 1 FROM o)";

constexpr const char* kRevokeInvitations =
    "WITH r AS (UPDATE invitation SET state = 'revoked', finished_at = scim_bridge_now() "
    "  WHERE tenant_id = CAST(:t AS uuid) AND app_id = CAST(:a AS uuid) AND user_id = CAST(:u AS uuid) "
    "  AND state = 'open' RETURNING id), "
    "m AS (UPDATE mail_outbox SET state = 'cancelled', finished_at = scim_bridge_now() "
    "  WHERE tenant_id = CAST(:t AS uuid) AND invitation_id IN (SELECT id FROM r) "
    "  AND state IN ('pending', 'leased') AND kind <> 'copy' RETURNING 1) "
    "SELECT (SELECT count(*) FROM r) + 0 * (SELECT count(*) FROM m)";

constexpr const char* kInsertInvitation =
    "WITH i AS (INSERT INTO invitation (tenant_id, id, app_id, user_id, token_hash, email, locale, "
    "  next_reminder_at, expires_at, created_by) "
    "  VALUES (CAST(:t AS uuid), CAST(:id AS uuid), CAST(:a AS uuid), CAST(:u AS uuid), :hash, :email, "
    "  :locale, scim_bridge_now() + CAST(:remind_ms AS bigint) * interval '1 millisecond', "
    "  scim_bridge_now() + CAST(:ttl_ms AS bigint) * interval '1 millisecond', :actor) RETURNING *), "
    "m AS (INSERT INTO mail_outbox (tenant_id, app_id, user_id, invitation_id, kind, recipient, locale) "
    "  SELECT i.tenant_id, i.app_id, i.user_id, i.id, 'invite', i.email, i.locale FROM i "
    "   WHERE i.email IS NOT NULL "
    "  UNION ALL SELECT i.tenant_id, i.app_id, i.user_id, i.id, 'copy', :copy_to, i.locale FROM i "
    "   WHERE CAST(:copy_to AS text) IS NOT NULL RETURNING 1), "
    "a AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
    "  SELECT i.tenant_id, :actor, 'invitation.created', i.app_id, 'User', i.user_id, "
    "   jsonb_build_object('invitation_id', i.id, 'expires_at', i.expires_at, 'mailed', i.email IS NOT NULL) "
    "  FROM i RETURNING 1) "
    "SELECT (SELECT count(*) FROM i) + 0 * (SELECT count(*) FROM m) + 0 * (SELECT count(*) FROM a)";

constexpr const char* kRevokeCodes =
    "UPDATE access_code SET state = 'revoked', finished_at = scim_bridge_now() "
    "WHERE tenant_id = CAST(:t AS uuid) AND app_id = CAST(:a AS uuid) AND user_id = CAST(:u AS uuid) "
    "AND state = 'open' RETURNING 1";

constexpr const char* kInsertCode =
    "WITH c AS (INSERT INTO access_code (tenant_id, id, app_id, user_id, code_hash, expires_at, created_by) "
    "  VALUES (CAST(:t AS uuid), CAST(:id AS uuid), CAST(:a AS uuid), CAST(:u AS uuid), :hash, "
    "  scim_bridge_now() + CAST(:ttl_ms AS bigint) * interval '1 millisecond', :actor) RETURNING *) "
    "INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
    "SELECT c.tenant_id, :actor, 'access_code.issued', c.app_id, 'User', c.user_id, "
    "  jsonb_build_object('access_code_id', c.id, 'expires_at', c.expires_at) FROM c RETURNING 1";

// A delivery that tells the app about the account (its next delivery compares the state with
// what the app was last told).
constexpr const char* kNotifyApp =
    "WITH d AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
    "  SELECT u.tenant_id, CAST(:a AS uuid), 'User', u.id, u.version, 'account' FROM scim_user u "
    "  WHERE u.tenant_id = CAST(:t AS uuid) AND u.id = CAST(:u AS uuid) RETURNING 1) "
    "SELECT count(*) FROM (SELECT pg_notify('scim_bridge_outbox', '') FROM d LIMIT 1) n";

constexpr const char* kClaimInvitation =
    "WITH i AS (UPDATE invitation SET state = 'claimed', finished_at = scim_bridge_now() "
    "  WHERE token_hash = :hash AND state = 'open' AND expires_at > scim_bridge_now() "
    "  RETURNING tenant_id, app_id, user_id, id), "
    "m AS (UPDATE mail_outbox SET state = 'cancelled', finished_at = scim_bridge_now() "
    "  WHERE invitation_id IN (SELECT id FROM i) AND state IN ('pending', 'leased') AND kind <> 'copy' "
    "  RETURNING 1) "
    "SELECT tenant_id::text, app_id::text, user_id::text, id::text FROM i "
    "WHERE (SELECT count(*) FROM m) >= 0";

constexpr const char* kRedeemCode =
    "UPDATE access_code SET state = 'used', finished_at = scim_bridge_now() "
    "WHERE code_hash = :hash AND state = 'open' AND expires_at > scim_bridge_now() "
    "RETURNING tenant_id::text, app_id::text, user_id::text, id::text";

std::optional<mappers::AccountState> state_of(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return mappers::parse_account_state(v->as_string());
}

mappers::AccountSnapshot snapshot_from(const json::object& o) {
    mappers::AccountSnapshot s;
    s.state = state_of(o, "state");
    s.state_before_block = state_of(o, "before");
    s.user_exists = o.at("user_exists").as_bool();
    s.user_active = o.at("active").as_bool();
    s.user_name = text_of(o, "user_name");
    s.display_name = text_of(o, "display_name");
    if (const json::value* e = o.if_contains("email"); e != nullptr && e->is_string()) {
        s.email = std::string(e->as_string());
    }
    s.locale = text_of(o, "locale");
    s.app_name = text_of(o, "app_name");
    s.tenant_name = text_of(o, "tenant_name");
    if (const json::value* d = o.if_contains("definition"); d != nullptr && d->is_object()) {
        s.app_definition = d->as_object();
    }
    s.has_open_invitation = o.at("open_invitation").as_bool();
    return s;
}

struct Applied {
    std::optional<mappers::AccountState> state;
};

// Locks and reads the account, plans, writes. Runs inside the caller's transaction.
scim::Result<mappers::AccountOutcome> plan_and_write(Connection& c, const mappers::AccountRef& ref,
                                                     const std::string& actor, const mappers::PlanAction& plan,
                                                     const std::optional<std::string>& used_invitation,
                                                     const std::optional<std::string>& used_code) {
    const Params key{{"t", ref.tenant_id}, {"a", ref.app_id}, {"u", ref.user_id}};
    query_row(c, kLockAccount, key);
    const auto row = json_row(c, snapshot_sql(), key);
    if (!row) {
        return Error::not_found("app not found");
    }
    const mappers::AccountSnapshot snapshot = snapshot_from(row->as_object());
    if (!snapshot.user_exists && !snapshot.state) {
        return Error::not_found("user not found");
    }
    auto planned = plan(snapshot);
    if (!planned) {
        return planned.error();
    }
    const mappers::AccountPlan& p = *planned;

    if (p.revoke_invitations) {
        query_row(c, kRevokeInvitations, key);
    }
    if (p.revoke_access_codes) {
        query_row(c, kRevokeCodes, key);
    }
    std::optional<mappers::AccountState> state = snapshot.state;
    if (!p.changes.empty()) {
        json::array changes;
        for (const mappers::StateChange& change : p.changes) {
            json::object o{{"to", mappers::to_string(change.to)}, {"cause", change.cause}};
            if (change.from) {
                o["from"] = mappers::to_string(*change.from);
            }
            changes.push_back(std::move(o));
        }
        state = p.changes.back().to;
        Params w = key;
        w["to"] = std::string(mappers::to_string(*state));
        w["actor"] = actor;
        w["last_cause"] = p.changes.back().cause;
        w["changes"] = json::serialize(changes);
        w["inv"] = p.invitation ? std::optional<std::string>(p.invitation->id) : used_invitation;
        w["code"] = p.access_code ? std::optional<std::string>(p.access_code->id) : used_code;
        query_row(c, kWriteState, w);
    }
    if (p.invitation) {
        Params i = key;
        i["id"] = p.invitation->id;
        i["hash"] = p.invitation->token_hash;
        i["email"] = p.invitation->email;
        i["locale"] = p.invitation->locale;
        i["remind_ms"] = millis(p.invitation->first_reminder_in);
        i["ttl_ms"] = millis(p.invitation->expires_in);
        i["actor"] = actor;
        i["copy_to"] = p.invitation->copy_to.empty() || !p.invitation->email
                           ? std::nullopt
                           : std::optional<std::string>(p.invitation->copy_to);
        query_row(c, kInsertInvitation, i);
    }
    if (p.access_code) {
        Params a = key;
        a["id"] = p.access_code->id;
        a["hash"] = p.access_code->code_hash;
        a["ttl_ms"] = millis(p.access_code->expires_in);
        a["actor"] = actor;
        query_row(c, kInsertCode, a);
    }
    if (p.notify_app && (!p.changes.empty() || p.invitation)) {
        query_row(c, kNotifyApp, key);
    }
    return mappers::AccountOutcome{ref, state, snapshot.app_name, snapshot.tenant_name, snapshot.user_name};
}

bool valid_ref(const mappers::AccountRef& ref) {
    return is_uuid(ref.tenant_id) && is_uuid(ref.app_id) && is_uuid(ref.user_id);
}

std::vector<mappers::SecretRow> secret_rows(Database& db, const std::string& sql, const Params& params) {
    std::vector<mappers::SecretRow> rows;
    const auto result = db.impl().with_connection([&](Connection& c) { return json_row(c, sql, params); });
    if (!result) {
        return rows;
    }
    for (const json::value& v : result->as_array()) {
        const json::object& o = v.as_object();
        rows.push_back(mappers::SecretRow{text_of(o, "id"), text_of(o, "user_id"), text_of(o, "user_name"),
                                          text_of(o, "email"), text_of(o, "expires_at")});
    }
    return rows;
}

std::size_t count_of(Database& db, const char* sql, const Params& params) {
    return db.impl().with_connection([&](Connection& c) -> std::size_t {
        const auto row = query_row(c, sql, params);
        return row && !row->empty() && row->at(0) ? std::stoul(*row->at(0)) : 0;
    });
}

}  // namespace

scim::Result<mappers::AccountOutcome> PgLifecycleStore::change_account(const mappers::AccountRef& account,
                                                                       const std::string& actor,
                                                                       const mappers::PlanAction& plan) {
    if (!valid_ref(account)) {
        return Error::not_found("no such app or user");
    }
    return db_.impl().with_connection([&](Connection& c) -> scim::Result<mappers::AccountOutcome> {
        soci::transaction tr(c.session);
        auto outcome = plan_and_write(c, account, actor, plan, std::nullopt, std::nullopt);
        if (outcome) {
            tr.commit();
        }
        return outcome;
    });
}

namespace {

scim::Result<mappers::AccountOutcome> claim_with(Database& db, const char* sql, const std::string& hash,
                                                 const mappers::PlanAction& plan, bool by_code) {
    return db.impl().with_connection([&](Connection& c) -> scim::Result<mappers::AccountOutcome> {
        soci::transaction tr(c.session);
        const auto row = query_row(c, sql, Params{{"hash", hash}});
        if (!row || row->size() < 4 || !row->at(0)) {
            return Error::not_found("this link or code is not valid");
        }
        const mappers::AccountRef ref{*row->at(0), *row->at(1), *row->at(2)};
        const std::optional<std::string> used = row->at(3);
        auto outcome = plan_and_write(c, ref, by_code ? "access_code" : "claim_link", plan,
                                      by_code ? std::nullopt : used, by_code ? used : std::nullopt);
        if (!outcome) {
            return Error::not_found("this link or code is not valid");  // rolls the claim back
        }
        tr.commit();
        return outcome;
    });
}

}  // namespace

scim::Result<mappers::AccountOutcome> PgLifecycleStore::claim_invitation(const std::string& token_hash,
                                                                         const mappers::PlanAction& plan) {
    return claim_with(db_, kClaimInvitation, token_hash, plan, false);
}

scim::Result<mappers::AccountOutcome> PgLifecycleStore::redeem_access_code(const std::string& code_hash,
                                                                           const mappers::PlanAction& plan) {
    return claim_with(db_, kRedeemCode, code_hash, plan, true);
}

std::optional<mappers::ClaimView> PgLifecycleStore::view_invitation(const std::string& token_hash) {
    const std::string sql = std::string(
        "SELECT json_build_object('app_name', a.name, 'tenant_name', t.name, 'display_name', ") +
        kDisplayName + ", 'expires_at', to_char(i.expires_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text "
        "FROM invitation i JOIN app a ON a.tenant_id = i.tenant_id AND a.id = i.app_id "
        "JOIN tenant t ON t.id = i.tenant_id "
        "JOIN app_object o ON o.tenant_id = i.tenant_id AND o.app_id = i.app_id AND o.resource_id = i.user_id "
        "JOIN scim_user u ON u.tenant_id = i.tenant_id AND u.id = i.user_id "
        "WHERE i.token_hash = :hash AND i.state = 'open' AND i.expires_at > scim_bridge_now() "
        "AND o.state = 'invited' AND coalesce(u.active, true)";
    const auto row = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, Params{{"hash", token_hash}}); });
    if (!row) {
        return std::nullopt;
    }
    const json::object& o = row->as_object();
    return mappers::ClaimView{text_of(o, "app_name"), text_of(o, "tenant_name"), text_of(o, "display_name"),
                              text_of(o, "expires_at")};
}

std::optional<mappers::AccountRef> PgLifecycleStore::find_account(const std::string& app_id,
                                                                  const std::string& user_ref) {
    if (!is_uuid(app_id) || user_ref.empty() || user_ref.size() > 1024) {
        return std::nullopt;
    }
    const char* sql =
        "SELECT o.tenant_id::text, o.app_id::text, o.resource_id::text FROM app a "
        "JOIN app_object o ON o.tenant_id = a.tenant_id AND o.app_id = a.id AND o.resource_type = 'User' "
        "WHERE a.id = CAST(:a AS uuid) AND (o.remote_id = :r OR "
        " (CAST(:r_uuid AS text) IS NOT NULL AND o.resource_id = CAST(:r_uuid AS uuid))) "
        "ORDER BY (o.remote_id = :r) DESC LIMIT 1";
    const Params p{{"a", app_id},
                   {"r", user_ref},
                   {"r_uuid", is_uuid(user_ref) ? std::optional<std::string>(user_ref) : std::nullopt}};
    const auto row = db_.impl().with_connection([&](Connection& c) { return query_row(c, sql, p); });
    if (!row || !row->at(0)) {
        return std::nullopt;
    }
    return mappers::AccountRef{*row->at(0), *row->at(1), *row->at(2)};
}

std::optional<mappers::StoredApp> PgLifecycleStore::app_by_id(const std::string& app_id) {
    if (!is_uuid(app_id)) {
        return std::nullopt;
    }
    const std::string sql = std::string("SELECT ") + kAppJson + "::text FROM app x WHERE x.id = CAST(:a AS uuid)";
    const auto row = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, Params{{"a", app_id}}); });
    if (!row) {
        return std::nullopt;
    }
    return app_from(row->as_object());
}

std::vector<mappers::SecretRow> PgLifecycleStore::open_invitations(const std::string& tenant_id,
                                                                   const std::string& app_id) {
    if (!is_uuid(tenant_id) || !is_uuid(app_id)) {
        return {};
    }
    const std::string sql = std::string(
        "SELECT coalesce(json_agg(json_build_object('id', i.id, 'user_id', i.user_id, "
        "'user_name', u.user_name, 'email', coalesce(i.email, ") + kUserEmail + ", ''), "
        "'expires_at', to_char(i.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "
        "ORDER BY lower(u.user_name), i.id), '[]')::text "
        "FROM invitation i JOIN scim_user u ON u.tenant_id = i.tenant_id AND u.id = i.user_id "
        "WHERE i.tenant_id = CAST(:t AS uuid) AND i.app_id = CAST(:a AS uuid) AND i.state = 'open' "
        "AND i.expires_at > scim_bridge_now()";
    return secret_rows(db_, sql, Params{{"t", tenant_id}, {"a", app_id}});
}

std::vector<mappers::SecretRow> PgLifecycleStore::open_access_codes(const std::string& tenant_id,
                                                                    const std::string& app_id) {
    if (!is_uuid(tenant_id) || !is_uuid(app_id)) {
        return {};
    }
    const std::string sql = std::string(
        "SELECT coalesce(json_agg(json_build_object('id', k.id, 'user_id', k.user_id, "
        "'user_name', u.user_name, 'email', coalesce(") + kUserEmail + ", ''), "
        "'expires_at', to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "
        "ORDER BY lower(u.user_name), k.id), '[]')::text "
        "FROM access_code k JOIN scim_user u ON u.tenant_id = k.tenant_id AND u.id = k.user_id "
        "WHERE k.tenant_id = CAST(:t AS uuid) AND k.app_id = CAST(:a AS uuid) AND k.state = 'open' "
        "AND k.expires_at > scim_bridge_now()";
    return secret_rows(db_, sql, Params{{"t", tenant_id}, {"a", app_id}});
}

std::vector<mappers::PendingInvite> PgLifecycleStore::accounts_to_invite(
    std::size_t limit, const std::optional<mappers::AccountRef>& only_app) {
    const char* sql =
        "SELECT coalesce(json_agg(json_build_object('t', x.tenant_id, 'a', x.app_id, 'u', x.resource_id)), "
        "'[]')::text FROM (SELECT o.tenant_id, o.app_id, o.resource_id FROM app_object o "
        " JOIN app a ON a.tenant_id = o.tenant_id AND a.id = o.app_id AND a.enabled "
        " WHERE o.resource_type = 'User' AND o.state = 'initiated' "
        "  AND (CASE WHEN CAST(:only_t AS text) IS NULL THEN a.definition->'policies'->>'invite' = 'now' "
        "       ELSE o.tenant_id = CAST(:only_t AS uuid) AND o.app_id = CAST(:only_a AS uuid) END) "
        // Invited once already (an expired link does not bring a new one by itself), unless
        // "invite all" came later.
        "  AND NOT EXISTS (SELECT 1 FROM invitation i WHERE i.tenant_id = o.tenant_id "
        "   AND i.app_id = o.app_id AND i.user_id = o.resource_id AND (i.state = 'open' OR i.created_at >= "
        "   coalesce((a.definition->'policies'->>'invited_all_at')::timestamptz, '-infinity'::timestamptz))) "
        "  AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.tenant_id = o.tenant_id "
        "   AND l.resource_id = o.resource_id AND l.app_id = o.app_id AND l.action = 'invitation.refused' "
        "   AND l.at >= o.updated_at) "
        " LIMIT CAST(:n AS integer)) x";
    const Params p{{"n", std::to_string(limit)},
                   {"only_t", only_app ? std::optional<std::string>(only_app->tenant_id) : std::nullopt},
                   {"only_a", only_app ? std::optional<std::string>(only_app->app_id) : std::nullopt}};
    std::vector<mappers::PendingInvite> out;
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, p); });
    if (rows) {
        for (const json::value& v : rows->as_array()) {
            const json::object& o = v.as_object();
            out.push_back(mappers::PendingInvite{{text_of(o, "t"), text_of(o, "a"), text_of(o, "u")}});
        }
    }
    return out;
}

void PgLifecycleStore::record(const mappers::AccountRef& account, const std::string& actor,
                              const std::string& action, const json::object& detail) {
    if (!valid_ref(account)) {
        return;
    }
    const char* sql =
        "INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
        "VALUES (CAST(:t AS uuid), :actor, :action, CAST(:a AS uuid), 'User', CAST(:u AS uuid), "
        "CAST(:d AS jsonb)) RETURNING 1";
    const Params p{{"t", account.tenant_id}, {"a", account.app_id},  {"u", account.user_id},
                   {"actor", actor},         {"action", action},     {"d", json::serialize(detail)}};
    db_.impl().with_connection([&](Connection& c) { query_row(c, sql, p); });
}

bool PgLifecycleStore::set_invite_now(const std::string& tenant_id, const std::string& app_id,
                                      const std::string& actor) {
    if (!is_uuid(tenant_id) || !is_uuid(app_id)) {
        return false;
    }
    const char* sql =
        "WITH x AS (UPDATE app SET definition = jsonb_set(jsonb_set(definition, '{policies,invite}', "
        "  '\"now\"', true), '{policies,invited_all_at}', to_jsonb(scim_bridge_now()), true), "
        "  version = version + 1, modified_at = scim_bridge_now() "
        "  WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:a AS uuid) RETURNING tenant_id, id), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, detail) "
        "  SELECT x.tenant_id, :actor, 'app.invite_all', x.id, '{}'::jsonb FROM x RETURNING 1) "
        "SELECT count(*) FROM x WHERE (SELECT count(*) FROM a) >= 0";
    return count_of(db_, sql, Params{{"t", tenant_id}, {"a", app_id}, {"actor", actor}}) > 0;
}

std::size_t PgLifecycleStore::expire_invitations(std::size_t limit) {
    const char* sql =
        "WITH e AS (UPDATE invitation SET state = 'expired', finished_at = scim_bridge_now() "
        "  WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM invitation WHERE state = 'open' "
        "   AND expires_at <= scim_bridge_now() ORDER BY expires_at LIMIT CAST(:n AS integer) FOR UPDATE SKIP LOCKED) "
        "  RETURNING tenant_id, app_id, user_id, id), "
        "m AS (UPDATE mail_outbox SET state = 'cancelled', finished_at = scim_bridge_now() FROM e "
        "  WHERE mail_outbox.tenant_id = e.tenant_id AND mail_outbox.invitation_id = e.id "
        "  AND mail_outbox.state IN ('pending', 'leased') AND mail_outbox.kind <> 'copy' RETURNING 1), "
        "moved AS (UPDATE app_object ob SET "
        "  state = CASE WHEN ob.state = 'invited' THEN 'initiated' ELSE ob.state END, "
        "  state_before_block = CASE WHEN ob.state_before_block = 'invited' THEN 'initiated' "
        "                            ELSE ob.state_before_block END, updated_at = scim_bridge_now() "
        "  FROM e WHERE ob.tenant_id = e.tenant_id AND ob.app_id = e.app_id AND ob.resource_id = e.user_id "
        "  RETURNING ob.tenant_id, ob.app_id, ob.resource_id, ob.state, e.id AS invitation_id), "
        "a1 AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
        "  SELECT e.tenant_id, 'bridge', 'invitation.expired', e.app_id, 'User', e.user_id, "
        "   jsonb_build_object('invitation_id', e.id) FROM e RETURNING 1), "
        "a2 AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
        "  SELECT x.tenant_id, 'bridge', 'account.initiated', x.app_id, 'User', x.resource_id, "
        "   jsonb_build_object('from', 'invited', 'to', 'initiated', 'cause', 'invitation_expired', "
        "   'invitation_id', x.invitation_id) FROM moved x WHERE x.state = 'initiated' RETURNING 1), "
        "d AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
        "  SELECT x.tenant_id, x.app_id, 'User', u.id, u.version, 'account' FROM moved x "
        "  JOIN scim_user u ON u.tenant_id = x.tenant_id AND u.id = x.resource_id "
        "  WHERE x.state = 'initiated' RETURNING 1) "
        "SELECT (SELECT count(*) FROM e) + 0 * ((SELECT count(*) FROM m) + (SELECT count(*) FROM a1) "
        " + (SELECT count(*) FROM a2) + (SELECT count(*) FROM (SELECT pg_notify('scim_bridge_outbox', '') "
        "   FROM d LIMIT 1) n))";
    return count_of(db_, sql, Params{{"n", std::to_string(limit)}});
}

std::size_t PgLifecycleStore::send_reminders(std::size_t limit, std::chrono::milliseconds second_reminder_after) {
    const char* sql =
        "WITH r AS (UPDATE invitation i SET reminders_sent = i.reminders_sent + 1, "
        "  next_reminder_at = CASE WHEN i.reminders_sent = 0 "
        "   THEN i.created_at + CAST(:second_ms AS bigint) * interval '1 millisecond' END "
        "  WHERE (i.tenant_id, i.id) IN (SELECT tenant_id, id FROM invitation WHERE state = 'open' "
        "   AND next_reminder_at <= scim_bridge_now() AND expires_at > scim_bridge_now() ORDER BY next_reminder_at "
        "   LIMIT CAST(:n AS integer) FOR UPDATE SKIP LOCKED) "
        "  RETURNING i.*), "
        "m AS (INSERT INTO mail_outbox (tenant_id, app_id, user_id, invitation_id, kind, recipient, locale) "
        "  SELECT r.tenant_id, r.app_id, r.user_id, r.id, 'reminder' || r.reminders_sent, r.email, r.locale "
        "  FROM r WHERE r.email IS NOT NULL RETURNING 1), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
        "  SELECT r.tenant_id, 'bridge', 'invitation.reminder', r.app_id, 'User', r.user_id, "
        "   jsonb_build_object('invitation_id', r.id, 'reminder', r.reminders_sent, 'mailed', r.email IS NOT NULL) "
        "  FROM r RETURNING 1), "
        "d AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
        "  SELECT r.tenant_id, r.app_id, 'User', u.id, u.version, 'account' FROM r "
        "  JOIN scim_user u ON u.tenant_id = r.tenant_id AND u.id = r.user_id RETURNING 1) "
        "SELECT (SELECT count(*) FROM r) + 0 * ((SELECT count(*) FROM m) + (SELECT count(*) FROM a) "
        " + (SELECT count(*) FROM (SELECT pg_notify('scim_bridge_outbox', '') FROM d LIMIT 1) n))";
    return count_of(db_, sql, Params{{"n", std::to_string(limit)}, {"second_ms", millis(second_reminder_after)}});
}

std::size_t PgLifecycleStore::purge_memberships(std::size_t limit, std::chrono::milliseconds window) {
    const char* sql =
        "WITH p AS (UPDATE app_object o SET memberships_purged_at = scim_bridge_now() "
        "  WHERE (o.tenant_id, o.app_id, o.resource_id) IN (SELECT tenant_id, app_id, resource_id "
        "   FROM app_object WHERE state = 'blocked' AND memberships_purged_at IS NULL "
        "   AND blocked_at <= scim_bridge_now() - CAST(:window_ms AS bigint) * interval '1 millisecond' "
        "   LIMIT CAST(:n AS integer) FOR UPDATE SKIP LOCKED) "
        "  RETURNING o.tenant_id, o.app_id, o.resource_id), "
        "a AS (INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
        "  SELECT p.tenant_id, 'bridge', 'account.memberships_purged', p.app_id, 'User', p.resource_id, "
        "   jsonb_build_object('cause', 'reactivation_window_passed') FROM p RETURNING 1), "
        "g AS (INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) "
        "  SELECT DISTINCT p.tenant_id, p.app_id, 'Group', g.id, g.version, 'sync' FROM p "
        "  JOIN app_group_member gm ON gm.tenant_id = p.tenant_id AND gm.app_id = p.app_id "
        "   AND gm.member_id = p.resource_id "
        "  JOIN scim_group g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id RETURNING 1) "
        "SELECT (SELECT count(*) FROM p) + 0 * ((SELECT count(*) FROM a) "
        " + (SELECT count(*) FROM (SELECT pg_notify('scim_bridge_outbox', '') FROM g LIMIT 1) n))";
    return count_of(db_, sql, Params{{"n", std::to_string(limit)}, {"window_ms", millis(window)}});
}

std::size_t PgLifecycleStore::prune_deliveries(std::size_t limit, std::chrono::milliseconds retention) {
    const char* sql =
        "WITH d AS (DELETE FROM delivery WHERE id IN (SELECT id FROM delivery "
        "  WHERE state IN ('delivered', 'superseded', 'skipped') "
        "  AND finished_at < scim_bridge_now() - CAST(:retention_ms AS bigint) * interval '1 millisecond' "
        "  ORDER BY finished_at LIMIT CAST(:n AS integer)) RETURNING 1) "
        "SELECT count(*) FROM d";
    return count_of(db_, sql, Params{{"n", std::to_string(limit)}, {"retention_ms", millis(retention)}});
}

std::vector<mappers::InvitationMailJob> PgLifecycleStore::claim_mails(std::size_t limit,
                                                                      std::chrono::milliseconds lease) {
    const char* sql =
        "WITH c AS (UPDATE mail_outbox m SET state = 'leased', attempts = m.attempts + 1, "
        "  lease_until = scim_bridge_now() + CAST(:lease_ms AS bigint) * interval '1 millisecond' "
        "  WHERE m.id IN (SELECT id FROM mail_outbox WHERE (state = 'pending' AND next_at <= scim_bridge_now()) "
        "   OR (state = 'leased' AND lease_until < scim_bridge_now()) ORDER BY next_at, id "
        "   LIMIT CAST(:n AS integer) FOR UPDATE SKIP LOCKED) RETURNING m.*) "
        "SELECT coalesce(json_agg(json_build_object('id', c.id, 'kind', c.kind, 'recipient', c.recipient, "
        " 'locale', coalesce(c.locale, ''), 'invitation_id', c.invitation_id, 'invitation_state', i.state, 'invitation_email', coalesce(i.email, ''), "
        " 'expires_at', to_char(i.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), "
        " 'app_name', a.name, 'tenant_name', t.name, 'user_name', coalesce(u.user_name, ''), "
        " 'display_name', coalesce(u.display_name, u.doc->'name'->>'formatted', u.user_name, ''), "
        " 'attempts', c.attempts) ORDER BY c.id), '[]')::text "
        "FROM c JOIN invitation i ON i.tenant_id = c.tenant_id AND i.id = c.invitation_id "
        "JOIN app a ON a.tenant_id = c.tenant_id AND a.id = c.app_id JOIN tenant t ON t.id = c.tenant_id "
        "LEFT JOIN scim_user u ON u.tenant_id = c.tenant_id AND u.id = c.user_id";
    const Params p{{"n", std::to_string(limit)}, {"lease_ms", millis(lease)}};
    std::vector<mappers::InvitationMailJob> jobs;
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, sql, p); });
    if (!rows) {
        return jobs;
    }
    for (const json::value& v : rows->as_array()) {
        const json::object& o = v.as_object();
        mappers::InvitationMailJob j;
        j.id = o.at("id").to_number<std::int64_t>();
        j.kind = text_of(o, "kind");
        j.recipient = text_of(o, "recipient");
        j.locale = text_of(o, "locale");
        j.invitation_id = text_of(o, "invitation_id");
        j.invitation_state = text_of(o, "invitation_state");
        j.invitation_email = text_of(o, "invitation_email");
        j.expires_at = text_of(o, "expires_at");
        j.app_name = text_of(o, "app_name");
        j.tenant_name = text_of(o, "tenant_name");
        j.user_name = text_of(o, "user_name");
        j.display_name = text_of(o, "display_name");
        j.attempts = o.at("attempts").to_number<int>();
        jobs.push_back(std::move(j));
    }
    return jobs;
}

void PgLifecycleStore::finish_mail(std::int64_t id, const std::string& state, const std::string& error,
                                   std::chrono::milliseconds retry_in) {
    const char* sql =
        "WITH m AS (UPDATE mail_outbox SET state = :state, lease_until = NULL, "
        "  last_error = nullif(:error, ''), next_at = scim_bridge_now() + CAST(:retry_ms AS bigint) * interval '1 millisecond', "
        "  finished_at = CASE WHEN :state IN ('sent', 'cancelled', 'dead') THEN scim_bridge_now() END "
        "  WHERE id = CAST(:id AS bigint) AND state = 'leased' RETURNING *) "
        "INSERT INTO audit_log (tenant_id, actor, action, app_id, resource_type, resource_id, detail) "
        "SELECT m.tenant_id, 'bridge', 'mail.' || m.state, m.app_id, 'User', m.user_id, "
        " jsonb_strip_nulls(jsonb_build_object('mail_id', m.id, 'kind', m.kind, 'invitation_id', m.invitation_id, "
        " 'attempts', m.attempts, 'error', m.last_error)) FROM m WHERE m.state <> 'pending' RETURNING 1";
    const Params p{{"id", std::to_string(id)}, {"state", state}, {"error", error}, {"retry_ms", millis(retry_in)}};
    db_.impl().with_connection([&](Connection& c) { query_row(c, sql, p); });
}

}  // namespace scimbridge::db
