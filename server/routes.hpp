#pragma once

#include "server/handlers/admin_handler.hpp"
#include "server/handlers/claim_handler.hpp"
#include "server/handlers/lifecycle_admin_handler.hpp"
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
    const LifecycleAdminHandler* lifecycle = nullptr;  // account lifecycle and schedules
    const ClaimHandler* claim = nullptr;               // claim pages and app callbacks (public)
};

std::vector<Route> make_routes(const Handlers& handlers);

}  // namespace scimbridge::server
