#pragma once
// PostgreSQL implementation of mappers::ReconcileStore: batched reads of what each app holds
// (app_object, open deliveries, told group members) and the repairs of one reconciliation batch
// in one transaction.

#include "db/database.hpp"
#include "mappers/reconcile.hpp"

namespace scimbridge::db {

class PgReconcileStore final : public mappers::ReconcileStore {
public:
    explicit PgReconcileStore(Database& db) : db_(db) {}

    std::unordered_map<std::string, mappers::Recorded> recorded(const std::string& tenant_id,
                                                                const std::string& app_id,
                                                                scim::ResourceKind kind,
                                                                const std::vector<std::string>& ids,
                                                                const std::string& since) override;
    mappers::GonePage gone(const std::string& tenant_id, const std::string& app_id, const std::string& after,
                           std::size_t limit) override;
    std::unordered_map<std::string, std::string> user_remote_ids(const std::string& tenant_id,
                                                                 const std::string& app_id) override;
    void repair(const std::string& tenant_id, const std::string& app_id,
                const std::vector<mappers::Repair>& repairs) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
