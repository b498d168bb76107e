#pragma once
// Each tenant's schema registry (core + its custom extensions), built from the SchemaStore and
// cached. Changes reach every server through NOTIFY (invalidate); a TTL bounds staleness.

#include "scim/schema.hpp"

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
    struct Entry {
        std::shared_ptr<const scim::SchemaRegistry> registry;
        std::chrono::steady_clock::time_point expires;
    };
    scim::SchemaStore& store_;
    std::chrono::milliseconds ttl_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> cache_;
    std::uint64_t generation_ = 0;  // bumped by invalidations; a slower load must not re-add
};

}  // namespace scimbridge::server
