#pragma once
// Operability endpoints: /healthz (the process answers), /readyz (the database is reachable and
// migrated), /metrics (Prometheus text), and /admin/v1/whoami (which tenant a token belongs to).

#include "server/metrics.hpp"
#include "server/router.hpp"

#include <functional>

namespace scimbridge::server {

class HealthHandler final {
public:
    HealthHandler(std::function<bool()> database_ready, const Metrics& metrics)
        : database_ready_(std::move(database_ready)), metrics_(metrics) {}

    Response healthz(const RequestContext& ctx) const;
    Response readyz(const RequestContext& ctx) const;
    Response metrics(const RequestContext& ctx) const;
    Response whoami(const RequestContext& ctx) const;
    // The IdP dialect rewrites the caller's tenant needed, per source (since this process
    // started; the same counts as scim_bridge_dialect_rewrites_total).
    Response dialect_rewrites(const RequestContext& ctx) const;

private:
    std::function<bool()> database_ready_;
    const Metrics& metrics_;
};

}  // namespace scimbridge::server
