#pragma once
// PostgreSQL implementation of mappers::DirectoryStore.

#include "db/database.hpp"
#include "mappers/directory_store.hpp"

namespace scimbridge::db {

class PgDirectoryStore final : public mappers::DirectoryStore {
public:
    explicit PgDirectoryStore(Database& db) : db_(db) {}

    scim::Result<mappers::DirectorySourceRow> create_source(const std::string& tenant_id, const std::string& name,
                                                            const boost::json::object& config,
                                                            const std::string& actor) override;
    std::vector<mappers::DirectorySourceRow> list_sources(const std::string& tenant_id) override;
    std::optional<mappers::DirectorySourceRow> source(const std::string& source_id) override;
    scim::Result<void> delete_source(const std::string& tenant_id, const std::string& source_id,
                                     const std::string& actor) override;
    void save_state(const std::string& source_id, const std::string& state) override;
    std::vector<mappers::CanonicalEntry> canonical(const std::string& tenant_id, scim::ResourceKind kind) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
