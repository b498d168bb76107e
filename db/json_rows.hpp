#pragma once
// db/-internal: what the stores share for statements that answer one JSON document (built with
// json_build_object / json_agg in SQL, so a whole page or object is one round trip), and for the
// parameters they bind.

#include "db/database_impl.hpp"

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

// A duration as the integer milliseconds parameter the SQL multiplies by interval '1 millisecond'.
inline std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()); }

}  // namespace scimbridge::db
