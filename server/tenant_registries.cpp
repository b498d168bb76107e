#include "server/tenant_registries.hpp"

#include "server/log.hpp"

namespace scimbridge::server {

std::shared_ptr<const scim::SchemaRegistry> TenantRegistries::get(const std::string& tenant_id) {
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
        const std::lock_guard lock(mutex_);
        const auto it = cache_.find(tenant_id);
        if (it != cache_.end() && it->second.expires > now) {
            return it->second.registry;
        }
        generation = generation_;
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
    const std::lock_guard lock(mutex_);
    if (generation == generation_) {  // no invalidation raced with this load
        cache_[tenant_id] = Entry{registry, now + ttl_};
    }
    return registry;
}

void TenantRegistries::invalidate(const std::string& tenant_id) {
    const std::lock_guard lock(mutex_);
    cache_.erase(tenant_id);
    ++generation_;
}

void TenantRegistries::invalidate_all() {
    const std::lock_guard lock(mutex_);
    cache_.clear();
    ++generation_;
}

}  // namespace scimbridge::server
