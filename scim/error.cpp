#include "scim/error.hpp"

#include <boost/json/array.hpp>

#include <utility>

namespace scimbridge::scim {

std::string_view to_string(ScimType type) {
    switch (type) {
        case ScimType::kNone: return "";
        case ScimType::kInvalidFilter: return "invalidFilter";
        case ScimType::kTooMany: return "tooMany";
        case ScimType::kUniqueness: return "uniqueness";
        case ScimType::kMutability: return "mutability";
        case ScimType::kInvalidSyntax: return "invalidSyntax";
        case ScimType::kInvalidPath: return "invalidPath";
        case ScimType::kNoTarget: return "noTarget";
        case ScimType::kInvalidValue: return "invalidValue";
        case ScimType::kInvalidVers: return "invalidVers";
        case ScimType::kSensitive: return "sensitive";
        case ScimType::kInvalidCursor: return "invalidCursor";
        case ScimType::kExpiredCursor: return "expiredCursor";
    }
    return "";
}

namespace {
Error make(int status, ScimType type, std::string detail) {
    return Error{status, type, std::move(detail)};
}
}  // namespace

Error Error::invalid_syntax(std::string d) { return make(400, ScimType::kInvalidSyntax, std::move(d)); }
Error Error::invalid_value(std::string d) { return make(400, ScimType::kInvalidValue, std::move(d)); }
Error Error::invalid_filter(std::string d) { return make(400, ScimType::kInvalidFilter, std::move(d)); }
Error Error::too_many(std::string d) { return make(400, ScimType::kTooMany, std::move(d)); }
Error Error::mutability(std::string d) { return make(400, ScimType::kMutability, std::move(d)); }
Error Error::invalid_path(std::string d) { return make(400, ScimType::kInvalidPath, std::move(d)); }
Error Error::no_target(std::string d) { return make(400, ScimType::kNoTarget, std::move(d)); }
Error Error::invalid_cursor(std::string d) { return make(400, ScimType::kInvalidCursor, std::move(d)); }
Error Error::expired_cursor(std::string d) { return make(400, ScimType::kExpiredCursor, std::move(d)); }
Error Error::bad_request(std::string d) { return make(400, ScimType::kNone, std::move(d)); }
Error Error::unauthorized(std::string d) { return make(401, ScimType::kNone, std::move(d)); }
Error Error::forbidden(std::string d) { return make(403, ScimType::kNone, std::move(d)); }
Error Error::not_found(std::string d) { return make(404, ScimType::kNone, std::move(d)); }
Error Error::method_not_allowed(std::string d) { return make(405, ScimType::kNone, std::move(d)); }
Error Error::uniqueness(std::string d) { return make(409, ScimType::kUniqueness, std::move(d)); }
Error Error::precondition_failed(std::string d) { return make(412, ScimType::kNone, std::move(d)); }
Error Error::conflict(std::string d) { return make(409, ScimType::kNone, std::move(d)); }
Error Error::payload_too_large(std::string d) { return make(413, ScimType::kNone, std::move(d)); }
Error Error::unsupported_media_type(std::string d) { return make(415, ScimType::kNone, std::move(d)); }
Error Error::header_too_large(std::string d) { return make(431, ScimType::kNone, std::move(d)); }
Error Error::unavailable(std::string d) { return make(503, ScimType::kNone, std::move(d)); }

Error Error::internal(std::string_view request_id) {
    std::string detail = "internal error";
    if (!request_id.empty()) {
        detail.append("; request id ").append(request_id);
    }
    return make(500, ScimType::kNone, std::move(detail));
}

boost::json::object to_json(const Error& error) {
    boost::json::object body;
    body["schemas"] = boost::json::array{kErrorSchema};
    body["status"] = std::to_string(error.status);
    if (error.scim_type != ScimType::kNone) {
        body["scimType"] = to_string(error.scim_type);
    }
    if (!error.detail.empty()) {
        body["detail"] = error.detail;
    }
    return body;
}

}  // namespace scimbridge::scim
