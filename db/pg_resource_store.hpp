#pragma once
// PostgreSQL implementation of scim::ResourceStore.

#include "db/database.hpp"
#include "scim/resource_store.hpp"
#include "scim/schema.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>

namespace scimbridge::db {

// Which tenants were last seen with a group that is a member of another. A user's groups are
// read flat (direct memberships, with a check in the same statement that no group nests) unless
// the tenant is remembered here; a flat read whose check fails is read again recursively. So the
// memory only picks the form tried first, and is never the reason for a wrong answer.
class NestingMemory {
public:
    bool nests(const std::string& tenant_id) const {
        const std::lock_guard lock(mutex_);
        return tenants_.contains(tenant_id);
    }
    void saw(const std::string& tenant_id, bool nests) {
        const std::lock_guard lock(mutex_);
        if (nests) {
            tenants_.insert(tenant_id);
        } else {
            tenants_.erase(tenant_id);
        }
    }

private:
    mutable std::mutex mutex_;
    std::unordered_set<std::string> tenants_;
};

class PgResourceStore final : public scim::ResourceStore {
public:
    PgResourceStore(Database& db, const scim::SchemaRegistry& registry)
        : db_(db), registry_(registry) {}

    // Called after every committed write (which may have enqueued deliveries): the server wakes
    // its delivery workers and has the NOTIFY sent for other processes. Set before use.
    void set_on_write(std::function<void()> on_write) { on_write_ = std::move(on_write); }

    scim::Result<scim::StoredResource> insert(const std::string& tenant_id,
                                              const scim::WriteRequest& w) override;
    scim::Result<scim::StoredResource> update(const std::string& tenant_id,
                                              const scim::WriteRequest& w) override;
    scim::Result<void> remove(const std::string& tenant_id, scim::ResourceKind kind,
                              const std::string& id, std::optional<std::int64_t> expected_version,
                              const std::string& timestamp) override;
    std::optional<scim::StoredResource> find(const std::string& tenant_id, scim::ResourceKind kind,
                                             const std::string& id,
                                             const scim::LoadOptions& load) override;
    std::vector<scim::StoredResource> find_many(const std::string& tenant_id, scim::ResourceKind kind,
                                                const std::vector<std::string>& ids,
                                                const scim::LoadOptions& load) override;
    scim::Result<scim::Page> list(const std::string& tenant_id,
                                  const scim::ListRequest& request) override;
    scim::Result<std::optional<scim::StoredResource>> patch_user_scalars(
        const std::string& tenant_id, const std::string& id, const scim::ScalarPatch& patch,
        const std::string& timestamp, const scim::LoadOptions& load) override;

private:
    Database& db_;
    const scim::SchemaRegistry& registry_;
    NestingMemory nesting_;
    std::function<void()> on_write_;

    template <class R>
    R written_then_tell(R result) {
        if (result && on_write_) {
            on_write_();
        }
        return result;
    }
};

// A PostgreSQL array literal ('{"a","b"}') for binding a list as one text parameter.
std::string pg_array_literal(const std::vector<std::string>& values);

// Whether text is a canonical UUID (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text);

}  // namespace scimbridge::db
