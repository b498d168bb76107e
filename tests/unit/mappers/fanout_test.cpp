// The fan-out decision for one person and one app (DESIGN §5): entering an app's scope creates
// the account, leaving it blocks the account, coming back restores the state the block
// interrupted. The worker feeds each decision back as what the app holds; so do these tests.
#include "mappers/fanout.hpp"

#include "mappers/delivery.hpp"
#include "scim/schema.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;

namespace {

constexpr auto kAllButBlocked = {AccountState::kInitiated,
                                 AccountState::kInvited,
                                 AccountState::kClaimed,
                                 AccountState::kPending,
                                 AccountState::kActive};

UserFacts in_scope() {
    return UserFacts{.exists = true, .active = true, .in_scope = true};
}
UserFacts out_of_scope() {
    return UserFacts{.exists = true, .active = true, .in_scope = false};
}

// What the app holds after a delivery that sent `d` (as the worker records it).
AppObject held_after(const UserDecision& d) {
    AppObject o;
    o.state = d.state;
    o.state_before_block = d.state == AccountState::kBlocked ? d.state_before_block : std::nullopt;
    o.delivered_state = d.state;
    o.delivered_version = 1;
    return o;
}

AppObject holding(AccountState state) {
    AppObject o;
    o.state = state;
    o.delivered_state = state;
    o.delivered_version = 1;
    return o;
}

scimbridge::scim::StoredResource user(const std::string& department,
                                      std::optional<std::vector<std::string>> groups) {
    scimbridge::scim::StoredResource r;
    r.id = "2819c223-7f76-453a-919d-413861904646";
    r.schemas = {"urn:ietf:params:scim:schemas:core:2.0:User",
                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"};
    r.document = json::object{{"userName", "ann@example.com"},
                              {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                               json::object{{"department", department}}}};
    if (groups) {
        r.groups.emplace();
        for (const std::string& g : *groups) {
            r.groups->push_back(scimbridge::scim::GroupRef{g, "", true});
        }
    }
    return r;
}

AppDefinition app_scoped(json::object scope) {
    auto app =
        decode_app(json::object{{"name", "sales"},
                                {"connector", "webhook"},
                                {"scope", std::move(scope)},
                                {"webhook", json::object{{"url", "https://crm.example.com/h"}}}},
                   scimbridge::scim::SchemaRegistry::core());
    REQUIRE_MESSAGE(app.has_value(), (app ? "" : app.error().detail));
    return std::move(*app);
}

}  // namespace

TEST_SUITE("mappers.fanout") {
TEST_CASE("DESIGN 5: entering scope creates the account, initiated or (invite never) active") {
    const UserDecision d = decide_user(AppPolicies{}, std::nullopt, in_scope(), true);
    CHECK(d.send);
    CHECK(d.type == EventType::kUserCreated);
    CHECK(d.state == AccountState::kInitiated);
    REQUIRE(d.change.has_value());
    CHECK_FALSE(d.change->from.has_value());
    CHECK(d.change->to == AccountState::kInitiated);
    CHECK(d.change->cause == "enter_scope");

    AppPolicies sso;
    sso.invite = InvitePolicy::kNever;
    CHECK(decide_user(sso, std::nullopt, in_scope(), true).state == AccountState::kActive);
}

TEST_CASE("a person outside the scope gets no account and the app is told nothing") {
    const UserDecision d = decide_user(AppPolicies{}, std::nullopt, out_of_scope(), true);
    CHECK_FALSE(d.send);
    CHECK_FALSE(d.state.has_value());
    CHECK_FALSE(d.change.has_value());
    CHECK(d.reason == "not in scope");
}

TEST_CASE("DESIGN 5: leaving scope blocks the account from every state, and the app is told") {
    for (const AccountState s : kAllButBlocked) {
        CAPTURE(to_string(s));
        const UserDecision d = decide_user(AppPolicies{}, holding(s), out_of_scope(), false);
        CHECK(d.send);
        CHECK(d.type == EventType::kUserDeactivated);
        CHECK(d.state == AccountState::kBlocked);
        CHECK(d.previous_state == s);
        CHECK(d.state_before_block == s);
        REQUIRE(d.change.has_value());
        CHECK(d.change->from == s);
        CHECK(d.change->to == AccountState::kBlocked);
        CHECK(d.change->cause == "left_scope");
    }
}

TEST_CASE("a blocked account out of scope stays blocked and nothing more is sent") {
    AppObject o = holding(AccountState::kBlocked);
    o.state_before_block = AccountState::kInvited;
    const UserDecision d = decide_user(AppPolicies{}, o, out_of_scope(), true);
    CHECK_FALSE(d.send);
    CHECK(d.state == AccountState::kBlocked);
    CHECK_FALSE(d.change.has_value());
}

TEST_CASE("DESIGN 5: back in scope, the account returns to the state before blocking") {
    for (const AccountState s : kAllButBlocked) {
        CAPTURE(to_string(s));
        AppObject o = holding(AccountState::kBlocked);
        o.state_before_block = s;
        const UserDecision d = decide_user(AppPolicies{}, o, in_scope(), false);
        CHECK(d.send);
        CHECK(d.type == EventType::kUserReactivated);
        CHECK(d.state == s);
        CHECK(d.previous_state == AccountState::kBlocked);
        REQUIRE(d.change.has_value());
        CHECK(d.change->from == AccountState::kBlocked);
        CHECK(d.change->to == s);
    }
}

TEST_CASE("the restore is audited with what lifted the block: back in scope, or IdP reactivation") {
    AppObject o = holding(AccountState::kBlocked);
    o.state_before_block = AccountState::kInitiated;
    o.blocked_for_scope = true;
    const UserDecision entered = decide_user(AppPolicies{}, o, in_scope(), false);
    REQUIRE(entered.change.has_value());
    CHECK(entered.change->cause == "entered_scope");

    o.blocked_for_scope = false;  // blocked by IdP active=false
    const UserDecision reactivated = decide_user(AppPolicies{}, o, in_scope(), false);
    REQUIRE(reactivated.change.has_value());
    CHECK(reactivated.change->cause == "idp_reactivated");
}

TEST_CASE("an admin block holds when the person comes back into scope") {
    AppObject o = holding(AccountState::kBlocked);
    o.state_before_block = AccountState::kActive;
    o.blocked_by_admin = true;
    const UserDecision d = decide_user(AppPolicies{}, o, in_scope(), true);
    CHECK_FALSE(d.send);
    CHECK(d.state == AccountState::kBlocked);
}

TEST_CASE("in scope, out, in again: initiated, blocked, initiated (the state is carried)") {
    // Restoring without a recorded state would give active (restored_state's default): an
    // initiated account that came back active would have skipped its invitation.
    const UserDecision created = decide_user(AppPolicies{}, std::nullopt, in_scope(), true);
    REQUIRE(created.state == AccountState::kInitiated);
    const UserDecision left =
        decide_user(AppPolicies{}, held_after(created), out_of_scope(), false);
    REQUIRE(left.state == AccountState::kBlocked);
    const UserDecision back = decide_user(AppPolicies{}, held_after(left), in_scope(), false);
    CHECK(back.send);
    CHECK(back.type == EventType::kUserReactivated);
    CHECK(back.state == AccountState::kInitiated);
    // Unchanged since: the next delivery of the same person sends nothing.
    CHECK_FALSE(decide_user(AppPolicies{}, held_after(back), in_scope(), false).send);
}

TEST_CASE("the scope: a SCIM filter over users and a group whose members are in scope") {
    const auto& registry = scimbridge::scim::SchemaRegistry::core();
    const AppDefinition by_department =
        app_scoped(json::object{{"filter",
                                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
                                 "department eq \"Sales\""}});
    CHECK(user_in_scope(by_department, user("Sales", std::nullopt), registry));
    CHECK_FALSE(user_in_scope(by_department, user("Finance", std::nullopt), registry));

    const std::string group = "e9e30dba-f08f-4109-8486-d5c6a331660a";
    const AppDefinition by_group = app_scoped(json::object{{"group", group}});
    CHECK(user_in_scope(
        by_group, user("Sales", std::vector<std::string>{"other", group}), registry));
    CHECK_FALSE(
        user_in_scope(by_group, user("Sales", std::vector<std::string>{"other"}), registry));
    CHECK_FALSE(user_in_scope(by_group, user("Sales", std::vector<std::string>{}), registry));

    // Both: the filter and the group must hold.
    const AppDefinition both = app_scoped(json::object{
        {"filter",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"Sales\""},
        {"group", group}});
    CHECK(user_in_scope(both, user("Sales", std::vector<std::string>{group}), registry));
    CHECK_FALSE(
        user_in_scope(both, user("Finance", std::vector<std::string>{group}), registry));
    CHECK_FALSE(user_in_scope(both, user("Sales", std::vector<std::string>{}), registry));
}

}  // TEST_SUITE
