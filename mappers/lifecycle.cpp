#include "mappers/lifecycle.hpp"

#include "mappers/mail.hpp"
#include "scim/text.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace scimbridge::mappers {

namespace json = boost::json;
using scim::Error;
using S = AccountState;
using E = AccountEvent;

namespace {

std::string rfc3339_after(std::chrono::milliseconds from_now) {
    return rfc3339(std::chrono::system_clock::now() + from_now);
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// The domain of an email in lower case ("" when there is none).
std::string email_domain(const std::optional<std::string>& email) {
    if (!email) {
        return {};
    }
    const auto at = email->rfind('@');
    return at == std::string::npos ? std::string() : lower(std::string_view(*email).substr(at + 1));
}

Error conflict(std::string detail) { return Error::conflict(std::move(detail)); }

std::string state_name(const std::optional<AccountState>& state) {
    return state ? std::string(to_string(*state)) : std::string("none");
}

// A transition the table allows, as an audited change.
scim::Result<StateChange> step(AccountState from, AccountEvent event, std::string cause) {
    const auto to = next_state(from, event);
    if (!to) {
        return conflict("the account is " + std::string(to_string(from)) + ": " +
                        std::string(to_string(event)) + " is not possible from there");
    }
    return StateChange{from, *to, std::move(cause)};
}

scim::Result<AppPolicies> policies_of(const AccountSnapshot& s) {
    const json::value* p = s.app_definition.if_contains("policies");
    if (p == nullptr || !p->is_object()) {
        return AppPolicies{};
    }
    return decode_policies(p->as_object());
}

bool app_receives_events(const AccountSnapshot& s) {
    const json::value* c = s.app_definition.if_contains("connector");
    return c != nullptr && c->is_string() && c->as_string() == "webhook";
}

}  // namespace

std::chrono::milliseconds LifecycleSettings::scaled(std::chrono::seconds window) const {
    const double ms = static_cast<double>(window.count()) * 1000.0 * time_scale;
    return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(ms)));
}

std::vector<StateChange> claim_transitions(const AppPolicies& policies, const std::optional<std::string>& email) {
    std::vector<StateChange> changes{StateChange{S::kInvited, S::kClaimed, "claim"}};
    switch (policies.activation) {
        case ActivationPolicy::kOnClaim:
            changes.push_back(StateChange{S::kClaimed, S::kActive, "activation_on_claim"});
            break;
        case ActivationPolicy::kOnFirstLogin:
            changes.push_back(StateChange{S::kClaimed, S::kPending, "awaiting_first_login"});
            break;
        case ActivationPolicy::kOnApproval: {
            bool approved = policies.approval == ApprovalPolicy::kAutoAll;
            if (policies.approval == ApprovalPolicy::kDomainAllowlist) {
                const std::string domain = email_domain(email);
                for (const std::string& allowed : policies.approve_domains) {
                    approved = approved || (!domain.empty() && lower(allowed) == domain);
                }
            }
            if (approved) {
                changes.push_back(StateChange{S::kClaimed, S::kActive,
                                              policies.approval == ApprovalPolicy::kAutoAll
                                                  ? "auto_approved"
                                                  : "domain_approved"});
            } else {
                changes.push_back(StateChange{S::kClaimed, S::kPending, "awaiting_approval"});
            }
            break;
        }
    }
    return changes;
}

scim::Result<AccountPlan> plan_admin_action(AdminAction action, const AccountSnapshot& s) {
    if (!s.state) {
        return Error::not_found("this user has no account in this app");
    }
    const AccountState current = *s.state;
    AccountPlan plan;
    const auto add = [&](AccountEvent event, std::string cause) -> scim::Result<void> {
        auto change = step(current, event, std::move(cause));
        if (!change) {
            return change.error();
        }
        plan.changes.push_back(*change);
        return {};
    };
    switch (action) {
        case AdminAction::kBlock:
            if (auto r = add(E::kBlock, "admin_block"); !r) return r.error();
            break;
        case AdminAction::kDeny:
            if (current != S::kPending) {
                return conflict("the account is " + state_name(s.state) + ": only pending accounts can be denied");
            }
            if (auto r = add(E::kBlock, "approval_denied"); !r) return r.error();
            plan.revoke_access_codes = true;
            break;
        case AdminAction::kUnblock: {
            if (current != S::kBlocked) {
                return conflict("the account is " + state_name(s.state) + ", not blocked");
            }
            if (!s.user_exists || !s.user_active) {
                return conflict("the identity provider has deactivated or deleted this user; "
                                "the account can be unblocked once the user is active again");
            }
            // Back to where the block interrupted it (an invited person can still claim); the
            // table's kUnblock row (→ active) serves accounts with no earlier state on record.
            if (s.state_before_block && *s.state_before_block != S::kBlocked) {
                plan.changes.push_back(StateChange{current, restored_state(s.state_before_block), "admin_unblock"});
            } else if (auto r = add(E::kUnblock, "admin_unblock"); !r) {
                return r.error();
            }
            break;
        }
        case AdminAction::kApprove:
            if (current != S::kPending) {
                return conflict("the account is " + state_name(s.state) + ": only pending accounts can be approved");
            }
            if (auto r = add(E::kApprove, "admin_approved"); !r) return r.error();
            break;
        case AdminAction::kFirstLogin:
            if (current == S::kActive) {
                plan.notify_app = false;  // a repeated callback: nothing changes
                return plan;
            }
            if (current != S::kPending) {
                return conflict("the account is " + state_name(s.state) + ": a first sign-in moves only pending accounts");
            }
            if (auto r = add(E::kFirstLogin, "first_login"); !r) return r.error();
            break;
        case AdminAction::kDelete:
            if (current != S::kInitiated && current != S::kInvited) {
                return conflict("the account is " + state_name(s.state) +
                                ": claimed accounts are only blocked, so their history is kept");
            }
            if (auto r = add(E::kBlock, "admin_delete"); !r) return r.error();
            plan.revoke_invitations = true;
            plan.revoke_access_codes = true;
            break;
        case AdminAction::kInvite:
            return Error::bad_request("invitations are planned by plan_invitation");
    }
    return plan;
}

scim::Result<AccountPlan> plan_invitation(const AccountSnapshot& s, const LifecycleSettings& settings,
                                          const AppPolicies& policies, std::string invitation_id,
                                          const SecretKey& key, bool app_channel) {
    if (!s.user_exists) {
        return Error::not_found("user not found");
    }
    if (!s.state) {
        return conflict("this user has no account in this app yet (not in its scope, or not delivered yet)");
    }
    if (*s.state != S::kInitiated && *s.state != S::kInvited) {
        return conflict("the account is " + state_name(s.state) + ": only initiated or invited accounts can be invited");
    }
    if (!s.user_active) {
        return conflict("the user is inactive at the identity provider");
    }
    if (s.email) {
        if (!is_plausible_email(*s.email)) {
            return Error::bad_request("the user's email address \"" + *s.email + "\" is not usable for an invitation");
        }
        if (is_generic_mailbox(*s.email)) {
            return Error::bad_request("\"" + *s.email + "\" is a shared mailbox, not a person's: a personal "
                                      "account cannot be invited there (give the person their own address, "
                                      "or issue an access code)");
        }
    }
    const bool mail = settings.email_enabled && policies.invite_email;
    if (!s.email && !app_channel) {
        return Error::bad_request("the user has no email address and the app does not receive invitation "
                                  "events: issue an access code instead");
    }
    if (!mail && !app_channel) {
        return Error::bad_request("no invitation channel: this bridge has no SMTP relay (or the app's policy "
                                  "turns invitation mails off) and the app does not receive events");
    }
    AccountPlan plan;
    auto change = step(*s.state, E::kInvite, *s.state == S::kInvited ? "resend" : "invite");
    if (!change) {
        return change.error();
    }
    plan.changes.push_back(*change);
    plan.revoke_invitations = true;  // a resend revokes the earlier link
    NewInvitation invitation;
    invitation.token_hash = secret_hash(claim_token(key, invitation_id));
    invitation.id = std::move(invitation_id);
    invitation.expires_in = settings.scaled(settings.invitation_ttl);
    invitation.first_reminder_in = settings.scaled(settings.first_reminder);
    if (mail && s.email) {
        invitation.email = s.email;
        invitation.copy_to = policies.copy_to;
    }
    invitation.locale = s.locale.empty() ? policies.locale : s.locale;
    plan.invitation = std::move(invitation);
    return plan;
}

LifecycleService::LifecycleService(LifecycleStore& store, const SecretKey& key, LifecycleSettings settings)
    : store_(store), key_(key), settings_(std::move(settings)) {}

std::string LifecycleService::claim_url(const std::string& invitation_id) const {
    std::string base = settings_.public_base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base + "/claim/" + claim_token(key_, invitation_id);
}

scim::Result<std::optional<LifecycleService::Invited>> LifecycleService::invite_account(const AccountRef& account,
                                                                                      const std::string& actor,
                                                                                      bool first_only) {
    const std::string id = random_uuid();
    bool moved_on = false;  // first_only, and not initiated any more once its row was locked
    auto outcome = store_.change_account(account, actor, [&](const AccountSnapshot& s) -> scim::Result<AccountPlan> {
        if (first_only && s.state != S::kInitiated) {
            moved_on = true;
            return conflict("the account is " + state_name(s.state) + " already");  // rolls back: nothing written
        }
        auto policies = policies_of(s);
        if (!policies) {
            return policies.error();
        }
        return plan_invitation(s, settings_, *policies, id, key_, app_receives_events(s));
    });
    if (moved_on) {
        return std::optional<Invited>();
    }
    if (!outcome) {
        return outcome.error();
    }
    return std::optional<Invited>(
        Invited{std::move(*outcome), claim_url(id), rfc3339_after(settings_.scaled(settings_.invitation_ttl))});
}

scim::Result<LifecycleService::Invited> LifecycleService::invite(const AccountRef& account, const std::string& actor) {
    auto invited = invite_account(account, actor, false);
    if (!invited) {
        return invited.error();
    }
    return std::move(**invited);  // never nullopt: a resend is allowed
}

scim::Result<std::optional<LifecycleService::Invited>> LifecycleService::invite_entered(const AccountRef& account) {
    return invite_account(account, "bridge", true);
}

scim::Result<AccountOutcome> LifecycleService::act(const AccountRef& account, AdminAction action,
                                                   const std::string& actor) {
    return store_.change_account(account, actor, [&](const AccountSnapshot& s) {
        return plan_admin_action(action, s);
    });
}

scim::Result<LifecycleService::IssuedCode> LifecycleService::issue_access_code(const AccountRef& account,
                                                                             const std::string& actor) {
    const std::string id = random_uuid();
    auto outcome = store_.change_account(account, actor, [&](const AccountSnapshot& s) -> scim::Result<AccountPlan> {
        if (!s.state) {
            return Error::not_found("this user has no account in this app");
        }
        if (*s.state != S::kInitiated && *s.state != S::kInvited) {
            return conflict("the account is " + state_name(s.state) +
                            ": access codes serve accounts that are not claimed yet");
        }
        if (!s.user_active) {
            return conflict("the user is inactive at the identity provider");
        }
        AccountPlan plan;
        plan.notify_app = false;
        plan.revoke_access_codes = true;  // a new code revokes the older ones
        plan.access_code = NewAccessCode{id, secret_hash(access_code(key_, id)),
                                         settings_.scaled(settings_.access_code_ttl)};
        return plan;
    });
    if (!outcome) {
        return outcome.error();
    }
    return IssuedCode{std::move(*outcome), access_code(key_, id),
                      rfc3339_after(settings_.scaled(settings_.access_code_ttl))};
}

scim::Result<AccountOutcome> LifecycleService::revoke_access_code(const AccountRef& account, const std::string& actor) {
    return store_.change_account(account, actor, [&](const AccountSnapshot& s) -> scim::Result<AccountPlan> {
        if (!s.state) {
            return Error::not_found("this user has no account in this app");
        }
        AccountPlan plan;
        plan.notify_app = false;
        plan.revoke_access_codes = true;
        return plan;
    });
}

std::optional<ClaimView> LifecycleService::view(std::string_view token) {
    if (!plausible_claim_token(token)) {
        return std::nullopt;
    }
    return store_.view_invitation(secret_hash(token));
}

namespace {

// Claiming needs the account invited (or, with an access code, not yet invited) and the person
// active at the IdP; every refusal is the same generic 404, whatever the reason.
scim::Result<AccountPlan> plan_claim(const AccountSnapshot& s, bool by_code) {
    const auto generic = Error::not_found("this link or code is not valid");
    if (!s.state || !s.user_exists || !s.user_active) {
        return generic;
    }
    auto policies = policies_of(s);
    if (!policies) {
        return generic;
    }
    AccountPlan plan;
    if (*s.state == S::kInitiated && by_code) {
        plan.changes.push_back(StateChange{S::kInitiated, S::kInvited, "access_code"});
    } else if (*s.state != S::kInvited) {
        return generic;
    }
    for (StateChange& c : claim_transitions(*policies, s.email)) {
        plan.changes.push_back(std::move(c));
    }
    plan.revoke_invitations = by_code;
    plan.revoke_access_codes = !by_code;
    return plan;
}

}  // namespace

scim::Result<AccountOutcome> LifecycleService::claim(std::string_view token) {
    if (!plausible_claim_token(token)) {
        return Error::not_found("this link or code is not valid");
    }
    return store_.claim_invitation(secret_hash(token), [](const AccountSnapshot& s) { return plan_claim(s, false); });
}

scim::Result<AccountOutcome> LifecycleService::redeem(std::string_view code) {
    const auto normalized = normalize_access_code(code);
    if (!normalized) {
        return Error::not_found("this link or code is not valid");
    }
    return store_.redeem_access_code(secret_hash(*normalized),
                                     [](const AccountSnapshot& s) { return plan_claim(s, true); });
}

std::size_t LifecycleService::invite_pending(std::size_t limit, const std::optional<AccountRef>& only_app) {
    std::size_t invited = 0;
    for (const PendingInvite& p : store_.accounts_to_invite(limit, only_app)) {
        auto result = invite_entered(p.account);
        if (result) {
            invited += result->has_value() ? 1U : 0U;
        } else {
            store_.record(p.account, "bridge", "invitation.refused",
                          json::object{{"detail", result.error().detail}});
        }
    }
    return invited;
}

namespace {

std::string csv(const std::vector<SecretRow>& rows, std::string_view secret_header,
                const std::function<std::string(const SecretRow&)>& secret) {
    std::string out = "user_id,userName,email," + std::string(secret_header) + ",expires_at\r\n";
    for (const SecretRow& r : rows) {
        out += csv_field(r.user_id) + ',' + csv_field(r.user_name) + ',' + csv_field(r.email) + ',' +
               csv_field(secret(r)) + ',' + csv_field(r.expires_at) + "\r\n";
    }
    return out;
}

}  // namespace

std::string LifecycleService::claim_links_csv(const std::string& tenant_id, const std::string& app_id) {
    return csv(store_.open_invitations(tenant_id, app_id), "claim_url",
               [&](const SecretRow& r) { return claim_url(r.id); });
}

std::string LifecycleService::access_codes_csv(const std::string& tenant_id, const std::string& app_id) {
    return csv(store_.open_access_codes(tenant_id, app_id), "access_code",
               [&](const SecretRow& r) { return access_code(key_, r.id); });
}

std::string random_uuid() {
    std::array<unsigned char, 16> b{};
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

std::string csv_field(std::string_view text) {
    std::string value(text);
    if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@')) {
        value.insert(value.begin(), '\'');
    }
    if (value.find_first_of(",\"\r\n") == std::string::npos) {
        return value;
    }
    std::string out = "\"";
    for (const char c : value) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

}  // namespace scimbridge::mappers
