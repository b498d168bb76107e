#pragma once
// The one error type of the bridge. Every expected failure, wherever it is detected, travels as a
// scim::Error value and is rendered in one place (to_json) as an RFC 7644 §3.12 error body.

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace scimbridge::scim {

// RFC 7644 §3.12 Table 9 scimType keywords, plus kNone for errors that carry none.
enum class ScimType {
    kNone,
    kInvalidFilter,
    kTooMany,
    kUniqueness,
    kMutability,
    kInvalidSyntax,
    kInvalidPath,
    kNoTarget,
    kInvalidValue,
    kInvalidVers,
    kSensitive,
    kInvalidCursor,  // RFC 9865
    kExpiredCursor,  // RFC 9865
};

std::string_view to_string(ScimType type);

struct Error {
    int status = 500;
    ScimType scim_type = ScimType::kNone;
    std::string detail;  // written for the client; never an internal message

    // Not an aggregate on purpose: Result<int64_t> / Result<bool> must not be able to build an
    // Error from a lone number.
    Error() = default;
    Error(int status_code, ScimType type, std::string text)
        : status(status_code), scim_type(type), detail(std::move(text)) {}

    // 400
    static Error invalid_syntax(std::string detail);
    static Error invalid_value(std::string detail);
    static Error invalid_filter(std::string detail);
    static Error too_many(std::string detail);
    static Error mutability(std::string detail);
    static Error invalid_path(std::string detail);
    static Error no_target(std::string detail);
    static Error invalid_cursor(std::string detail);
    static Error expired_cursor(std::string detail);
    static Error bad_request(std::string detail);  // 400 without a scimType
    // 401, 403, 404, 405, 409, 412, 413, 415, 431
    static Error unauthorized(std::string detail);
    static Error forbidden(std::string detail);
    static Error not_found(std::string detail);
    static Error method_not_allowed(std::string detail);
    static Error uniqueness(std::string detail);
    static Error conflict(std::string detail);  // 409 without a scimType (Bulk: circular bulkIds)
    static Error precondition_failed(std::string detail);
    static Error payload_too_large(std::string detail);
    static Error unsupported_media_type(std::string detail);
    static Error header_too_large(std::string detail);
    // 5xx
    static Error internal(std::string_view request_id);
    static Error unavailable(std::string detail);
};

inline constexpr std::string_view kErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";

// {"schemas":[kErrorSchema], "status":"409", "scimType":"uniqueness", "detail":"..."};
// status is a string (RFC 7644 §3.12), scimType is omitted when there is none.
boost::json::object to_json(const Error& error);

}  // namespace scimbridge::scim
