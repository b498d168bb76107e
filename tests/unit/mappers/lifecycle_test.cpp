// Lifecycle planning (mappers/lifecycle.hpp) and claim secrets (mappers/claim_tokens.hpp): pure,
// no database. A model-based test drives random action sequences through the planners and checks
// every transition against the table and the final state against an independent model.
#include "mappers/claim_tokens.hpp"
#include "mappers/lifecycle.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
using S = AccountState;

namespace {

const SecretKey& key() {
    static const SecretKey k(std::string(32, 'k'));
    return k;
}

AccountSnapshot account(std::optional<S> state, std::optional<std::string> email = "ann@example.com") {
    AccountSnapshot s;
    s.state = state;
    s.user_exists = true;
    s.email = std::move(email);
    s.app_definition = {{"connector", "webhook"}};
    return s;
}

LifecycleSettings settings() {
    LifecycleSettings s;
    s.email_enabled = true;
    return s;
}

// Whether some row of the table leads from `from` to `to`.
bool in_table(S from, S to) {
    for (const Transition& t : transition_table()) {
        if (t.from == from && t.to == to) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_SUITE("mappers.lifecycle") {

TEST_CASE("claim tokens are derived, stable per id, distinct across ids and keys, and stored only as a hash") {
    const std::string a = claim_token(key(), "11111111-1111-4111-8111-111111111111");
    CHECK(a.size() == 43);
    CHECK(plausible_claim_token(a));
    CHECK(a == claim_token(key(), "11111111-1111-4111-8111-111111111111"));
    CHECK(a != claim_token(key(), "22222222-2222-4222-8222-222222222222"));
    CHECK(a != claim_token(SecretKey(std::string(32, 'x')), "11111111-1111-4111-8111-111111111111"));
    CHECK(secret_hash(a).size() == 64);
    CHECK(secret_hash(a).find(a) == std::string::npos);
    CHECK_FALSE(plausible_claim_token(a.substr(1)));
    CHECK_FALSE(plausible_claim_token(a.substr(1) + "/"));
    CHECK_THROWS_AS(SecretKey(std::string(31, 'k')), std::invalid_argument);
    std::string error;
    CHECK_FALSE(SecretKey::from_hex("abc", error).has_value());
    CHECK(SecretKey::from_hex(SecretKey::generate_hex() + "\n", error).has_value());
}

TEST_CASE("access codes are 16 letters without I, L or O and survive how people type them") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string code = access_code(key(), "id-" + std::to_string(i));
        REQUIRE(code.size() == 16);
        CHECK(code.find_first_of("ILO0123456789") == std::string::npos);
        seen.insert(code);
        std::string typed = code.substr(0, 4) + "-" + code.substr(4, 4) + " " + code.substr(8);
        for (char& c : typed) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        CHECK(normalize_access_code(typed) == code);
    }
    CHECK(seen.size() == 200);
    CHECK_FALSE(normalize_access_code("ABCDEFGHJKMNPQR").has_value());    // 15 letters
    CHECK_FALSE(normalize_access_code("ABCDEFGHJKMNPQRI").has_value());   // I is not in the alphabet
    CHECK_FALSE(normalize_access_code(std::string(100, 'A')).has_value());
}

TEST_CASE("claims follow the activation and approval policies") {
    AppPolicies p;
    p.activation = ActivationPolicy::kOnClaim;
    CHECK(claim_transitions(p, std::nullopt).back().to == S::kActive);
    p.activation = ActivationPolicy::kOnFirstLogin;
    CHECK(claim_transitions(p, std::nullopt).back().to == S::kPending);
    p.activation = ActivationPolicy::kOnApproval;
    p.approval = ApprovalPolicy::kAutoAll;
    CHECK(claim_transitions(p, std::nullopt).back().to == S::kActive);
    p.approval = ApprovalPolicy::kManual;
    CHECK(claim_transitions(p, "a@x.org").back().to == S::kPending);
    p.approval = ApprovalPolicy::kDomainAllowlist;
    p.approve_domains = {"Example.COM"};
    CHECK(claim_transitions(p, "ann@example.com").back().to == S::kActive);
    CHECK(claim_transitions(p, "ann@example.com.evil.org").back().to == S::kPending);
    CHECK(claim_transitions(p, std::nullopt).back().to == S::kPending);
    for (const StateChange& c : claim_transitions(p, "ann@example.com")) {
        CHECK(in_table(*c.from, c.to));
    }
}

TEST_CASE("invitations: who can be invited, where, and what a resend revokes") {
    const AppPolicies p;
    auto plan = plan_invitation(account(S::kInitiated), settings(), p, "inv-1", key(), false);
    REQUIRE(plan.has_value());
    CHECK(plan->changes.at(0).to == S::kInvited);
    CHECK(plan->revoke_invitations);
    REQUIRE(plan->invitation.has_value());
    CHECK(plan->invitation->token_hash == secret_hash(claim_token(key(), "inv-1")));
    CHECK(plan->invitation->email == std::optional<std::string>("ann@example.com"));
    CHECK(plan->invitation->expires_in == std::chrono::hours(7 * 24));

    auto resend = plan_invitation(account(S::kInvited), settings(), p, "inv-2", key(), false);
    REQUIRE(resend.has_value());
    CHECK(resend->changes.at(0).cause == "resend");

    CHECK(plan_invitation(account(S::kActive), settings(), p, "x", key(), false).error().status == 409);
    CHECK(plan_invitation(account(std::nullopt), settings(), p, "x", key(), false).error().status == 409);
    const auto generic = plan_invitation(account(S::kInitiated, "Sales@example.com"), settings(), p, "x", key(), true);
    REQUIRE_FALSE(generic.has_value());
    CHECK(generic.error().status == 400);
    CHECK(generic.error().detail.find("shared mailbox") != std::string::npos);
    // No email: only an app that receives events can carry the invitation.
    CHECK(plan_invitation(account(S::kInitiated, std::nullopt), settings(), p, "x", key(), false).error().status == 400);
    CHECK(plan_invitation(account(S::kInitiated, std::nullopt), settings(), p, "x", key(), true).has_value());
    // Scaled windows.
    LifecycleSettings fast = settings();
    fast.time_scale = 0.001;
    CHECK(plan_invitation(account(S::kInitiated), fast, p, "x", key(), false)->invitation->expires_in ==
          std::chrono::milliseconds(604800));
}

TEST_CASE("admin actions are refused where the table has no transition") {
    CHECK(plan_admin_action(AdminAction::kApprove, account(S::kInvited)).error().status == 409);
    CHECK(plan_admin_action(AdminAction::kDeny, account(S::kActive)).error().status == 409);
    CHECK(plan_admin_action(AdminAction::kUnblock, account(S::kActive)).error().status == 409);
    CHECK(plan_admin_action(AdminAction::kBlock, account(S::kBlocked)).error().status == 409);
    CHECK(plan_admin_action(AdminAction::kDelete, account(S::kClaimed)).error().status == 409);
    CHECK(plan_admin_action(AdminAction::kBlock, account(std::nullopt)).error().status == 404);
    // A repeated first-login callback changes nothing.
    const auto again = plan_admin_action(AdminAction::kFirstLogin, account(S::kActive));
    REQUIRE(again.has_value());
    CHECK(again->changes.empty());
    CHECK_FALSE(again->notify_app);
    // Unblock returns to the state the block interrupted, and not while the IdP has the user off.
    AccountSnapshot blocked = account(S::kBlocked);
    blocked.state_before_block = S::kInvited;
    CHECK(plan_admin_action(AdminAction::kUnblock, blocked)->changes.at(0).to == S::kInvited);
    blocked.user_active = false;
    CHECK(plan_admin_action(AdminAction::kUnblock, blocked).error().status == 409);
}

TEST_CASE("model-based: random action sequences make only table transitions and end where the model says") {
    std::mt19937 rng(20261122);
    const AdminAction actions[] = {AdminAction::kInvite,  AdminAction::kBlock, AdminAction::kUnblock,
                                   AdminAction::kApprove, AdminAction::kDeny,  AdminAction::kDelete,
                                   AdminAction::kFirstLogin};
    for (int sequence = 0; sequence < 2000; ++sequence) {
        AppPolicies policies;
        policies.activation = static_cast<ActivationPolicy>(rng() % 3);
        policies.approval = rng() % 2 == 0 ? ApprovalPolicy::kAutoAll : ApprovalPolicy::kManual;
        AccountSnapshot s = account(S::kInitiated);
        S model = S::kInitiated;
        std::optional<S> model_before_block;
        const int length = 1 + static_cast<int>(rng() % 50);
        for (int step = 0; step < length; ++step) {
            const bool claim = rng() % 4 == 0;
            scimbridge::scim::Result<AccountPlan> plan = scimbridge::scim::Error::conflict("unset");
            // The reference model, written independently of the planners.
            std::optional<S> expect;
            if (claim) {
                if (model == S::kInvited) {
                    const bool waits = policies.activation == ActivationPolicy::kOnFirstLogin ||
                                       (policies.activation == ActivationPolicy::kOnApproval &&
                                        policies.approval == ApprovalPolicy::kManual);
                    expect = waits ? S::kPending : S::kActive;
                    plan = AccountPlan{claim_transitions(policies, s.email)};
                }
            } else {
                const AdminAction a = actions[rng() % std::size(actions)];
                switch (a) {
                    case AdminAction::kInvite:
                        if (model == S::kInitiated || model == S::kInvited) expect = S::kInvited;
                        break;
                    case AdminAction::kBlock:
                        if (model != S::kBlocked) expect = S::kBlocked;
                        break;
                    case AdminAction::kUnblock:
                        if (model == S::kBlocked) expect = model_before_block.value_or(S::kActive);
                        break;
                    case AdminAction::kApprove:
                    case AdminAction::kFirstLogin:
                        if (model == S::kPending) expect = S::kActive;
                        break;
                    case AdminAction::kDeny:
                        if (model == S::kPending) expect = S::kBlocked;
                        break;
                    case AdminAction::kDelete:
                        if (model == S::kInitiated || model == S::kInvited) expect = S::kBlocked;
                        break;
                }
                plan = a == AdminAction::kInvite
                           ? plan_invitation(s, settings(), policies, "inv", key(), true)
                           : plan_admin_action(a, s);
                if (a == AdminAction::kFirstLogin && model == S::kActive) {
                    CHECK(plan->changes.empty());
                    continue;
                }
            }
            CHECK(plan.has_value() == expect.has_value());
            if (!plan || !expect) {
                continue;
            }
            for (const StateChange& c : plan->changes) {
                REQUIRE(c.from.has_value());
                CHECK(in_table(*c.from, c.to));
            }
            // The store's bookkeeping of the state a block interrupts.
            const S to = plan->changes.back().to;
            if (to == S::kBlocked && *s.state != S::kBlocked) {
                s.state_before_block = s.state;
                model_before_block = model;
            } else if (to != S::kBlocked) {
                s.state_before_block.reset();
                model_before_block.reset();
            }
            s.state = to;
            model = *expect;
            CHECK(*s.state == model);
        }
    }
}

TEST_CASE("an app that receives events is owed the lifecycle change it has not heard of") {
    AppObject o;
    o.state = S::kInvited;
    o.delivered_state = S::kInitiated;
    o.invitation = AppObject::OpenInvitation{"inv-1", 0, "2026-11-29T00:00:00Z"};
    std::optional<std::string> key_out;
    CHECK(owed_account_event(o, key_out) == EventType::kAccountInvited);
    CHECK(key_out == std::optional<std::string>("inv-1/0"));
    o.announced_invitation = "inv-1/0";
    o.delivered_state = S::kInvited;
    CHECK_FALSE(owed_account_event(o, key_out).has_value());
    o.invitation->reminders_sent = 1;
    CHECK(owed_account_event(o, key_out) == EventType::kAccountInvitationReminder);
    o.invitation = AppObject::OpenInvitation{"inv-2", 0, "2026-11-30T00:00:00Z"};  // a resend
    CHECK(owed_account_event(o, key_out) == EventType::kAccountInvited);
    o.invitation.reset();
    o.state = S::kPending;
    CHECK(owed_account_event(o, key_out) == EventType::kAccountPending);
    o.delivered_state = S::kBlocked;
    o.state = S::kActive;
    CHECK(owed_account_event(o, key_out) == EventType::kUserReactivated);
    o.delivered_state = S::kActive;
    o.state = S::kBlocked;
    CHECK(owed_account_event(o, key_out) == EventType::kUserDeactivated);
    o.deleted_by_admin = true;  // an unclaimed account an admin deleted
    CHECK(owed_account_event(o, key_out) == EventType::kUserDeleted);
    o.delivered_state.reset();  // delivered before the bridge tracked it: nothing is owed
    CHECK_FALSE(owed_account_event(o, key_out).has_value());
}

TEST_CASE("CSV cells are quoted and cannot run as spreadsheet formulas") {
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("a,b") == "\"a,b\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"");
    CHECK(csv_field("+1") == "'+1");
    CHECK(random_uuid().size() == 36);
    CHECK(random_uuid() != random_uuid());
}

}  // TEST_SUITE
