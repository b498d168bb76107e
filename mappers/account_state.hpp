#pragma once
// Account state of one person in one downstream app (DESIGN §5) and the table of allowed
// transitions. The table is data: every later piece (fan-out, invitations, admin actions) asks it
// instead of deciding on its own, so an illegal jump is impossible by construction.

#include <optional>
#include <span>
#include <string_view>

namespace scimbridge::mappers {

enum class AccountState { kInitiated, kInvited, kClaimed, kPending, kActive, kBlocked };

// What happened; each transition is audited with its event as the cause.
enum class AccountEvent {
    kInvite,         // app policy "invite now", or an admin invite / resend
    kInviteExpired,  // the claim link expired unclaimed
    kClaim,          // the person accepted (claim link or access code)
    kAwaitApproval,  // accepted, but the app activates on approval or on first login
    kApprove,        // admin approval or an allowlisted domain
    kFirstLogin,     // the app reported the first sign-in
    kActivate,       // SSO-only app, or activation on claim
    kBlock,          // IdP active=false or delete, leaving scope, admin block
    kUnblock,        // admin unblock
    kRestore,        // IdP reactivation or re-entering scope: back to the state before blocking
};

struct Transition {
    AccountState from;
    AccountEvent event;
    AccountState to;
};

std::span<const Transition> transition_table();

// The state after `event`, or nullopt when the table has no such transition. kRestore has one
// row per state it can restore, so it is answered by restored_state instead.
std::optional<AccountState> next_state(AccountState from, AccountEvent event);

// Whether the table allows from --event--> to.
bool allowed(AccountState from, AccountEvent event, AccountState to);

// The state a blocked account returns to on kRestore: the state it had before it was blocked
// (active when unknown).
AccountState restored_state(std::optional<AccountState> before_block);

std::string_view to_string(AccountState state);
std::optional<AccountState> parse_account_state(std::string_view text);
std::string_view to_string(AccountEvent event);

}  // namespace scimbridge::mappers
