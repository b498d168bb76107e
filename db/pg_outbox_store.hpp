#pragma once
// PostgreSQL implementation of mappers::OutboxStore: claiming, completing and rescheduling
// deliveries through the functions of migration 0008 (one round trip each), and the reads the
// delivery worker needs.

#include "db/database.hpp"
#include "mappers/delivery.hpp"

namespace scimbridge::db {

// NOTIFY channel on which every transaction that enqueues deliveries wakes the workers.
inline constexpr const char* kOutboxChannel = "scim_bridge_outbox";

class PgOutboxStore final : public mappers::OutboxStore {
public:
    explicit PgOutboxStore(Database& db) : db_(db) {}

    std::vector<mappers::DeliveryJob> claim(std::size_t max, std::chrono::milliseconds lease,
                                            std::size_t app_cap,
                                            const std::vector<std::string>& exclude) override;
    std::size_t release_expired_leases() override;
    std::optional<mappers::StoredApp> load_app(const std::string& tenant_id,
                                               const std::string& app_id) override;
    std::optional<mappers::AppObject> app_object(const std::string& tenant_id, const std::string& app_id,
                                                 const std::string& resource_id) override;
    mappers::MemberDiff member_diff(const std::string& tenant_id, const std::string& app_id,
                                    const std::string& group_id) override;
    bool complete(const mappers::DeliveryJob& job, const mappers::Completion& completion) override;
    bool reschedule(const mappers::DeliveryJob& job, const mappers::Reschedule& plan) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
