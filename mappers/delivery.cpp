#include "mappers/delivery.hpp"

#include "scim/filter_eval.hpp"
#include "scim/resource_service.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <utility>

namespace scimbridge::mappers {

namespace json = boost::json;
using scim::ResourceKind;

namespace {

double jitter_sample() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// The payload an app receives when it has no mapping: the resource as a SCIM client sees it,
// minus meta, the computed User.groups and (for groups) the member list, which travels as
// differences.
json::object identity_payload(const json::object& resource) {
    json::object out = identity_mapping(resource);
    out.erase("members");
    return out;
}

struct Mapped {
    json::object payload;
    std::vector<std::string> errors;
};

Mapped map_resource(const std::shared_ptr<const Mapping>& mapping, const json::object& resource) {
    if (!mapping) {
        return {identity_payload(resource), {}};
    }
    MappedResult r = apply_mapping(*mapping, resource);
    return {std::move(r.payload), std::move(r.errors)};
}

// The event for a delivery: its stable id (webhook-id), the resource's current version when it
// still exists, and — unless it is a delete — the mapped payload with what changed since the
// app last received it.
OutboundEvent make_event(const DeliveryJob& job, const AppDefinition& app, EventType type,
                         const std::optional<scim::StoredResource>& resource,
                         const std::optional<AppObject>& object, const json::object* payload) {
    OutboundEvent event;
    event.id = "dlv_" + std::to_string(job.id);
    event.type = type;
    event.tenant_id = job.tenant_id;
    event.app_id = job.app_id;
    event.app_name = app.name;
    event.resource_id = job.resource_id;
    event.version = resource ? resource->version : job.version;
    event.occurred_at = job.created_at;
    if (object) {
        event.remote_id = object->remote_id;
    }
    if (payload != nullptr) {
        event.data = *payload;
        event.previous = object ? previous_values(object->payload, *payload) : json::object();
    }
    return event;
}

bool is_active(const scim::StoredResource& r) {
    const json::value* active = scim::find_ci(r.document, "active");
    return active == nullptr || !active->is_bool() || active->as_bool();
}

}  // namespace

std::chrono::milliseconds retry_delay(const DeliveryPolicy& policy, int attempts, double jitter,
                                      std::optional<std::chrono::seconds> retry_after) {
    const int steps = std::clamp(attempts - 1, 0, 20);
    double ms = static_cast<double>(policy.first_retry.count()) * std::pow(4.0, steps);
    ms = std::min(ms, static_cast<double>(policy.max_retry.count()));
    ms *= 0.8 + 0.4 * jitter;
    ms *= policy.time_scale;
    auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
    if (retry_after) {
        delay = std::max<std::chrono::milliseconds>(delay, *retry_after);
    }
    return delay;
}

std::string_view to_string(DeliveryOutcome outcome) {
    switch (outcome) {
        case DeliveryOutcome::kDelivered: return "delivered";
        case DeliveryOutcome::kSkipped: return "skipped";
        case DeliveryOutcome::kRetry: return "retry";
        case DeliveryOutcome::kDead: return "dead";
        case DeliveryOutcome::kLeaseLost: return "lease_lost";
        case DeliveryOutcome::kFailed: return "failed";
    }
    return "failed";
}

bool user_in_scope(const AppDefinition& app, const scim::StoredResource& user,
                   const scim::SchemaRegistry& registry) {
    if (app.scope_filter) {
        const scim::ResourceType* type = registry.resource_type("User");
        if (type == nullptr || !scim::matches(*app.scope_filter, user, registry, *type)) {
            return false;
        }
    }
    if (app.scope_group) {
        if (!user.groups) {
            return false;
        }
        return std::any_of(user.groups->begin(), user.groups->end(),
                           [&](const scim::GroupRef& g) { return g.value == *app.scope_group; });
    }
    return true;
}

Desired desired_for(const AppDefinition& app, ResourceKind kind, const scim::StoredResource& resource,
                    const scim::SchemaRegistry& registry, const std::string& base_url) {
    Desired d;
    const bool user = kind == ResourceKind::kUser;
    const scim::ResourceType* type = registry.resource_type(scim::resource_type_id(kind));
    if (type == nullptr) {
        return d;
    }
    Mapped mapped = map_resource(user ? app.mapping : app.group_mapping,
                                 scim::render_resource(*type, resource, base_url));
    d.payload = std::move(mapped.payload);
    d.errors = std::move(mapped.errors);
    if (user) {
        d.in_scope = user_in_scope(app, resource, registry);
        d.active = is_active(resource);
    } else {
        d.in_scope = app.groups && (!app.group_filter || scim::matches(*app.group_filter, resource, registry, *type));
    }
    return d;
}

DeliveryProcessor::DeliveryProcessor(OutboxStore& outbox, scim::ResourceStore& resources,
                                     HttpTransport& transport, RegistryLookup registries,
                                     DeliveryPolicy policy)
    : outbox_(outbox),
      resources_(resources),
      transport_(transport),
      registries_(std::move(registries)),
      policy_(std::move(policy)) {}

std::shared_ptr<const scim::SchemaRegistry> DeliveryProcessor::registry_for(const std::string& tenant_id) const {
    auto registry = registries_(tenant_id);
    if (!registry) {  // the core registry lives for the process: a non-owning pointer
        registry = std::shared_ptr<const scim::SchemaRegistry>(std::shared_ptr<void>(), &scim::SchemaRegistry::core());
    }
    return registry;
}

std::optional<DeliveryProcessor::CachedApp> DeliveryProcessor::app_for(const DeliveryJob& job) {
    {
        std::lock_guard lock(mutex_);
        const auto it = apps_.find(job.app_id);
        if (it != apps_.end() && it->second.version == job.app_version) {
            return it->second;
        }
    }
    const auto stored = outbox_.load_app(job.tenant_id, job.app_id);
    if (!stored) {
        return std::nullopt;
    }
    auto decoded = decode_app(stored->definition, *registry_for(job.tenant_id));
    CachedApp cached;
    cached.version = stored->version;
    cached.enabled = stored->enabled;
    if (decoded) {
        decoded->id = stored->id;
        decoded->version = stored->version;
        cached.app = std::make_shared<const AppDefinition>(std::move(*decoded));
        WebhookConfig webhook = cached.app->webhook;
        ScimTargetConfig scim = cached.app->scim;
        webhook.deadline = policy_.deadline;
        scim.deadline = policy_.deadline;
        cached.connector = cached.app->connector == "webhook"
                               ? std::shared_ptr<Connector>(make_webhook_connector(std::move(webhook)))
                               : std::shared_ptr<Connector>(make_scim_connector(std::move(scim)));
    }
    std::lock_guard lock(mutex_);
    apps_[job.app_id] = cached;
    return cached;
}

void DeliveryProcessor::prefetch(std::vector<DeliveryJob>& jobs) {
    // Users by tenant and by whether their groups are needed (a scope group), read once for
    // every app; app objects by tenant and app.
    std::map<std::pair<std::string, bool>, std::vector<std::string>> users;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> objects;
    std::vector<std::pair<DeliveryJob*, bool>> todo;
    for (DeliveryJob& job : jobs) {
        if (job.kind != ResourceKind::kUser) {
            continue;
        }
        const auto app = app_for(job);
        if (!app || !app->enabled || !app->app) {
            continue;
        }
        const bool groups = app->app->scope_group.has_value();
        users[{job.tenant_id, groups}].push_back(job.resource_id);
        objects[{job.tenant_id, job.app_id}].push_back(job.resource_id);
        todo.emplace_back(&job, groups);
    }
    std::map<std::pair<std::string, bool>, std::unordered_map<std::string, scim::StoredResource>> found_users;
    for (auto& [key, ids] : users) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        scim::LoadOptions load;
        load.groups = key.second;
        auto& by_id = found_users[key];
        for (scim::StoredResource& r : resources_.find_many(key.first, ResourceKind::kUser, ids, load)) {
            std::string id = r.id;
            by_id.emplace(std::move(id), std::move(r));
        }
    }
    std::map<std::pair<std::string, std::string>, std::unordered_map<std::string, AppObject>> found_objects;
    for (const auto& [key, ids] : objects) {
        found_objects[key] = outbox_.app_objects(key.first, key.second, ids);
    }
    for (const auto& [job, groups] : todo) {
        auto p = std::make_shared<DeliveryJob::Prefetched>();
        const auto& by_id = found_users[{job->tenant_id, groups}];
        if (const auto it = by_id.find(job->resource_id); it != by_id.end()) {
            p->resource = it->second;
        }
        const auto& held = found_objects[{job->tenant_id, job->app_id}];
        if (const auto it = held.find(job->resource_id); it != held.end()) {
            p->object = it->second;
        }
        job->prefetched = std::move(p);
    }
}

DeliveryOutcome DeliveryProcessor::process(const DeliveryJob& job) {
    const auto app = app_for(job);
    if (!app || !app->enabled || !app->app) {
        Completion c;
        c.detail = !app ? "app deleted" : (!app->app ? "app definition invalid" : "app disabled");
        return outbox_.complete(job, c) ? DeliveryOutcome::kSkipped : DeliveryOutcome::kLeaseLost;
    }
    return job.kind == ResourceKind::kUser ? process_user(job, *app) : process_group(job, *app);
}

DeliveryOutcome DeliveryProcessor::process_user(const DeliveryJob& job, const CachedApp& cached) {
    const AppDefinition& app = *cached.app;
    const auto registry = registry_for(job.tenant_id);
    const scim::SchemaRegistry& reg = *registry;
    std::optional<scim::StoredResource> read_user;
    std::optional<AppObject> read_object;
    if (!job.prefetched) {
        scim::LoadOptions load;
        load.groups = app.scope_group.has_value();
        read_user = resources_.find(job.tenant_id, ResourceKind::kUser, job.resource_id, load);
        read_object = outbox_.app_object(job.tenant_id, job.app_id, job.resource_id);
    }
    const std::optional<scim::StoredResource>& user = job.prefetched ? job.prefetched->resource : read_user;
    const std::optional<AppObject>& object = job.prefetched ? job.prefetched->object : read_object;
    UserFacts facts;
    Desired mapped;
    if (user) {
        mapped = desired_for(app, ResourceKind::kUser, *user, reg, policy_.base_url);
        facts.exists = true;
        facts.active = mapped.active;
        facts.in_scope = mapped.in_scope;
    }
    const bool mapped_changed = !object || object->payload != mapped.payload;
    UserDecision decision = decide_user(app.policies, object, facts, mapped_changed);
    bool recreated = false;
    if (decision.send && decision.type == EventType::kUserUpdated && object && object->delivered_version == 0) {
        // Reconciliation found the app without this account (it forgot the remote id and the
        // payload): the app is sent the whole account as new, then its groups again.
        decision.type = EventType::kUserCreated;
        recreated = true;
    }

    // A lifecycle change (invitation, claim, approval, admin block) the app has not heard of yet:
    // it rides on this delivery. Apps that receive events get the account event; SCIM apps only
    // hear of blocks and unblocks (as deactivate / reactivate), the rest is recorded as told.
    std::optional<std::string> invitation_key;
    bool owed = false;  // a plain flag: GCC 12 at -O2 misreads an optional<enum> here
    bool block_moved = false;  // an admin block or unblock moves the member lists like an IdP one
    if (object && !decision.change && (!decision.send || decision.type == EventType::kUserUpdated)) {
        if (const auto event = owed_account_event(*object, invitation_key);
            event && (app.connector == "webhook" || !is_account_event(*event))) {
            owed = true;
            block_moved = *event == EventType::kUserDeactivated || *event == EventType::kUserDeleted ||
                          *event == EventType::kUserReactivated;
            decision.send = true;
            decision.type = *event;
            decision.state = object->state;
            decision.previous_state = object->delivered_state;
            decision.state_before_block = object->state_before_block;
        }
        if (!owed) {
            invitation_key.reset();
        }
    }
    Completion completion;
    completion.mapping_errors = mapped.errors;
    if (!decision.send) {
        completion.detail = decision.reason;
        if (object && object->state && object->delivered_state != object->state) {
            // Nothing to send, but the app now knows the state as it is (SCIM apps).
            completion.write_object = true;
            completion.object = *object;
            completion.object.delivered_state = object->state;
        }
        return outbox_.complete(job, completion) ? DeliveryOutcome::kSkipped : DeliveryOutcome::kLeaseLost;
    }

    OutboundEvent event = make_event(job, app, decision.type, user, object, user ? &mapped.payload : nullptr);
    event.state = decision.state;
    event.previous_state = decision.previous_state;
    if (invitation_key && object->invitation && policy_.claim_url) {
        event.invitation = InvitationNotice{policy_.claim_url(object->invitation->id),
                                            object->invitation->expires_at,
                                            object->invitation->reminders_sent};
    }
    const DeliveryResult result = cached.connector->deliver(event, transport_);

    completion.delivered = true;
    completion.event_type = std::string(to_string(decision.type));
    completion.write_object = true;
    completion.object.state = decision.state;
    completion.object.state_before_block =
        decision.state == AccountState::kBlocked ? decision.state_before_block : std::nullopt;
    completion.object.remote_id = result.remote_id ? result.remote_id : event.remote_id;
    completion.object.payload = user ? mapped.payload : (object ? object->payload : json::object());
    completion.object.delivered_version = event.version;
    completion.object.delivered_state = decision.state;
    completion.object.announced_invitation = invitation_key;
    completion.change = decision.change;
    // An account that appeared, was blocked or came back changes the member lists the app holds.
    completion.redeliver_user_groups = app.groups && (decision.change.has_value() || block_moved || recreated);
    const DeliveryOutcome outcome = finish(job, result, std::move(completion));
    if (outcome == DeliveryOutcome::kDelivered && decision.change && decision.state == AccountState::kInitiated &&
        app.policies.invite == InvitePolicy::kNow && after_initiated_) {
        after_initiated_(AccountRef{job.tenant_id, job.app_id, job.resource_id});
    }
    return outcome;
}

DeliveryOutcome DeliveryProcessor::process_group(const DeliveryJob& job, const CachedApp& cached) {
    const AppDefinition& app = *cached.app;
    Completion completion;
    completion.rescope_group_members = app.scope_group && *app.scope_group == job.resource_id;
    if (!app.groups) {
        completion.detail = completion.rescope_group_members ? "scope group: members re-checked"
                                                             : "app does not receive groups";
        return outbox_.complete(job, completion) ? DeliveryOutcome::kSkipped : DeliveryOutcome::kLeaseLost;
    }
    const auto registry = registry_for(job.tenant_id);
    const scim::SchemaRegistry& reg = *registry;
    const auto group = resources_.find(job.tenant_id, ResourceKind::kGroup, job.resource_id, {});
    bool in_scope = false;
    Desired mapped;
    if (group) {
        mapped = desired_for(app, ResourceKind::kGroup, *group, reg, policy_.base_url);
        in_scope = mapped.in_scope;
    }
    const auto object = outbox_.app_object(job.tenant_id, job.app_id, job.resource_id);
    MemberDiff diff;
    if (group && in_scope) {
        diff = outbox_.member_diff(job.tenant_id, job.app_id, job.resource_id);
    }
    const bool mapped_changed = !object || object->payload != mapped.payload;
    const bool members_changed = !diff.added.empty() || !diff.removed.empty();
    const GroupDecision decision = decide_group(object, group.has_value(), in_scope, mapped_changed, members_changed);
    completion.mapping_errors = mapped.errors;
    if (!decision.send) {
        completion.detail = decision.reason;
        return outbox_.complete(job, completion) ? DeliveryOutcome::kSkipped : DeliveryOutcome::kLeaseLost;
    }
    OutboundEvent event =
        make_event(job, app, decision.type, group, object, decision.forget ? nullptr : &mapped.payload);
    if (!decision.forget) {
        event.members_added = diff.added;
        event.members_removed = diff.removed;
    }
    const DeliveryResult result = cached.connector->deliver(event, transport_);
    completion.delivered = true;
    completion.event_type = std::string(to_string(decision.type));
    completion.write_object = !decision.forget;
    completion.forget_object = decision.forget;
    completion.object.remote_id = result.remote_id ? result.remote_id : event.remote_id;
    completion.object.payload = mapped.payload;
    completion.object.delivered_version = event.version;
    for (const MemberChange& m : event.members_added) {
        // A SCIM app cannot be told of a member it has no id for yet (its account is still being
        // created): left untold, the group delivery after that account's creation adds it.
        if (app.connector == "webhook" || m.remote_id) {
            completion.members_added.push_back(m.id);
        }
    }
    for (const MemberChange& m : event.members_removed) {
        completion.members_removed.push_back(m.id);
    }
    return finish(job, result, std::move(completion));
}

DeliveryOutcome DeliveryProcessor::finish(const DeliveryJob& job, const DeliveryResult& result,
                                          Completion completion) {
    completion.status = result.status;
    completion.detail = result.detail;
    if (result.kind == DeliveryResult::Kind::kDone) {
        return outbox_.complete(job, completion) ? DeliveryOutcome::kDelivered : DeliveryOutcome::kLeaseLost;
    }
    Reschedule plan;
    plan.status = result.status;
    plan.detail = result.detail;
    const auto window = std::chrono::duration<double>(policy_.dead_after).count() * policy_.time_scale;
    plan.dead = result.kind == DeliveryResult::Kind::kPermanent || job.age_seconds >= window;
    if (plan.dead && result.kind != DeliveryResult::Kind::kPermanent) {
        plan.detail = "retry window passed; last: " + plan.detail;
    }
    plan.delay = retry_delay(policy_, job.attempts, jitter_sample(), result.retry_after);
    if (!outbox_.reschedule(job, plan)) {
        return DeliveryOutcome::kLeaseLost;
    }
    return plan.dead ? DeliveryOutcome::kDead : DeliveryOutcome::kRetry;
}

scim::Result<DeliveryProcessor::Preview> DeliveryProcessor::preview(const AppDefinition& app,
                                                                    const std::string& tenant_id,
                                                                    ResourceKind kind,
                                                                    const std::string& resource_id) {
    const auto registry = registry_for(tenant_id);
    const scim::SchemaRegistry& reg = *registry;
    scim::LoadOptions load;
    load.groups = kind == ResourceKind::kUser && app.scope_group.has_value();
    const auto r = resources_.find(tenant_id, kind, resource_id, load);
    if (!r) {
        return scim::Error::not_found("no such " + std::string(scim::resource_type_id(kind)));
    }
    if (reg.resource_type(scim::resource_type_id(kind)) == nullptr) {
        return scim::Error::not_found("unknown resource type");
    }
    Desired mapped = desired_for(app, kind, *r, reg, policy_.base_url);
    Preview p;
    p.payload = std::move(mapped.payload);
    p.errors = std::move(mapped.errors);
    p.in_scope = mapped.in_scope;
    return p;
}

}  // namespace scimbridge::mappers
