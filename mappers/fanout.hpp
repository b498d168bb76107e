#pragma once
// What one delivery does to one app, decided from facts (pure; the delivery worker gathers the
// facts, sends the event and records the outcome): whether the person has, gets or loses an
// account in the app and in which state (DESIGN §5), and which event the app receives.

#include "mappers/account_state.hpp"
#include "mappers/app.hpp"
#include "mappers/connector.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace scimbridge::mappers {

// One person's account in one app.
struct AccountRef {
    std::string tenant_id;
    std::string app_id;
    std::string user_id;
};

// What the app holds of a resource (app_object), as last recorded.
struct AppObject {
    std::optional<AccountState> state;  // users
    std::optional<AccountState> state_before_block;
    std::optional<std::string> remote_id;
    boost::json::object payload;  // as last delivered
    std::int64_t delivered_version = 0;
    // Users: the account state the app was last told (nullopt for objects delivered before the
    // bridge tracked it), the invitation it was told of ("<id>/<reminder>"), and the open
    // invitation now, if any.
    std::optional<AccountState> delivered_state;
    std::optional<std::string> announced_invitation;
    bool blocked_by_admin = false;  // an admin block (or denial) holds until an admin unblocks
    bool deleted_by_admin = false;  // an admin deleted the (unclaimed) account: the app hears user.deleted
    bool blocked_for_scope = false;  // blocked because the person left the app's scope
    struct OpenInvitation {
        std::string id;
        int reminders_sent = 0;
        std::string expires_at;  // RFC 3339
    };
    std::optional<OpenInvitation> invitation;
};

// Causes of a block that only an admin lifts (an IdP update does not restore the account).
bool is_admin_block_cause(std::string_view cause);

// The lifecycle event an app that receives events is owed for an account whose state (or open
// invitation) moved since it was last told, or nullopt. `key` is set to the invitation key the
// event announces.
std::optional<EventType> owed_account_event(const AppObject& object, std::optional<std::string>& key);

struct UserFacts {
    bool exists = false;     // false: deleted at the IdP
    bool active = true;      // the IdP's active (absent counts as true)
    bool in_scope = false;   // matches the app's scope filter and group condition
};

// One audited account transition ("created" has no `from`).
struct StateChange {
    std::optional<AccountState> from;
    AccountState to = AccountState::kInitiated;
    std::string cause;  // enter_scope, idp_deactivated, idp_deleted, left_scope, idp_reactivated, ...
};

struct UserDecision {
    bool send = false;                    // false: nothing to tell the app
    EventType type = EventType::kUserUpdated;
    std::optional<AccountState> state;    // after; nullopt: no account (and none is created)
    std::optional<AccountState> previous_state;
    std::optional<AccountState> state_before_block;
    std::optional<StateChange> change;    // the transition to audit, if the state moved
    std::string reason;                   // why nothing is sent (for the delivery row)
};

// `mapped_changed`: the mapped payload differs from what the app last received.
UserDecision decide_user(const AppPolicies& policies, const std::optional<AppObject>& object,
                         const UserFacts& facts, bool mapped_changed);

struct GroupDecision {
    bool send = false;
    EventType type = EventType::kGroupUpdated;
    bool forget = false;  // drop the app_object and its member rows after delivery
    std::string reason;
};

// `in_scope`: the group exists and matches the app's group filter.
GroupDecision decide_group(const std::optional<AppObject>& object, bool exists, bool in_scope,
                           bool mapped_changed, bool members_changed);

// Top-level attributes of `now` whose values differ from `before`, with their values in
// `before` (null when absent): the "previous values" of an event.
boost::json::object previous_values(const boost::json::object& before, const boost::json::object& now);

}  // namespace scimbridge::mappers
