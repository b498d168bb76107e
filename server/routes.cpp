// The route table: the API's table of contents, one line per (method, path, access, handler).
// Literal segments match case-insensitively, so /scim/v2/users reaches /scim/v2/Users.
#include "server/routes.hpp"

namespace scimbridge::server {

std::vector<Route> make_routes(const Handlers& h) {
    const auto bind = [](const auto& handler, auto method) {
        return [&handler, method](const RequestContext& ctx) { return (handler.*method)(ctx); };
    };
    const auto bind_kind = [](const ScimHandler& handler, auto method, scim::ResourceKind kind) {
        return [&handler, method, kind](const RequestContext& ctx) { return (handler.*method)(ctx, kind); };
    };
    using V = http::verb;
    using A = Access;
    using K = scim::ResourceKind;
    const ScimHandler& s = h.scim;
    std::vector<Route> routes{
        {V::get, "/healthz", A::kPublic, bind(h.health, &HealthHandler::healthz)},
        {V::get, "/readyz", A::kPublic, bind(h.health, &HealthHandler::readyz)},
        {V::get, "/metrics", A::kPublic, bind(h.health, &HealthHandler::metrics)},
        {V::get, "/admin/v1/whoami", A::kToken, bind(h.health, &HealthHandler::whoami)},
        {V::get, "/admin/v1/dialect-rewrites", A::kAdmin, bind(h.health, &HealthHandler::dialect_rewrites)},

        {V::get, "/scim/v2", A::kToken, bind(s, &ScimHandler::root_list)},
        {V::post, "/scim/v2/.search", A::kToken, bind(s, &ScimHandler::root_search)},
        {V::post, "/scim/v2/Users/.search", A::kToken, bind_kind(s, &ScimHandler::search, K::kUser)},
        {V::post, "/scim/v2/Groups/.search", A::kToken, bind_kind(s, &ScimHandler::search, K::kGroup)},
        {V::post, "/scim/v2/Users", A::kToken, bind_kind(s, &ScimHandler::create, K::kUser)},
        {V::get, "/scim/v2/Users", A::kToken, bind_kind(s, &ScimHandler::list, K::kUser)},
        {V::get, "/scim/v2/Users/{id}", A::kToken, bind_kind(s, &ScimHandler::get, K::kUser)},
        {V::put, "/scim/v2/Users/{id}", A::kToken, bind_kind(s, &ScimHandler::replace, K::kUser)},
        {V::patch, "/scim/v2/Users/{id}", A::kToken, bind_kind(s, &ScimHandler::patch, K::kUser)},
        {V::delete_, "/scim/v2/Users/{id}", A::kToken, bind_kind(s, &ScimHandler::remove, K::kUser)},

        {V::post, "/scim/v2/Groups", A::kToken, bind_kind(s, &ScimHandler::create, K::kGroup)},
        {V::get, "/scim/v2/Groups", A::kToken, bind_kind(s, &ScimHandler::list, K::kGroup)},
        {V::get, "/scim/v2/Groups/{id}", A::kToken, bind_kind(s, &ScimHandler::get, K::kGroup)},
        {V::put, "/scim/v2/Groups/{id}", A::kToken, bind_kind(s, &ScimHandler::replace, K::kGroup)},
        {V::patch, "/scim/v2/Groups/{id}", A::kToken, bind_kind(s, &ScimHandler::patch, K::kGroup)},
        {V::delete_, "/scim/v2/Groups/{id}", A::kToken, bind_kind(s, &ScimHandler::remove, K::kGroup)},
        {V::post, "/scim/v2/Bulk", A::kToken, bind(s, &ScimHandler::bulk)},

        {V::get, "/scim/v2/ServiceProviderConfig", A::kToken, bind(s, &ScimHandler::service_provider_config)},
        {V::get, "/scim/v2/ResourceTypes", A::kToken, bind(s, &ScimHandler::resource_types)},
        {V::get, "/scim/v2/ResourceTypes/{id}", A::kToken, bind(s, &ScimHandler::resource_type)},
        {V::get, "/scim/v2/Schemas", A::kToken, bind(s, &ScimHandler::schemas)},
        {V::get, "/scim/v2/Schemas/{id}", A::kToken, bind(s, &ScimHandler::schema)},
    };
    if (h.admin != nullptr) {
        const AdminHandler& a = *h.admin;
        std::vector<Route> admin{
            {V::get, "/admin/v1/apps", A::kAdmin, bind(a, &AdminHandler::list_apps)},
            {V::post, "/admin/v1/apps", A::kAdmin, bind(a, &AdminHandler::create_app)},
            {V::get, "/admin/v1/apps/{id}", A::kAdmin, bind(a, &AdminHandler::get_app)},
            {V::patch, "/admin/v1/apps/{id}", A::kAdmin, bind(a, &AdminHandler::update_app)},
            {V::delete_, "/admin/v1/apps/{id}", A::kAdmin, bind(a, &AdminHandler::delete_app)},
            {V::post, "/admin/v1/apps/{id}/rotate-secret", A::kAdmin, bind(a, &AdminHandler::rotate_secret)},
            {V::post, "/admin/v1/apps/{id}/preview", A::kAdmin, bind(a, &AdminHandler::preview)},
            {V::get, "/admin/v1/accounts", A::kAdmin, bind(a, &AdminHandler::accounts)},
            {V::get, "/admin/v1/deliveries", A::kAdmin, bind(a, &AdminHandler::deliveries)},
            {V::post, "/admin/v1/deliveries/replay", A::kAdmin, bind(a, &AdminHandler::replay)},
            {V::get, "/admin/v1/audit", A::kAdmin, bind(a, &AdminHandler::audit)},
        };
        routes.insert(routes.end(), std::make_move_iterator(admin.begin()),
                      std::make_move_iterator(admin.end()));
    }
    if (h.lifecycle != nullptr) {
        const LifecycleAdminHandler& l = *h.lifecycle;
        std::vector<Route> lifecycle{
            {V::post, "/admin/v1/apps/{id}/invite-all", A::kAdmin, bind(l, &LifecycleAdminHandler::invite_all)},
            {V::get, "/admin/v1/apps/{id}/claim-links.csv", A::kAdmin, bind(l, &LifecycleAdminHandler::claim_links_csv)},
            {V::get, "/admin/v1/apps/{id}/access-codes.csv", A::kAdmin, bind(l, &LifecycleAdminHandler::access_codes_csv)},
            {V::post, "/admin/v1/apps/{id}/accounts/{user}/invite", A::kAdmin, bind(l, &LifecycleAdminHandler::invite)},
            {V::post, "/admin/v1/apps/{id}/accounts/{user}/block", A::kAdmin, bind(l, &LifecycleAdminHandler::block)},
            {V::post, "/admin/v1/apps/{id}/accounts/{user}/unblock", A::kAdmin, bind(l, &LifecycleAdminHandler::unblock)},
            {V::post, "/admin/v1/apps/{id}/accounts/{user}/approve", A::kAdmin, bind(l, &LifecycleAdminHandler::approve)},
            {V::post, "/admin/v1/apps/{id}/accounts/{user}/deny", A::kAdmin, bind(l, &LifecycleAdminHandler::deny)},
            {V::delete_, "/admin/v1/apps/{id}/accounts/{user}", A::kAdmin, bind(l, &LifecycleAdminHandler::remove)},
            {V::post, "/admin/v1/apps/{id}/accounts/{user}/access-code", A::kAdmin, bind(l, &LifecycleAdminHandler::issue_access_code)},
            {V::delete_, "/admin/v1/apps/{id}/accounts/{user}/access-code", A::kAdmin, bind(l, &LifecycleAdminHandler::revoke_access_code)},
            {V::get, "/admin/v1/directories", A::kAdmin, bind(l, &LifecycleAdminHandler::directories)},
            {V::post, "/admin/v1/directories", A::kAdmin, bind(l, &LifecycleAdminHandler::create_directory)},
            {V::delete_, "/admin/v1/directories/{id}", A::kAdmin, bind(l, &LifecycleAdminHandler::delete_directory)},
            {V::get, "/admin/v1/schedules", A::kAdmin, bind(l, &LifecycleAdminHandler::schedules)},
            {V::get, "/admin/v1/schedules/runs", A::kAdmin, bind(l, &LifecycleAdminHandler::schedule_runs)},
            {V::patch, "/admin/v1/schedules/{key}", A::kAdmin, bind(l, &LifecycleAdminHandler::configure_schedule)},
            {V::post, "/admin/v1/schedules/{key}/run", A::kAdmin, bind(l, &LifecycleAdminHandler::run_schedule)},
            {V::post, "/admin/v1/resync", A::kAdmin, bind(l, &LifecycleAdminHandler::resync)},
            {V::get, "/admin/v1/resync/diff", A::kAdmin, bind(l, &LifecycleAdminHandler::resync_diff)},
            {V::get, "/admin/v1/resync", A::kAdmin, bind(l, &LifecycleAdminHandler::resync_settings)},
            {V::patch, "/admin/v1/resync", A::kAdmin, bind(l, &LifecycleAdminHandler::configure_resync)},
        };
        routes.insert(routes.end(), std::make_move_iterator(lifecycle.begin()),
                      std::make_move_iterator(lifecycle.end()));
    }
    if (h.claim != nullptr) {
        const ClaimHandler& c = *h.claim;
        std::vector<Route> claim{
            {V::get, "/claim", A::kPublic, bind(c, &ClaimHandler::code_form)},
            {V::post, "/claim", A::kPublic, bind(c, &ClaimHandler::redeem_code)},
            {V::get, "/claim/{token}", A::kPublic, bind(c, &ClaimHandler::show)},
            {V::post, "/claim/{token}", A::kPublic, bind(c, &ClaimHandler::accept)},
            {V::post, "/callbacks/v1/apps/{id}", A::kPublic, bind(c, &ClaimHandler::app_callback)},
        };
        routes.insert(routes.end(), std::make_move_iterator(claim.begin()),
                      std::make_move_iterator(claim.end()));
    }
    return routes;
}

}  // namespace scimbridge::server
