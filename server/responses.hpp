#pragma once
// Every response body the edge writes is made here: SCIM errors (RFC 7644 §3.12), JSON documents
// and plain text. Headers shared by all responses are set in one place.

#include "scim/error.hpp"
#include "server/http_types.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace scimbridge::server {

inline constexpr const char* kScimContentType = "application/scim+json";

Response render_error(const scim::Error& error, unsigned version, bool keep_alive);
Response render_json(http::status status, const boost::json::value& body, unsigned version,
                     bool keep_alive, const char* content_type = kScimContentType);
// An object body is serialised as it is (through the value overload it would be copied first).
Response render_json(http::status status, const boost::json::object& body, unsigned version,
                     bool keep_alive, const char* content_type = kScimContentType);
Response render_text(http::status status, std::string body, const char* content_type,
                     unsigned version, bool keep_alive);

}  // namespace scimbridge::server
