#pragma once
// The scheduler's lifecycle job: expire unclaimed invitations (day 7), send reminders (day 3,
// day 5), invite the accounts whose app invites now (catching any the delivery hook missed, and
// "invite all"), and purge the group memberships of accounts blocked longer than the
// reactivation window (day 4). Each step works in bounded batches and checks keep_going().

#include "mappers/lifecycle.hpp"
#include "server/scheduler.hpp"

namespace scimbridge::server {

Job make_lifecycle_job(mappers::LifecycleService& lifecycle);

}  // namespace scimbridge::server
