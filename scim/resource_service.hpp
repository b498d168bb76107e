#pragma once
// Use cases on Users and Groups: create, get, replace, delete, list. Rules live here (schema
// validation, immutability, ETag preconditions, meta); storage behind ResourceStore.

#include "scim/dialect.hpp"
#include "scim/patch.hpp"
#include "scim/resource.hpp"
#include "scim/resource_store.hpp"
#include "scim/schema.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace scimbridge::scim {

// Who is asking, in which tenant, with which schemas and how forgiving to be.
struct CallContext {
    std::string tenant_id;
    const SchemaRegistry* registry = &SchemaRegistry::core();
    Leniency leniency = Leniency::kStrict;
    Dialect dialect{false, false, "generic"};  // strict unless the caller says otherwise
    RewriteLog* rewrites = nullptr;             // where dialect rewrites are noted, if anywhere
};

struct ListParams {
    std::string filter;            // empty: none
    std::int64_t start_index = 1;
    std::int64_t count = 100;
    LoadOptions load;
    std::string sort_by;           // empty: by id
    bool descending = false;       // sortOrder=descending
    std::optional<std::string> cursor;  // present (maybe empty): RFC 9865 cursor paging
    boost::json::storage_ptr storage;   // ListRequest::storage
};

struct ListLimits {
    std::int64_t default_count = 100;
    std::int64_t max_count = 1000;
    std::int64_t cursor_timeout_seconds = 3600;
};

// "W/\"3\"" for version 3.
std::string etag_of(std::int64_t version);
// Whether an If-Match / If-None-Match header value names `version` ("*" names any).
bool etag_matches(std::string_view header, std::int64_t version);

class ResourceService {
public:
    ResourceService(ResourceStore& store, const Clock& clock, IdGenerator& ids,
                    ListLimits limits = {})
        : store_(store), clock_(clock), ids_(ids), limits_(limits) {}

    Result<StoredResource> create(const CallContext& ctx, ResourceKind kind,
                                  const boost::json::value& body);
    Result<StoredResource> get(const CallContext& ctx, ResourceKind kind, const std::string& id,
                               const LoadOptions& load);
    // if_match: the If-Match header, empty when absent.
    Result<StoredResource> replace(const CallContext& ctx, ResourceKind kind,
                                   const std::string& id, const boost::json::value& body,
                                   std::string_view if_match, const LoadOptions& load);
    // RFC 7644 §3.5.2, after the dialect normaliser. Group member changes run set-based in the
    // store; a PATCH that changes nothing writes nothing. `load`: what the result carries.
    Result<StoredResource> patch(const CallContext& ctx, ResourceKind kind, const std::string& id,
                                 const boost::json::value& body, std::string_view if_match,
                                 const LoadOptions& load);
    Result<void> remove(const CallContext& ctx, ResourceKind kind, const std::string& id,
                        std::string_view if_match);
    Result<Page> list(const CallContext& ctx, ResourceKind kind, const ListParams& params);

    const ListLimits& limits() const { return limits_; }

private:
    // The stored resource a write starts from: 404 when gone, 412 when If-Match names another
    // version.
    Result<StoredResource> read_for_write(const CallContext& ctx, ResourceKind kind,
                                          const std::string& id, std::string_view if_match);

    ResourceStore& store_;
    const Clock& clock_;
    IdGenerator& ids_;
    ListLimits limits_;
};

// The resource as a client sees it: schemas, id, externalId, attributes, members or groups,
// meta (resourceType, created, lastModified, location, version). base_url ends before "/Users".
// Built in the storage of r.document; pass r as an rvalue and its values are moved, not copied.
boost::json::object render_resource(const ResourceType& type, StoredResource r,
                                    const std::string& base_url);

// Filter attribute paths must name attributes of the resource type (400 invalidFilter).
Result<void> check_filter_attributes(const SchemaRegistry& registry, const ResourceType& type,
                                     const Filter& filter);

}  // namespace scimbridge::scim
