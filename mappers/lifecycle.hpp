#pragma once
// The account lifecycle of DESIGN §5 beyond what deliveries decide: invitations with claim links,
// reminders and expiry, claims, access codes, approvals, the app's first-login callback, admin
// block/unblock/delete. Every action is planned here from the account as it is (read and locked
// by the store in one transaction) and checked against the transition table; the store writes
// the plan in that same transaction: the state, its audit, the invitation or code rows, the mail
// rows and a delivery that tells the app.

#include "mappers/account_state.hpp"
#include "mappers/app.hpp"
#include "mappers/claim_tokens.hpp"
#include "mappers/delivery.hpp"
#include "mappers/fanout.hpp"
#include "scim/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace scimbridge::mappers {

// Windows of DESIGN §5, all multiplied by time_scale (tests run days in seconds).
struct LifecycleSettings {
    std::chrono::seconds invitation_ttl{7 * 86400};
    std::chrono::seconds first_reminder{3 * 86400};
    std::chrono::seconds second_reminder{5 * 86400};
    std::chrono::seconds access_code_ttl{90 * 86400};
    std::chrono::seconds reactivation_window{4 * 86400};
    std::chrono::seconds delivery_retention{7 * 86400};  // finished deliveries kept for the admin API
    double time_scale = 1.0;
    std::string public_base_url;  // claim links: <public_base_url>/claim/<token>
    bool email_enabled = false;   // an SMTP relay is configured

    std::chrono::milliseconds scaled(std::chrono::seconds window) const;
};

// The account and its person as the store read them (row locked).
struct AccountSnapshot {
    std::optional<AccountState> state;  // nullopt: the app has no account for this user
    std::optional<AccountState> state_before_block;
    bool user_exists = false;
    bool user_active = true;
    std::string user_name;
    std::string display_name;
    std::optional<std::string> email;   // primary (else work, else first) email of the user
    std::string locale;                 // the user's preferredLanguage or locale, when set
    std::string app_name;
    std::string tenant_name;
    boost::json::object app_definition;  // stored form
    bool has_open_invitation = false;
};

struct NewInvitation {
    std::string id;
    std::string token_hash;
    std::chrono::milliseconds expires_in{0};
    std::chrono::milliseconds first_reminder_in{0};
    std::optional<std::string> email;  // mailed to (when mail is on)
    std::string locale;
    std::string copy_to;               // HR/IT summary
};

struct NewAccessCode {
    std::string id;
    std::string code_hash;
    std::chrono::milliseconds expires_in{0};
};

// What one action writes, in order, in the transaction that read the snapshot.
struct AccountPlan {
    std::vector<StateChange> changes;  // the state after the last one is the new state
    bool revoke_invitations = false;   // open links stop working (their unsent mails cancelled)
    std::optional<NewInvitation> invitation;
    bool revoke_access_codes = false;
    std::optional<NewAccessCode> access_code;
    bool notify_app = true;            // a delivery tells the app (its account event)
};

using PlanAction = std::function<scim::Result<AccountPlan>(const AccountSnapshot&)>;

struct AccountOutcome {
    AccountRef account;
    std::optional<AccountState> state;  // after the action
    std::string app_name;
    std::string tenant_name;
    std::string user_name;
};

// A claim link as its landing page shows it.
struct ClaimView {
    std::string app_name;
    std::string tenant_name;
    std::string display_name;
    std::string expires_at;  // RFC 3339
};

// An open claim link or access code for the CSV exports.
struct SecretRow {
    std::string id;       // invitation or access code id (the secret is derived from it)
    std::string user_id;
    std::string user_name;
    std::string email;
    std::string expires_at;
};

struct InvitationMailJob {
    std::int64_t id = 0;
    std::string kind;  // invite, reminder1, reminder2, copy
    std::string recipient;
    std::string locale;
    std::string invitation_id;
    std::string invitation_email;  // the invited person's address (copies name it)
    std::string invitation_state;  // open, claimed, revoked, expired
    std::string expires_at;
    std::string app_name;
    std::string tenant_name;
    std::string user_name;
    std::string display_name;
    int attempts = 0;
};

// An account the bridge should invite now (app policy invite: now, or "invite all").
struct PendingInvite {
    AccountRef account;
};

class LifecycleStore {
public:
    virtual ~LifecycleStore() = default;
    // Locks the account, plans with `plan`, writes the plan; 404 when the app or user is absent.
    virtual scim::Result<AccountOutcome> change_account(const AccountRef& account, const std::string& actor,
                                                        const PlanAction& plan) = 0;
    // Uses the open, unexpired invitation with this hash (exactly one of concurrent claims wins)
    // and plans the claim; 404 for every link that cannot be claimed, whatever the reason.
    virtual scim::Result<AccountOutcome> claim_invitation(const std::string& token_hash,
                                                          const PlanAction& plan) = 0;
    virtual scim::Result<AccountOutcome> redeem_access_code(const std::string& code_hash,
                                                            const PlanAction& plan) = 0;
    virtual std::optional<ClaimView> view_invitation(const std::string& token_hash) = 0;
    // The account named by an app's callback: the canonical user id or the app's own id for it.
    virtual std::optional<AccountRef> find_account(const std::string& app_id, const std::string& user_ref) = 0;
    // The app's webhook secrets (callbacks are signed with them) and its tenant.
    virtual std::optional<StoredApp> app_by_id(const std::string& app_id) = 0;

    virtual std::vector<SecretRow> open_invitations(const std::string& tenant_id, const std::string& app_id) = 0;
    virtual std::vector<SecretRow> open_access_codes(const std::string& tenant_id, const std::string& app_id) = 0;
    // Accounts in `initiated` of apps whose policy invites now (all initiated accounts of
    // `only_app` when given: "invite all"), without an open invitation; at most `limit`.
    virtual std::vector<PendingInvite> accounts_to_invite(std::size_t limit,
                                                          const std::optional<AccountRef>& only_app) = 0;

    // An audit entry about an account (e.g. invitation.refused, which keeps the scheduler from
    // retrying an invitation that cannot be sent until the account changes).
    virtual void record(const AccountRef& account, const std::string& actor, const std::string& action,
                        const boost::json::object& detail) = 0;
    // "Invite all": the app's policy becomes invite: now (audited); false when there is no such app.
    virtual bool set_invite_now(const std::string& tenant_id, const std::string& app_id, const std::string& actor) = 0;

    // Scheduled work; each returns how many rows it handled (at most `limit`).
    virtual std::size_t expire_invitations(std::size_t limit) = 0;
    virtual std::size_t send_reminders(std::size_t limit, std::chrono::milliseconds second_reminder_after) = 0;
    virtual std::size_t purge_memberships(std::size_t limit, std::chrono::milliseconds window) = 0;
    // Deletes finished deliveries (delivered, superseded, skipped) older than `retention`; dead
    // ones stay for replay.
    virtual std::size_t prune_deliveries(std::size_t limit, std::chrono::milliseconds retention) = 0;

    // Invitation mails.
    virtual std::vector<InvitationMailJob> claim_mails(std::size_t limit, std::chrono::milliseconds lease) = 0;
    virtual void finish_mail(std::int64_t id, const std::string& state, const std::string& error,
                             std::chrono::milliseconds retry_in) = 0;
};

// --- Pure planning (unit-tested) ---

enum class AdminAction { kInvite, kBlock, kUnblock, kApprove, kDeny, kDelete, kFirstLogin };

// The transitions a claim causes under the app's policies: invited → claimed, then → active
// (activation on claim, or approval granted by policy) or → pending (waiting for an admin or the
// first sign-in).
std::vector<StateChange> claim_transitions(const AppPolicies& policies, const std::optional<std::string>& email);

// Plans an admin action (or the app's first-login callback) on an account; 409 with a clear
// detail when the table does not allow it, 404 when there is no account.
scim::Result<AccountPlan> plan_admin_action(AdminAction action, const AccountSnapshot& account);

// Plans an invitation (first or resend): 409 unless initiated or invited, 400 for a generic
// mailbox or (with mail on and no other channel) a missing email.
scim::Result<AccountPlan> plan_invitation(const AccountSnapshot& account, const LifecycleSettings& settings,
                                          const AppPolicies& policies, std::string invitation_id,
                                          const SecretKey& key, bool app_channel);

// --- The service the handlers and the scheduler call ---

class LifecycleService {
public:
    LifecycleService(LifecycleStore& store, const SecretKey& key, LifecycleSettings settings);

    struct Invited {
        AccountOutcome outcome;
        std::string claim_url;
        std::string expires_at;
    };
    // An invitation, or a resend (revoking the earlier link) when the account is invited already.
    scim::Result<Invited> invite(const AccountRef& account, const std::string& actor);
    // The bridge's own invitation of an account that entered scope (policy invite: now): nullopt
    // when the account is no longer initiated, e.g. invited a moment ago by the other of the two
    // paths that invite (the delivery that made it initiated, and the lifecycle job's sweep).
    // Never a resend: a second automatic invitation would revoke the link just mailed.
    scim::Result<std::optional<Invited>> invite_entered(const AccountRef& account);
    scim::Result<AccountOutcome> act(const AccountRef& account, AdminAction action, const std::string& actor);

    struct IssuedCode {
        AccountOutcome outcome;
        std::string code;
        std::string expires_at;
    };
    scim::Result<IssuedCode> issue_access_code(const AccountRef& account, const std::string& actor);
    scim::Result<AccountOutcome> revoke_access_code(const AccountRef& account, const std::string& actor);

    std::optional<ClaimView> view(std::string_view token);
    scim::Result<AccountOutcome> claim(std::string_view token);
    scim::Result<AccountOutcome> redeem(std::string_view code);

    // Invites (up to `limit`) the accounts the policies say should be invited now; returns how
    // many were invited. `only_app`: invite every initiated account of that app ("invite all").
    std::size_t invite_pending(std::size_t limit, const std::optional<AccountRef>& only_app);

    // CSV (RFC 4180) of an app's open claim links / access codes.
    std::string claim_links_csv(const std::string& tenant_id, const std::string& app_id);
    std::string access_codes_csv(const std::string& tenant_id, const std::string& app_id);

    std::string claim_url(const std::string& invitation_id) const;
    const LifecycleSettings& settings() const { return settings_; }
    LifecycleStore& store() const { return store_; }

private:
    // invite and invite_entered: nullopt when `first_only` and the account is not initiated.
    scim::Result<std::optional<Invited>> invite_account(const AccountRef& account, const std::string& actor,
                                                        bool first_only);

    LifecycleStore& store_;
    const SecretKey& key_;
    LifecycleSettings settings_;
};

// A new random UUID (v4) for invitation and code rows.
std::string random_uuid();

// A CSV field (RFC 4180), with cells that a spreadsheet would run as a formula (=, +, -, @)
// prefixed by an apostrophe.
std::string csv_field(std::string_view text);

}  // namespace scimbridge::mappers
