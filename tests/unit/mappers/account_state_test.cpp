#include "mappers/account_state.hpp"

#include <doctest/doctest.h>

#include <set>
#include <utility>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity

TEST_SUITE("mappers.account_state") {
TEST_CASE("DESIGN 5: the invitation path initiated -> invited -> claimed -> pending -> active") {
    auto s = next_state(AccountState::kInitiated, AccountEvent::kInvite);
    REQUIRE(s.has_value());
    CHECK(*s == AccountState::kInvited);
    s = next_state(*s, AccountEvent::kClaim);
    REQUIRE(s.has_value());
    CHECK(*s == AccountState::kClaimed);
    s = next_state(*s, AccountEvent::kAwaitApproval);
    REQUIRE(s.has_value());
    CHECK(*s == AccountState::kPending);
    s = next_state(*s, AccountEvent::kApprove);
    REQUIRE(s.has_value());
    CHECK(*s == AccountState::kActive);
}

TEST_CASE("SSO-only apps go straight to active, and expiry returns to initiated") {
    CHECK(next_state(AccountState::kInitiated, AccountEvent::kActivate) == AccountState::kActive);
    CHECK(next_state(AccountState::kInvited, AccountEvent::kInviteExpired) ==
          AccountState::kInitiated);
}

TEST_CASE("every state but blocked can be blocked, and blocked only unblocks") {
    for (const auto s : {AccountState::kInitiated, AccountState::kInvited, AccountState::kClaimed,
                         AccountState::kPending, AccountState::kActive}) {
        CAPTURE(to_string(s));
        CHECK(next_state(s, AccountEvent::kBlock) == AccountState::kBlocked);
    }
    CHECK(next_state(AccountState::kBlocked, AccountEvent::kUnblock) == AccountState::kActive);
    CHECK_FALSE(next_state(AccountState::kBlocked, AccountEvent::kClaim).has_value());
    CHECK_FALSE(next_state(AccountState::kBlocked, AccountEvent::kBlock).has_value());
}

TEST_CASE("illegal jumps are refused") {
    CHECK_FALSE(next_state(AccountState::kInitiated, AccountEvent::kClaim).has_value());
    CHECK_FALSE(next_state(AccountState::kActive, AccountEvent::kInvite).has_value());
    CHECK_FALSE(next_state(AccountState::kClaimed, AccountEvent::kApprove).has_value());
}

TEST_CASE("the table is deterministic: one target per (state, event), except restore") {
    std::set<std::pair<AccountState, AccountEvent>> seen;
    for (const Transition& t : transition_table()) {
        if (t.event != AccountEvent::kRestore) {
            CHECK(seen.insert({t.from, t.event}).second);
        }
    }
}

TEST_CASE("reactivation restores the state before blocking") {
    for (const auto s : {AccountState::kInitiated, AccountState::kInvited, AccountState::kClaimed,
                         AccountState::kPending, AccountState::kActive}) {
        CAPTURE(to_string(s));
        CHECK(restored_state(s) == s);
        CHECK(allowed(AccountState::kBlocked, AccountEvent::kRestore, s));
    }
    CHECK(restored_state(std::nullopt) == AccountState::kActive);
    CHECK(restored_state(AccountState::kBlocked) == AccountState::kActive);
    CHECK_FALSE(allowed(AccountState::kActive, AccountEvent::kRestore, AccountState::kActive));
    CHECK_FALSE(next_state(AccountState::kBlocked, AccountEvent::kRestore).has_value());
}

TEST_CASE("state names round-trip") {
    for (const auto s : {AccountState::kInitiated, AccountState::kInvited, AccountState::kClaimed,
                         AccountState::kPending, AccountState::kActive, AccountState::kBlocked}) {
        CHECK(parse_account_state(to_string(s)) == s);
    }
    CHECK_FALSE(parse_account_state("deleted").has_value());
}
}
