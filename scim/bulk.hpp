#pragma once
// Bulk (RFC 7644 §3.7): many operations in one request, each its own transaction, with bulkId
// references between them ("bulkId:qwerty" in a path or anywhere in data, also forward ones).
// Operations run in an order that satisfies their references; a circular reference is a 409 for
// every operation in the cycle; failOnErrors stops after that many failures.

#include "scim/resource_service.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

namespace scimbridge::scim {

inline constexpr std::string_view kBulkRequestSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
inline constexpr std::string_view kBulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

struct BulkLimits {
    std::size_t max_operations = 1000;
};

struct BulkOperationResult {
    std::string method;                    // as RFC 7644 writes it: POST, PUT, PATCH, DELETE
    std::optional<std::string> bulk_id;
    std::optional<std::string> location;   // the resource's URL, when there is one
    std::optional<std::string> version;    // its ETag after the operation
    int status = 200;
    std::optional<Error> error;            // the per-operation error body
};

class BulkService {
public:
    explicit BulkService(ResourceService& resources) : resources_(resources) {}

    // 413 when the request holds more than max_operations; 400 when it is not a BulkRequest.
    // Otherwise the results of the operations that ran, in request order. base_url ends before
    // "/Users" (for locations).
    Result<std::vector<BulkOperationResult>> run(const CallContext& ctx, const boost::json::value& body,
                                                 const BulkLimits& limits, const std::string& base_url);

private:
    ResourceService& resources_;
};

// The BulkResponse body.
boost::json::object to_json(const std::vector<BulkOperationResult>& results);

}  // namespace scimbridge::scim
