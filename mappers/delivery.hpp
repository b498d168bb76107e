#pragma once
// The delivery worker's logic: one leased delivery in, one recorded outcome out. It gathers the
// facts (app, current resource, what the app holds), decides (fanout.hpp), maps, sends through
// the app's connector and records the result through the OutboxStore port, whose writes are
// fenced by the lease token. Threads, wake-ups and claiming live in server/delivery_service.

#include "mappers/app.hpp"
#include "mappers/connector.hpp"
#include "mappers/fanout.hpp"
#include "mappers/http_transport.hpp"
#include "scim/resource_store.hpp"
#include "scim/schema.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace scimbridge::mappers {

struct DeliveryJob {
    std::int64_t id = 0;
    std::string lease_token;
    std::string tenant_id;
    std::string app_id;
    std::int64_t app_version = 0;
    scim::ResourceKind kind = scim::ResourceKind::kUser;
    std::string resource_id;
    std::int64_t version = 0;
    std::string operation;
    int attempts = 0;          // including this one
    std::string created_at;    // RFC 3339: when the change committed
    double age_seconds = 0;    // now - created_at at claim time (database clock)

    // Read ahead for a claimed batch (DeliveryProcessor::prefetch): the resource as it was then
    // (nullopt: gone) and what the app held of it. Without it the worker reads both itself.
    struct Prefetched {
        std::optional<scim::StoredResource> resource;
        std::optional<AppObject> object;
    };
    std::shared_ptr<const Prefetched> prefetched;
};

struct MemberDiff {
    std::vector<MemberChange> added;    // members with an account in the app it was not told of
    std::vector<MemberChange> removed;  // members it was told of that are gone or blocked
};

struct StoredApp {
    std::string tenant_id;
    std::string id;
    std::int64_t version = 0;
    bool enabled = true;
    boost::json::object definition;  // to_stored_json form
};

// What a finished delivery records, in one transaction fenced by the lease token.
struct Completion {
    bool delivered = false;  // false: skipped (nothing to send)
    std::string event_type;  // "user.created", ... (delivered)
    int status = 0;
    std::string detail;
    // The app object after the delivery (write_object), or its removal (forget_object).
    bool write_object = false;
    bool forget_object = false;
    AppObject object;
    std::optional<StateChange> change;
    std::vector<std::string> members_added;    // canonical ids now told to the app
    std::vector<std::string> members_removed;
    bool redeliver_user_groups = false;  // the user's account appeared or went: its groups again
    bool rescope_group_members = false;  // the app's scope group changed: re-check its members
    std::vector<std::string> mapping_errors;
};

struct Reschedule {
    bool dead = false;  // dead letter (retry window passed, or permanent failure)
    std::chrono::milliseconds delay{0};
    int status = 0;
    std::string detail;
};

// Storage of the outbox and of what apps hold; db/pg_outbox_store implements it.
class OutboxStore {
public:
    virtual ~OutboxStore() = default;
    // Leases up to `max` due deliveries (see scim_bridge_claim_deliveries), skipping `exclude`.
    virtual std::vector<DeliveryJob> claim(std::size_t max, std::chrono::milliseconds lease,
                                           std::size_t app_cap, const std::vector<std::string>& exclude) = 0;
    // Returns deliveries whose lease expired (their worker crashed or stalled) to the queue;
    // how many. Claims do not: a claimer calls this every few seconds.
    virtual std::size_t release_expired_leases() = 0;
    virtual std::optional<StoredApp> load_app(const std::string& tenant_id, const std::string& app_id) = 0;
    virtual std::optional<AppObject> app_object(const std::string& tenant_id, const std::string& app_id,
                                                const std::string& resource_id) = 0;
    // What the app holds of each of `resource_ids` that it holds (a store may read them at once).
    virtual std::unordered_map<std::string, AppObject> app_objects(const std::string& tenant_id,
                                                                   const std::string& app_id,
                                                                   const std::vector<std::string>& resource_ids) {
        std::unordered_map<std::string, AppObject> out;
        for (const std::string& id : resource_ids) {
            if (auto o = app_object(tenant_id, app_id, id)) {
                out.emplace(id, std::move(*o));
            }
        }
        return out;
    }
    // Direct user members with a live (not blocked) account in the app vs. what the app was told.
    virtual MemberDiff member_diff(const std::string& tenant_id, const std::string& app_id,
                                   const std::string& group_id) = 0;
    // False when the lease was lost (expired and re-leased): nothing is written.
    virtual bool complete(const DeliveryJob& job, const Completion& completion) = 0;
    virtual bool reschedule(const DeliveryJob& job, const Reschedule& plan) = 0;
};

struct DeliveryPolicy {
    std::chrono::milliseconds first_retry{5000};   // then ×4 per attempt
    std::chrono::milliseconds max_retry{6 * 3600 * 1000};
    std::chrono::seconds dead_after{72 * 3600};
    double time_scale = 1.0;  // tests shrink every delay and the window (not Retry-After)
    std::string base_url;     // the bridge's SCIM base (meta.location in mapped resources; the
                              // tenant comes from the token, not the URL)
    std::chrono::milliseconds deadline{15000};  // per outbound request
    // The claim link of an invitation (account.invited events); empty: no link in events.
    std::function<std::string(const std::string& invitation_id)> claim_url;
};

// The delay before attempt `attempts + 1`: first_retry × 4^(attempts-1), capped, ±20 % jitter
// (`jitter` in [0, 1)), times the time scale; never below a server's Retry-After.
std::chrono::milliseconds retry_delay(const DeliveryPolicy& policy, int attempts, double jitter,
                                      std::optional<std::chrono::seconds> retry_after);

enum class DeliveryOutcome { kDelivered, kSkipped, kRetry, kDead, kLeaseLost, kFailed };
std::string_view to_string(DeliveryOutcome outcome);

class DeliveryProcessor {
public:
    using RegistryLookup = std::function<std::shared_ptr<const scim::SchemaRegistry>(const std::string&)>;

    DeliveryProcessor(OutboxStore& outbox, scim::ResourceStore& resources, HttpTransport& transport,
                      RegistryLookup registries, DeliveryPolicy policy);

    // Called after an account entered an app whose policy invites now (the lifecycle service
    // invites it; the scheduler catches any it missed).
    void set_after_initiated(std::function<void(const AccountRef&)> hook) { after_initiated_ = std::move(hook); }

    // Reads ahead, in a statement or two per tenant and app, what the user deliveries of a
    // claimed batch need (DeliveryJob::prefetched). Throws on a database error (the workers
    // then read for themselves).
    void prefetch(std::vector<DeliveryJob>& jobs);

    // Never throws for a downstream or mapping problem; a database error propagates (the lease
    // then expires and another worker retries).
    DeliveryOutcome process(const DeliveryJob& job);

    // The mapped payload of a user or group for an app (the admin preview).
    struct Preview {
        boost::json::object payload;
        std::vector<std::string> errors;
        bool in_scope = false;
    };
    scim::Result<Preview> preview(const AppDefinition& app, const std::string& tenant_id,
                                  scim::ResourceKind kind, const std::string& resource_id);

private:
    struct CachedApp {
        std::int64_t version = 0;
        bool enabled = true;
        std::shared_ptr<const AppDefinition> app;
        std::shared_ptr<Connector> connector;
    };
    std::optional<CachedApp> app_for(const DeliveryJob& job);
    DeliveryOutcome process_user(const DeliveryJob& job, const CachedApp& app);
    DeliveryOutcome process_group(const DeliveryJob& job, const CachedApp& app);
    DeliveryOutcome finish(const DeliveryJob& job, const DeliveryResult& result, Completion completion);
    // The tenant's registry (its extension schemas), or the core one.
    std::shared_ptr<const scim::SchemaRegistry> registry_for(const std::string& tenant_id) const;

    OutboxStore& outbox_;
    scim::ResourceStore& resources_;
    HttpTransport& transport_;
    RegistryLookup registries_;
    DeliveryPolicy policy_;
    std::mutex mutex_;
    std::unordered_map<std::string, CachedApp> apps_;  // by app id
    std::function<void(const AccountRef&)> after_initiated_;
};

// Whether a user is in an app's scope (filter and group condition). `groups` of the resource
// must be loaded when the app has a scope group.
bool user_in_scope(const AppDefinition& app, const scim::StoredResource& user,
                   const scim::SchemaRegistry& registry);

// What an app should receive of a resource now: the mapped payload (mapping errors listed) and
// whether it is in the app's scope (users: also whether the IdP has it active). The delivery
// worker, the admin preview and reconciliation all decide from this one function.
struct Desired {
    boost::json::object payload;
    std::vector<std::string> errors;
    bool in_scope = false;
    bool active = true;
};
Desired desired_for(const AppDefinition& app, scim::ResourceKind kind, const scim::StoredResource& resource,
                    const scim::SchemaRegistry& registry, const std::string& base_url);

}  // namespace scimbridge::mappers
