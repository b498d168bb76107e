#pragma once

#include "server/handlers/admin_handler.hpp"
#include "server/handlers/health_handler.hpp"
#include "server/handlers/scim_handler.hpp"
#include "server/router.hpp"

#include <vector>

namespace scimbridge::server {

// The handlers the route table points at; owned by the composition root.
struct Handlers {
    const HealthHandler& health;
    const ScimHandler& scim;
    const AdminHandler* admin = nullptr;  // the fan-out admin API (absent in handler unit tests)
};

std::vector<Route> make_routes(const Handlers& handlers);

}  // namespace scimbridge::server
