#pragma once
// PostgreSQL implementation of mappers::AppStore (apps, accounts, deliveries, replay, audit).

#include "db/database.hpp"
#include "mappers/app_store.hpp"

namespace scimbridge::db {

class PgAppStore final : public mappers::AppStore {
public:
    explicit PgAppStore(Database& db) : db_(db) {}

    scim::Result<mappers::StoredApp> create_app(const std::string& tenant_id,
                                                const mappers::AppDefinition& app,
                                                const std::string& actor) override;
    std::vector<mappers::StoredApp> list_apps(const std::string& tenant_id) override;
    std::optional<mappers::StoredApp> get_app(const std::string& tenant_id,
                                              const std::string& app_id) override;
    scim::Result<mappers::StoredApp> update_app(const std::string& tenant_id, const std::string& app_id,
                                                const mappers::AppDefinition& app,
                                                std::optional<std::int64_t> expected_version,
                                                const std::string& actor) override;
    scim::Result<void> delete_app(const std::string& tenant_id, const std::string& app_id,
                                  const std::string& actor) override;
    mappers::RowPage accounts(const std::string& tenant_id, const mappers::AccountQuery& query) override;
    mappers::RowPage deliveries(const std::string& tenant_id, const mappers::DeliveryQuery& query) override;
    scim::Result<std::int64_t> replay(const std::string& tenant_id, const mappers::ReplayRequest& request,
                                      const std::string& actor) override;
    mappers::RowPage audit(const std::string& tenant_id, const mappers::AuditQuery& query) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
