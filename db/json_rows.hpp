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

// The first column of the first row, parsed; nullopt when there is no row or it is NULL.
inline std::optional<boost::json::value> json_row(Connection& c, const std::string& sql, const Params& params) {
    const auto row = query_row(c, sql, params);
    if (!row || row->empty() || !row->at(0)) {
        return std::nullopt;
    }
    return boost::json::parse(*row->at(0));
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

// A duration as the integer milliseconds parameter the SQL multiplies by interval '1 millisecond'.
inline std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()); }

}  // namespace scimbridge::db
