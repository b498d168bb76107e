#pragma once
// PostgreSQL implementation of mappers::LifecycleStore: every account action reads and locks the
// account, lets the caller plan, and writes the plan (state, audit, invitation, access code,
// mails, the delivery that tells the app) in one transaction. Claims are one conditional UPDATE
// of the invitation (or code) row, so of concurrent claims exactly one wins.

#include "db/database.hpp"
#include "mappers/lifecycle.hpp"

namespace scimbridge::db {

class PgLifecycleStore final : public mappers::LifecycleStore {
public:
    explicit PgLifecycleStore(Database& db) : db_(db) {}

    scim::Result<mappers::AccountOutcome> change_account(const mappers::AccountRef& account,
                                                         const std::string& actor,
                                                         const mappers::PlanAction& plan) override;
    scim::Result<mappers::AccountOutcome> claim_invitation(const std::string& token_hash,
                                                           const mappers::PlanAction& plan) override;
    scim::Result<mappers::AccountOutcome> redeem_access_code(const std::string& code_hash,
                                                             const mappers::PlanAction& plan) override;
    std::optional<mappers::ClaimView> view_invitation(const std::string& token_hash) override;
    std::optional<mappers::AccountRef> find_account(const std::string& app_id, const std::string& user_ref) override;
    std::optional<mappers::StoredApp> app_by_id(const std::string& app_id) override;
    std::vector<mappers::SecretRow> open_invitations(const std::string& tenant_id, const std::string& app_id) override;
    std::vector<mappers::SecretRow> open_access_codes(const std::string& tenant_id, const std::string& app_id) override;
    std::vector<mappers::PendingInvite> accounts_to_invite(std::size_t limit,
                                                           const std::optional<mappers::AccountRef>& only_app) override;
    void record(const mappers::AccountRef& account, const std::string& actor, const std::string& action,
                const boost::json::object& detail) override;
    bool set_invite_now(const std::string& tenant_id, const std::string& app_id, const std::string& actor) override;
    std::size_t expire_invitations(std::size_t limit) override;
    std::size_t send_reminders(std::size_t limit, std::chrono::milliseconds second_reminder_after) override;
    std::size_t purge_memberships(std::size_t limit, std::chrono::milliseconds window) override;
    std::size_t prune_deliveries(std::size_t limit, std::chrono::milliseconds retention) override;
    std::vector<mappers::InvitationMailJob> claim_mails(std::size_t limit, std::chrono::milliseconds lease) override;
    void finish_mail(std::int64_t id, const std::string& state, const std::string& error,
                     std::chrono::milliseconds retry_in) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
