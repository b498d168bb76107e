#include "server/handlers/health_handler.hpp"

#include "server/responses.hpp"

namespace scimbridge::server {

Response HealthHandler::healthz(const RequestContext& ctx) const {
    return render_json(http::status::ok, boost::json::object{{"status", "ok"}}, ctx.request.version(),
                       ctx.request.keep_alive(), "application/json");
}

Response HealthHandler::readyz(const RequestContext& ctx) const {
    const bool ready = database_ready_();
    return render_json(ready ? http::status::ok : http::status::service_unavailable,
                       boost::json::object{{"status", ready ? "ready" : "not ready"},
                        {"database", ready ? "ok" : "unreachable or not migrated"}},
                       ctx.request.version(), ctx.request.keep_alive(), "application/json");
}

Response HealthHandler::metrics(const RequestContext& ctx) const {
    return render_text(http::status::ok, metrics_.render(), "text/plain; version=0.0.4",
                       ctx.request.version(), ctx.request.keep_alive());
}

Response HealthHandler::whoami(const RequestContext& ctx) const {
    const Principal& p = *ctx.principal;
    return render_json(http::status::ok,
                       boost::json::object{{"tenant", p.tenant_name},
                        {"tenantId", p.tenant_id},
                        {"tokenId", p.token_id},
                        {"kind", scim::to_string(p.kind)},
                        {"source", p.source},
                        {"strict", p.strict},
                        {"lenient", p.lenient}},
                       ctx.request.version(), ctx.request.keep_alive(), "application/json");
}

Response HealthHandler::dialect_rewrites(const RequestContext& ctx) const {
    boost::json::array items;
    for (const Metrics::RewriteCount& r : metrics_.rewrites_of(ctx.principal->tenant_id)) {
        items.push_back(boost::json::object{
            {"source", r.source}, {"rewrite", r.rewrite}, {"requests", r.requests}});
    }
    return render_json(http::status::ok,
                       boost::json::object{{"tenant", ctx.principal->tenant_name}, {"rewrites", std::move(items)}},
                       ctx.request.version(), ctx.request.keep_alive(), "application/json");
}

}  // namespace scimbridge::server
