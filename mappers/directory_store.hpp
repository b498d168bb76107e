#pragma once
// Storage of directory sources (the directories the bridge pulls) and the canonical entries a
// pull is compared with. db/pg_directory_store implements it.

#include "mappers/app_store.hpp"
#include "mappers/directory.hpp"
#include "scim/resource_store.hpp"
#include "scim/result.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace scimbridge::mappers {

struct DirectorySourceRow {
    std::string tenant_id;
    std::string id;
    std::string name;
    std::string kind;
    boost::json::object config;  // with credentials: never sent to clients
    std::string state;           // delta links between pulls
    bool enabled = true;
};

class DirectoryStore {
public:
    virtual ~DirectoryStore() = default;
    virtual scim::Result<DirectorySourceRow> create_source(const std::string& tenant_id, const std::string& name,
                                                           const boost::json::object& config,
                                                           const std::string& actor) = 0;
    virtual std::vector<DirectorySourceRow> list_sources(const std::string& tenant_id) = 0;
    virtual std::optional<DirectorySourceRow> source(const std::string& source_id) = 0;
    virtual scim::Result<void> delete_source(const std::string& tenant_id, const std::string& source_id,
                                             const std::string& actor) = 0;
    virtual void save_state(const std::string& source_id, const std::string& state) = 0;
    // Every user (with its document) or group (displayName and members) of the tenant.
    virtual std::vector<CanonicalEntry> canonical(const std::string& tenant_id, scim::ResourceKind kind) = 0;
};

}  // namespace scimbridge::mappers
