#pragma once
// The account lifecycle in the admin API (admin tokens; documented in the README): invite and
// resend, invite all, block, unblock, approve, deny, delete unclaimed accounts, access codes,
// and the CSV exports of an app's open claim links and access codes. Each method: decode →
// LifecycleService → render.

#include "mappers/directory_store.hpp"
#include "mappers/lifecycle.hpp"
#include "mappers/schedule.hpp"
#include "server/router.hpp"

#include <functional>

namespace scimbridge::server {

class LifecycleAdminHandler final {
public:
    // `wake_scheduler`: "invite all" asks the scheduler to invite the app's accounts now.
    LifecycleAdminHandler(mappers::LifecycleService& lifecycle, mappers::ScheduleStore& schedules,
                          mappers::DirectoryStore& directories, std::function<void()> wake_scheduler)
        : lifecycle_(lifecycle), schedules_(schedules), directories_(directories),
          wake_scheduler_(std::move(wake_scheduler)) {}

    Response invite(const RequestContext& ctx) const;
    Response invite_all(const RequestContext& ctx) const;
    Response block(const RequestContext& ctx) const;
    Response unblock(const RequestContext& ctx) const;
    Response approve(const RequestContext& ctx) const;
    Response deny(const RequestContext& ctx) const;
    Response remove(const RequestContext& ctx) const;  // unclaimed accounts only
    Response issue_access_code(const RequestContext& ctx) const;
    Response revoke_access_code(const RequestContext& ctx) const;
    Response claim_links_csv(const RequestContext& ctx) const;
    Response access_codes_csv(const RequestContext& ctx) const;

    // The tenant's scheduled jobs (directory pulls, app reconciliation) and their runs.
    Response schedules(const RequestContext& ctx) const;
    Response schedule_runs(const RequestContext& ctx) const;
    Response configure_schedule(const RequestContext& ctx) const;  // {period_minutes, enabled}
    Response run_schedule(const RequestContext& ctx) const;        // {dry_run}
    // The whole resync of the tenant: every directory pull and app reconciliation, and the
    // three-way diff of their latest (dry) runs.
    Response resync(const RequestContext& ctx) const;       // {dry_run}
    Response resync_diff(const RequestContext& ctx) const;  // ?dry_run=true: dry runs only
    Response resync_settings(const RequestContext& ctx) const;            // {period_minutes}
    Response configure_resync(const RequestContext& ctx) const;           // {period_minutes}

    // Directory sources the scheduler pulls: {name, config: {kind: google|graph|scim, ...}}.
    Response directories(const RequestContext& ctx) const;
    Response create_directory(const RequestContext& ctx) const;
    Response delete_directory(const RequestContext& ctx) const;

private:
    Response act(const RequestContext& ctx, mappers::AdminAction action) const;

    mappers::LifecycleService& lifecycle_;
    mappers::ScheduleStore& schedules_;
    mappers::DirectoryStore& directories_;
    std::function<void()> wake_scheduler_;
};

}  // namespace scimbridge::server
