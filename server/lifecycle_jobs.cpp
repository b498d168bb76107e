#include "server/lifecycle_jobs.hpp"

namespace scimbridge::server {

namespace json = boost::json;

namespace {

constexpr std::size_t kBatch = 500;
constexpr int kMaxBatches = 200;  // per run; the next run goes on

template <class Step>
std::size_t drain(JobContext& ctx, Step&& step) {
    std::size_t total = 0;
    for (int i = 0; i < kMaxBatches && ctx.keep_going(); ++i) {
        const std::size_t n = step();
        total += n;
        if (n < kBatch) {
            break;
        }
    }
    return total;
}

}  // namespace

Job make_lifecycle_job(mappers::LifecycleService& lifecycle) {
    return [&lifecycle](JobContext& ctx) -> scim::Result<json::object> {
        mappers::LifecycleStore& store = lifecycle.store();
        const mappers::LifecycleSettings& s = lifecycle.settings();
        const std::size_t expired = drain(ctx, [&] { return store.expire_invitations(kBatch); });
        const std::size_t reminded =
            drain(ctx, [&] { return store.send_reminders(kBatch, s.scaled(s.second_reminder)); });
        const std::size_t invited = drain(ctx, [&] { return lifecycle.invite_pending(kBatch, std::nullopt); });
        const std::size_t purged =
            drain(ctx, [&] { return store.purge_memberships(kBatch, s.scaled(s.reactivation_window)); });
        const std::size_t pruned =
            drain(ctx, [&] { return store.prune_deliveries(kBatch, s.scaled(s.delivery_retention)); });
        return json::object{{"invitations_expired", expired},
                            {"reminders_sent", reminded},
                            {"invited", invited},
                            {"memberships_purged", purged},
                            {"deliveries_pruned", pruned}};
    };
}

}  // namespace scimbridge::server
