#pragma once
// PostgreSQL implementation of the tenancy ports (scim/tenancy.hpp).

#include "db/database.hpp"
#include "scim/tenancy.hpp"

namespace scimbridge::db {

// NOTIFY channel on which revoke_token announces the revoked token id.
inline constexpr const char* kTokenRevokedChannel = "scim_bridge_token_revoked";

class PgTenancyStore final : public scim::TenantStore, public scim::TokenStore {
public:
    explicit PgTenancyStore(Database& db) : db_(db) {}

    scim::Result<scim::Tenant> create_tenant(const std::string& name) override;
    std::vector<scim::Tenant> list_tenants() override;
    std::optional<scim::Tenant> find_tenant_by_name(const std::string& name) override;

    scim::Result<scim::TokenRecord> insert_token(const scim::TokenRecord& token) override;
    std::optional<scim::TokenRecord> find_token(const std::string& id) override;
    std::vector<scim::TokenRecord> list_tokens(const std::string& tenant_id) override;
    scim::Result<scim::TokenRecord> revoke_token(const std::string& id) override;

private:
    Database& db_;
};

}  // namespace scimbridge::db
