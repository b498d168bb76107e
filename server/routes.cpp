// The route table: the API's table of contents, one line per (method, path, access, handler).
#include "server/routes.hpp"

namespace scimbridge::server {

std::vector<Route> make_routes(const Handlers& h) {
    const auto bind = [](const auto& handler, auto method) {
        return [&handler, method](const RequestContext& ctx) { return (handler.*method)(ctx); };
    };
    using V = http::verb;
    using A = Access;
    return {
        {V::get, "/healthz", A::kPublic, bind(h.health, &HealthHandler::healthz)},
        {V::get, "/readyz", A::kPublic, bind(h.health, &HealthHandler::readyz)},
        {V::get, "/metrics", A::kPublic, bind(h.health, &HealthHandler::metrics)},
        {V::get, "/admin/v1/whoami", A::kToken, bind(h.health, &HealthHandler::whoami)},
    };
}

}  // namespace scimbridge::server
