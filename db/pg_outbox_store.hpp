#pragma once
// PostgreSQL implementation of mappers::OutboxStore: claiming, completing and rescheduling
// deliveries through the functions of migration 0008, and the reads the delivery worker needs.
// Completions are committed in groups: a worker that completes while another one's statement is
// running queues its completion, and the next statement records what is queued (each still
// fenced by its own lease token); two such statements run at once. Delivery bookkeeping commits asynchronously: a crash of
// PostgreSQL may forget the last fraction of a second of it, and what it forgets is delivered
// again (at least once; the event id stays the same), never lost. WAL order keeps a later
// completion from surviving an earlier one.

#include "db/database.hpp"
#include "mappers/delivery.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <vector>

namespace scimbridge::db {

// NOTIFY channel on which every transaction that enqueues deliveries wakes the workers.
inline constexpr const char* kOutboxChannel = "scim_bridge_outbox";

class PgOutboxStore final : public mappers::OutboxStore {
public:
    // `recorders`: how many completion statements may run at once (each on its own connection).
    explicit PgOutboxStore(Database& db, std::size_t recorders = 2)
        : db_(db), recorders_max_(std::max<std::size_t>(1, recorders)) {}

    std::vector<mappers::DeliveryJob> claim(std::size_t max, std::chrono::milliseconds lease,
                                            std::size_t app_cap,
                                            const std::vector<std::string>& exclude) override;
    std::size_t release_expired_leases() override;
    std::optional<mappers::StoredApp> load_app(const std::string& tenant_id,
                                               const std::string& app_id) override;
    std::optional<mappers::AppObject> app_object(const std::string& tenant_id, const std::string& app_id,
                                                 const std::string& resource_id) override;
    std::unordered_map<std::string, mappers::AppObject> app_objects(
        const std::string& tenant_id, const std::string& app_id,
        const std::vector<std::string>& resource_ids) override;
    mappers::MemberDiff member_diff(const std::string& tenant_id, const std::string& app_id,
                                    const std::string& group_id) override;
    bool complete(const mappers::DeliveryJob& job, const mappers::Completion& completion) override;
    bool reschedule(const mappers::DeliveryJob& job, const mappers::Reschedule& plan) override;

private:
    struct Pending {
        const boost::json::object* params = nullptr;
        std::optional<bool> done;
        std::exception_ptr error;
        // Set (under the mutex) when the completion is recorded, or when its thread is to record
        // next: one wake-up per waiting thread (a shared condition variable woke every waiter
        // per group; a semaphore spun in sched_yield before it slept).
        bool woken = false;
        std::condition_variable cv;
    };
    // Records `batch` in one statement, or, when that statement fails, each on its own so that
    // one bad completion fails only itself.
    void record(const std::vector<Pending*>& batch);

    Database& db_;
    std::mutex mutex_;
    std::deque<Pending*> queued_;
    const std::size_t recorders_max_;
    std::size_t recorders_ = 0;  // completion statements running
};

}  // namespace scimbridge::db
