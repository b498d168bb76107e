#include "mappers/fanout.hpp"

namespace scimbridge::mappers {

namespace json = boost::json;

namespace {

UserDecision blocked(const AppObject& object, EventType type, std::string cause) {
    UserDecision d;
    d.send = true;
    d.type = type;
    d.previous_state = object.state;
    d.state = AccountState::kBlocked;
    d.state_before_block = object.state;
    if (object.state && next_state(*object.state, AccountEvent::kBlock)) {
        d.change = StateChange{object.state, AccountState::kBlocked, std::move(cause)};
    }
    return d;
}

UserDecision skip(std::optional<AccountState> state, std::string reason) {
    UserDecision d;
    d.state = state;
    d.previous_state = state;
    d.reason = std::move(reason);
    return d;
}

}  // namespace

UserDecision decide_user(const AppPolicies& policies, const std::optional<AppObject>& object,
                         const UserFacts& facts, bool mapped_changed) {
    const bool wanted = facts.exists && facts.active && facts.in_scope;
    if (!object || !object->state) {
        if (!wanted) {
            return skip(std::nullopt, facts.exists ? (facts.active ? "not in scope" : "inactive")
                                                   : "deleted before delivery");
        }
        UserDecision d;
        d.send = true;
        d.type = EventType::kUserCreated;
        // Entering scope: an account that waits for its invitation, or (SSO-only apps) one in use.
        d.state = policies.invite == InvitePolicy::kNever ? AccountState::kActive : AccountState::kInitiated;
        d.change = StateChange{std::nullopt, *d.state, "enter_scope"};
        return d;
    }
    const AccountState current = *object->state;
    if (current == AccountState::kBlocked) {
        if (!facts.exists) {
            // Already blocked; the app still learns that the person is gone for good.
            UserDecision d = skip(current, "");
            d.send = true;
            d.type = EventType::kUserDeleted;
            d.state_before_block = object->state_before_block;
            return d;
        }
        if (!wanted) {
            return skip(current, "account blocked");
        }
        if (object->blocked_by_admin) {
            return skip(current, "account blocked by an admin");
        }
        // Reactivation (IdP active=true again, or back in scope): the state before blocking.
        UserDecision d;
        d.send = true;
        d.type = EventType::kUserReactivated;
        d.previous_state = current;
        d.state = restored_state(object->state_before_block);
        d.change = StateChange{
            current, *d.state, object->blocked_for_scope ? "entered_scope" : "idp_reactivated"};
        return d;
    }
    if (!facts.exists) {
        return blocked(*object, EventType::kUserDeleted, "idp_deleted");
    }
    if (!facts.active) {
        return blocked(*object, EventType::kUserDeactivated, "idp_deactivated");
    }
    if (!facts.in_scope) {
        return blocked(*object, EventType::kUserDeactivated, "left_scope");
    }
    if (!mapped_changed) {
        return skip(current, "no mapped attribute changed");
    }
    UserDecision d;
    d.send = true;
    d.type = EventType::kUserUpdated;
    d.state = current;
    d.previous_state = current;
    d.state_before_block = object->state_before_block;
    return d;
}

GroupDecision decide_group(const std::optional<AppObject>& object, bool exists, bool in_scope,
                           bool mapped_changed, bool members_changed) {
    GroupDecision d;
    const bool wanted = exists && in_scope;
    if (!object) {
        if (!wanted) {
            d.reason = exists ? "not in scope" : "deleted before delivery";
            return d;
        }
        d.send = true;
        d.type = EventType::kGroupCreated;
        return d;
    }
    if (!wanted) {
        d.send = true;
        d.type = EventType::kGroupDeleted;
        d.forget = true;
        return d;
    }
    if (!mapped_changed && !members_changed) {
        d.reason = "no mapped attribute or member changed";
        return d;
    }
    d.send = true;
    d.type = EventType::kGroupUpdated;
    return d;
}

bool is_admin_block_cause(std::string_view cause) {
    return cause == "admin_block" || cause == "approval_denied" || cause == "admin_delete";
}

std::optional<EventType> owed_account_event(const AppObject& object, std::optional<std::string>& key) {
    key.reset();
    if (!object.state) {
        return std::nullopt;
    }
    const AccountState now = *object.state;
    if (now == AccountState::kInvited && object.invitation) {
        std::string k = object.invitation->id + "/" + std::to_string(object.invitation->reminders_sent);
        if (k != object.announced_invitation) {
            const bool reminder = object.invitation->reminders_sent > 0 &&
                                  object.announced_invitation &&
                                  object.announced_invitation->rfind(object.invitation->id + "/", 0) == 0;
            key = std::move(k);
            return reminder ? EventType::kAccountInvitationReminder : EventType::kAccountInvited;
        }
    }
    if (!object.delivered_state || *object.delivered_state == now) {
        return std::nullopt;
    }
    const AccountState told = *object.delivered_state;
    switch (now) {
        case AccountState::kBlocked:
            // An unclaimed account an admin deleted: the app may delete it too (SCIM apps do
            // when their `delete_users` says so), as when the IdP deletes the person.
            return object.deleted_by_admin ? EventType::kUserDeleted : EventType::kUserDeactivated;
        case AccountState::kInitiated:
            return told == AccountState::kInvited ? std::optional(EventType::kAccountInvitationExpired)
                                                  : std::nullopt;
        case AccountState::kInvited:
            return told == AccountState::kBlocked ? std::optional(EventType::kUserReactivated) : std::nullopt;
        case AccountState::kClaimed:
            return told == AccountState::kBlocked ? EventType::kUserReactivated : EventType::kAccountClaimed;
        case AccountState::kPending:
            return told == AccountState::kBlocked ? EventType::kUserReactivated : EventType::kAccountPending;
        case AccountState::kActive:
            return told == AccountState::kBlocked ? EventType::kUserReactivated : EventType::kAccountActivated;
    }
    return std::nullopt;
}

json::object previous_values(const json::object& before, const json::object& now) {
    json::object previous;
    for (const auto& [key, value] : now) {
        const json::value* old = before.if_contains(key);
        if (old == nullptr) {
            previous[key] = nullptr;
        } else if (*old != value) {
            previous[key] = *old;
        }
    }
    for (const auto& [key, value] : before) {
        if (!now.contains(key)) {
            previous[key] = value;
        }
    }
    return previous;
}

}  // namespace scimbridge::mappers
