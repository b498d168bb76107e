#pragma once
// /scim/v2: Users and Groups (POST, GET, PUT, DELETE, list) and discovery
// (ServiceProviderConfig, ResourceTypes, Schemas). Each method: decode → service → render.

#include "scim/resource_service.hpp"
#include "server/router.hpp"
#include "server/tenant_registries.hpp"

#include <string>

namespace scimbridge::server {

class ScimHandler final {
public:
    ScimHandler(scim::ResourceService& service, TenantRegistries& registries,
                std::string public_base_url)
        : service_(service), registries_(registries), public_base_url_(std::move(public_base_url)) {}

    Response create(const RequestContext& ctx, scim::ResourceKind kind) const;
    Response get(const RequestContext& ctx, scim::ResourceKind kind) const;
    Response replace(const RequestContext& ctx, scim::ResourceKind kind) const;
    Response remove(const RequestContext& ctx, scim::ResourceKind kind) const;
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

    // The caller's tenant, schemas (kept alive for the request) and leniency.
    struct Call {
        std::shared_ptr<const scim::SchemaRegistry> registry;
        scim::CallContext context;
        const scim::ResourceType& type(scim::ResourceKind kind) const;
    };
    Call call(const RequestContext& ctx) const;

    scim::ResourceService& service_;
    TenantRegistries& registries_;
    std::string public_base_url_;
};

}  // namespace scimbridge::server
