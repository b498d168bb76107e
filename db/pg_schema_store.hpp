#pragma once
// PostgreSQL implementation of scim::SchemaStore (tenants' custom extension schemas).

#include "db/database.hpp"
#include "scim/schema.hpp"

namespace scimbridge::db {

// NOTIFY channel on which add_schema announces the tenant whose schemas changed.
inline constexpr const char* kSchemaChangedChannel = "scim_bridge_schema_changed";

class PgSchemaStore final : public scim::SchemaStore {
public:
    explicit PgSchemaStore(Database& db) : db_(db) {}
    std::vector<scim::TenantSchema> list_schemas(const std::string& tenant_id) override;
    scim::Result<std::string> add_schema(const std::string& tenant_id,
                                         const scim::TenantSchema& schema) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
