#pragma once
// /scim/v2: Users and Groups (POST, GET, PUT, DELETE, list) and discovery
// (ServiceProviderConfig, ResourceTypes, Schemas). Each method: decode → service → render.

#include "scim/bulk.hpp"
#include "scim/resource_service.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"
#include "server/tenant_registries.hpp"

#include <string>

namespace scimbridge::server {

struct ScimOptions {
    std::string public_base_url;                        // empty: from the Host header
    std::vector<std::string> patch_no_content{"*:Group"};  // see Config::patch_no_content
    std::size_t bulk_max_operations = 1000;
    std::size_t max_payload_bytes = 1024 * 1024;        // the body limit, advertised for Bulk
};

class ScimHandler final {
public:
    ScimHandler(scim::ResourceService& service, TenantRegistries& registries, ScimOptions options,
                Metrics* metrics = nullptr)
        : service_(service), bulk_(service), registries_(registries), options_(std::move(options)),
          metrics_(metrics) {}
    ScimHandler(scim::ResourceService& service, TenantRegistries& registries,
                std::string public_base_url)
        : ScimHandler(service, registries, ScimOptions{std::move(public_base_url)}) {}

    Response create(const RequestContext& ctx, scim::ResourceKind kind) const;
    Response get(const RequestContext& ctx, scim::ResourceKind kind) const;
    Response replace(const RequestContext& ctx, scim::ResourceKind kind) const;
    Response remove(const RequestContext& ctx, scim::ResourceKind kind) const;
    // RFC 7644 §3.5.2 through the caller's dialect; 200 with the resource or 204 (ScimOptions).
    Response patch(const RequestContext& ctx, scim::ResourceKind kind) const;
    // POST /scim/v2/Bulk (RFC 7644 §3.7).
    Response bulk(const RequestContext& ctx) const;
    Response list(const RequestContext& ctx, scim::ResourceKind kind) const;
    // POST .../.search (RFC 7644 §3.4.3): the same query, from a SearchRequest body.
    Response search(const RequestContext& ctx, scim::ResourceKind kind) const;
    // GET /scim/v2 and POST /scim/v2/.search (RFC 7644 §3.4.2.1): Users, then Groups.
    Response root_list(const RequestContext& ctx) const;
    Response root_search(const RequestContext& ctx) const;

    Response service_provider_config(const RequestContext& ctx) const;
    Response resource_types(const RequestContext& ctx) const;
    Response resource_type(const RequestContext& ctx) const;
    Response schemas(const RequestContext& ctx) const;
    Response schema(const RequestContext& ctx) const;

private:
    std::string base_url(const RequestContext& ctx) const;
    Response run_list(const RequestContext& ctx, scim::ResourceKind kind,
                      const scim::ListParams& params, const scim::Projection& projection) const;
    Response run_root(const RequestContext& ctx, const scim::ListParams& params,
                      const scim::Projection& projection) const;
    // List parameters from the query string / a SearchRequest body (400 on bad values).
    scim::Result<std::pair<scim::ListParams, scim::Projection>> params_from_query(
        const RequestContext& ctx) const;
    scim::Result<std::pair<scim::ListParams, scim::Projection>> params_from_body(
        const RequestContext& ctx) const;

    // The caller's tenant, schemas (kept alive for the request), leniency and dialect. The
    // rewrites the request needed are counted when the Call ends.
    struct Call {
        std::shared_ptr<const scim::SchemaRegistry> registry;
        scim::CallContext context;
        std::unique_ptr<scim::RewriteLog> rewrites = std::make_unique<scim::RewriteLog>();
        const RequestContext* request = nullptr;
        Metrics* metrics = nullptr;
        Call() = default;
        Call(Call&&) = default;
        ~Call();
        const scim::ResourceType& type(scim::ResourceKind kind) const;
    };
    Call call(const RequestContext& ctx) const;

    scim::ResourceService& service_;
    mutable scim::BulkService bulk_;
    TenantRegistries& registries_;
    ScimOptions options_;
    Metrics* metrics_;
};

}  // namespace scimbridge::server
