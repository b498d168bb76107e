#pragma once
// db/-internal: what the stores share for statements that answer one JSON document (built with
// json_build_object / json_agg in SQL, so a whole page or object is one round trip), and for the
// parameters they bind.

#include "db/database_impl.hpp"
#include "mappers/delivery.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace scimbridge::db {

// The first column of a row, parsed; nullopt when there is no row or it is NULL.
inline std::optional<boost::json::value> first_column_json(const std::optional<Row>& row) {
    if (!row || row->empty() || !row->at(0)) {
        return std::nullopt;
    }
    return boost::json::parse(*row->at(0));
}

// The first column of the first row, parsed (a cached prepared statement: query_row).
inline std::optional<boost::json::value> json_row(Connection& c, const std::string& sql, const Params& params) {
    return first_column_json(query_row(c, sql, params));
}

// The same, planned for these very values each time (query_row_planned).
inline std::optional<boost::json::value> json_row_planned(Connection& c, const std::string& sql, const Params& params) {
    return first_column_json(query_row_planned(c, sql, params));
}

// A string member, or nullopt when it is absent, null or not a string.
inline std::optional<std::string> opt_text(const boost::json::object& o, const char* key) {
    const boost::json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::optional<std::string>(std::string(v->as_string())) : std::nullopt;
}

// A string member, or "" when it is absent, null or not a string.
inline std::string text_of(const boost::json::object& o, const char* key) { return opt_text(o, key).value_or(""); }

// An app row (alias x) as JSON, and back: apps are read by the admin store and the lifecycle.
inline constexpr const char* kAppJson =
    "json_build_object('id', x.id, 'tenant_id', x.tenant_id, 'version', x.version, "
    "'enabled', x.enabled, 'definition', x.definition)";

inline mappers::StoredApp app_from(const boost::json::object& o) {
    mappers::StoredApp app;
    app.id = std::string(o.at("id").as_string());
    app.tenant_id = std::string(o.at("tenant_id").as_string());
    app.version = o.at("version").to_number<std::int64_t>();
    app.enabled = o.at("enabled").as_bool();
    app.definition = o.at("definition").as_object();
    return app;
}

// What an app holds of a resource (app_object row, alias o) with the open invitation, as JSON,
// and back: read by the delivery worker and by reconciliation. A macro so that it can be spliced
// into statement literals.
#define APP_OBJECT_JSON                                                                                    \
    "json_build_object('state', o.state, 'state_before_block', o.state_before_block, "                    \
    "'remote_id', o.remote_id, 'payload', o.payload, 'delivered_version', o.delivered_version, "           \
    "'delivered_state', o.delivered_state, 'block_cause', o.block_cause, "                                 \
    "'announced_invitation', o.announced_invitation, "                                                     \
    "'invitation', (SELECT json_build_object('id', i.id, 'reminders_sent', i.reminders_sent, "           \
    "  'expires_at', to_char(i.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "           \
    "  FROM invitation i WHERE i.tenant_id = o.tenant_id AND i.app_id = o.app_id "                        \
    "  AND i.user_id = o.resource_id AND i.state = 'open'))"

inline mappers::AppObject app_object_from(const boost::json::object& o) {
    mappers::AppObject obj;
    if (const auto s = opt_text(o, "state")) {
        obj.state = mappers::parse_account_state(*s);
    }
    if (const auto s = opt_text(o, "state_before_block")) {
        obj.state_before_block = mappers::parse_account_state(*s);
    }
    obj.remote_id = opt_text(o, "remote_id");
    if (const boost::json::value* p = o.if_contains("payload"); p != nullptr && p->is_object()) {
        obj.payload = p->as_object();
    }
    obj.delivered_version = o.at("delivered_version").to_number<std::int64_t>();
    if (const auto s = opt_text(o, "delivered_state")) {
        obj.delivered_state = mappers::parse_account_state(*s);
    }
    obj.announced_invitation = opt_text(o, "announced_invitation");
    if (const auto cause = opt_text(o, "block_cause")) {
        obj.blocked_by_admin = mappers::is_admin_block_cause(*cause);
        obj.deleted_by_admin = *cause == "admin_delete";
        obj.blocked_for_scope = *cause == "left_scope";
    }
    if (const boost::json::value* i = o.if_contains("invitation"); i != nullptr && i->is_object()) {
        const boost::json::object& inv = i->as_object();
        obj.invitation = mappers::AppObject::OpenInvitation{
            std::string(inv.at("id").as_string()), inv.at("reminders_sent").to_number<int>(),
            std::string(inv.at("expires_at").as_string())};
    }
    return obj;
}

// A duration as the integer milliseconds parameter the SQL multiplies by interval '1 millisecond'.
inline std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()); }

}  // namespace scimbridge::db
