#pragma once
// The scheduler's reconcile job (DESIGN §7, resync (b)): one app per run. It walks the tenant's
// canonical users and groups in keyset pages of 250, maps each as the delivery worker would
// (mappers::desired_for), compares with what the app holds — read back from SCIM apps, asked of
// webhook apps in resync batches — and repairs through the outbox: what the app really holds is
// recorded, then a delivery is enqueued (mappers::ReconcileStore::repair), so the repair obeys
// the per-app concurrency cap, backoff and ordering like any change. Orphans are deactivated,
// deleted or reported per the app's policies.orphans, and never acted on beyond a safety limit
// (a broken read-back must not deactivate everyone). A dry run reports the same diff and writes
// nothing (webhook apps are still asked: a resync batch changes nothing at the app).
//
// A run resumed after a crash starts over: what the dead run repaired is then in flight (skipped)
// or already fixed, so nothing is repaired twice.

#include "mappers/delivery.hpp"
#include "mappers/http_transport.hpp"
#include "mappers/reconcile.hpp"
#include "scim/resource_store.hpp"
#include "server/scheduler.hpp"
#include "server/tenant_registries.hpp"

#include <chrono>
#include <string>

namespace scimbridge::server {

struct ReconcileOptions {
    std::string base_url;                        // as the delivery worker renders resources
    std::chrono::milliseconds deadline{15'000};  // per outbound request
    // Canonical resources per page, per resync batch, per read-back page and per look for gone
    // objects: the unit of work between two of the run's pauses (job_duty). With pages of 1,000
    // each burst (a page's queries, a read-back page parsed) was long enough for the ingest to
    // queue behind it: in the resync benchmark its p50 during the run was 7–52 ms with 1,000 and
    // 4–9 ms with 250, for ~40 % more requests to the apps (959 against 614 for 100,000 users).
    std::size_t page = 250;
    // Orphans are acted on only while they are at most this share of what the app holds (or at
    // most `orphan_floor`); beyond it the run reports them and acts on none.
    double orphan_ratio = 0.2;
    std::size_t orphan_floor = 50;
    std::size_t orphan_parallel = 4;  // orphans blocked or deleted at once
};

Job make_reconcile_job(mappers::ReconcileStore& store, mappers::OutboxStore& outbox, scim::ResourceStore& resources,
                       mappers::HttpTransport& transport, TenantRegistries& registries, ReconcileOptions options);

}  // namespace scimbridge::server
