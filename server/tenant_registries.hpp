#pragma once
// Each tenant's schema registry (core + its custom extensions), built from the SchemaStore and
// cached. Changes reach every server through NOTIFY (invalidate); a TTL bounds staleness.

#include "scim/schema.hpp"
#include "server/ttl_cache.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace scimbridge::server {

class TenantRegistries {
public:
    TenantRegistries(scim::SchemaStore& store, std::chrono::milliseconds ttl)
        : store_(store), ttl_(ttl) {}

    std::shared_ptr<const scim::SchemaRegistry> get(const std::string& tenant_id);
    void invalidate(const std::string& tenant_id);
    void invalidate_all();

private:
    scim::SchemaStore& store_;
    std::chrono::milliseconds ttl_;
    TtlCache<std::shared_ptr<const scim::SchemaRegistry>> cache_{10000};
};

}  // namespace scimbridge::server
