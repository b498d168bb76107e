#include "mappers/account_state.hpp"

#include <array>

namespace scimbridge::mappers {

namespace {
using S = AccountState;
using E = AccountEvent;

constexpr std::array kTransitions = {
    Transition{S::kInitiated, E::kInvite, S::kInvited},
    Transition{S::kInitiated, E::kActivate, S::kActive},
    Transition{S::kInitiated, E::kBlock, S::kBlocked},
    Transition{S::kInvited, E::kInvite, S::kInvited},  // resend: a new link revokes the old one
    Transition{S::kInvited, E::kInviteExpired, S::kInitiated},
    Transition{S::kInvited, E::kClaim, S::kClaimed},
    Transition{S::kInvited, E::kBlock, S::kBlocked},
    Transition{S::kClaimed, E::kAwaitApproval, S::kPending},
    Transition{S::kClaimed, E::kActivate, S::kActive},
    Transition{S::kClaimed, E::kBlock, S::kBlocked},
    Transition{S::kPending, E::kApprove, S::kActive},
    Transition{S::kPending, E::kFirstLogin, S::kActive},
    Transition{S::kPending, E::kBlock, S::kBlocked},
    Transition{S::kActive, E::kBlock, S::kBlocked},
    Transition{S::kBlocked, E::kUnblock, S::kActive},
    Transition{S::kBlocked, E::kRestore, S::kInitiated},
    Transition{S::kBlocked, E::kRestore, S::kInvited},
    Transition{S::kBlocked, E::kRestore, S::kClaimed},
    Transition{S::kBlocked, E::kRestore, S::kPending},
    Transition{S::kBlocked, E::kRestore, S::kActive},
};
}  // namespace

std::span<const Transition> transition_table() { return kTransitions; }

std::optional<AccountState> next_state(AccountState from, AccountEvent event) {
    if (event == E::kRestore) {
        return std::nullopt;
    }
    for (const Transition& t : kTransitions) {
        if (t.from == from && t.event == event) {
            return t.to;
        }
    }
    return std::nullopt;
}

bool allowed(AccountState from, AccountEvent event, AccountState to) {
    for (const Transition& t : kTransitions) {
        if (t.from == from && t.event == event && t.to == to) {
            return true;
        }
    }
    return false;
}

AccountState restored_state(std::optional<AccountState> before_block) {
    if (!before_block || *before_block == S::kBlocked) {
        return S::kActive;
    }
    return *before_block;
}

std::string_view to_string(AccountState state) {
    switch (state) {
        case S::kInitiated: return "initiated";
        case S::kInvited: return "invited";
        case S::kClaimed: return "claimed";
        case S::kPending: return "pending";
        case S::kActive: return "active";
        case S::kBlocked: return "blocked";
    }
    return "initiated";
}

std::optional<AccountState> parse_account_state(std::string_view text) {
    constexpr std::array kAll = {
        S::kInitiated, S::kInvited, S::kClaimed, S::kPending, S::kActive, S::kBlocked};
    for (const S s : kAll) {
        if (to_string(s) == text) {
            return s;
        }
    }
    return std::nullopt;
}

std::string_view to_string(AccountEvent event) {
    switch (event) {
        case E::kInvite: return "invite";
        case E::kInviteExpired: return "invite_expired";
        case E::kClaim: return "claim";
        case E::kAwaitApproval: return "await_approval";
        case E::kApprove: return "approve";
        case E::kFirstLogin: return "first_login";
        case E::kActivate: return "activate";
        case E::kBlock: return "block";
        case E::kUnblock: return "unblock";
        case E::kRestore: return "restore";
    }
    return "invite";
}

}  // namespace scimbridge::mappers
