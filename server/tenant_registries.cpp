#include "server/tenant_registries.hpp"

#include "server/log.hpp"

namespace scimbridge::server {

std::shared_ptr<const scim::SchemaRegistry> TenantRegistries::get(const std::string& tenant_id) {
    const auto now = std::chrono::steady_clock::now();
    auto cached = cache_.find(tenant_id, now);
    if (cached.hit) {
        return *cached.hit;
    }
    const auto schemas = store_.list_schemas(tenant_id);
    std::shared_ptr<const scim::SchemaRegistry> registry;
    if (schemas.empty()) {
        // The shared core registry; no copy, nothing to free.
        registry = std::shared_ptr<const scim::SchemaRegistry>(&scim::SchemaRegistry::core(),
                                                               [](const scim::SchemaRegistry*) {});
    } else {
        auto built = scim::build_registry(schemas);
        if (built) {
            registry = std::make_shared<const scim::SchemaRegistry>(std::move(*built));
        } else {
            // Stored schemas were validated on the way in; if one no longer builds, serve the
            // core rather than fail every request, and say so.
            log::error("tenant schemas do not build; serving the core schemas",
                       {{"tenant_id", tenant_id}, {"error", built.error().detail}});
            registry = std::shared_ptr<const scim::SchemaRegistry>(
                &scim::SchemaRegistry::core(), [](const scim::SchemaRegistry*) {});
        }
    }
    cache_.store(tenant_id, registry, now + ttl_, cached.generation);
    return registry;
}

void TenantRegistries::invalidate(const std::string& tenant_id) { cache_.invalidate(tenant_id); }

void TenantRegistries::invalidate_all() { cache_.invalidate_all(); }

}  // namespace scimbridge::server
