#pragma once
// An in-memory implementation of the tenancy ports for unit tests of code above the store
// (credentials, dispatcher). The PostgreSQL store is tested against a real server in integration.

#include "scim/tenancy.hpp"

#include <map>

namespace scimbridge::tests {

class InMemoryTenancyStore final : public scim::TenantStore, public scim::TokenStore {
public:
    scim::Result<scim::Tenant> create_tenant(const std::string& name) override {
        if (tenants_.count(name) != 0) {
            return scim::Error::uniqueness("tenant exists");
        }
        scim::Tenant t{"00000000-0000-0000-0000-" + std::to_string(100000000000 + tenants_.size()),
                       name, "2026-01-01T00:00:00.000Z"};
        tenants_[name] = t;
        return t;
    }
    std::vector<scim::Tenant> list_tenants() override {
        std::vector<scim::Tenant> out;
        for (const auto& [name, t] : tenants_) {
            out.push_back(t);
        }
        return out;
    }
    std::optional<scim::Tenant> find_tenant_by_name(const std::string& name) override {
        const auto it = tenants_.find(name);
        if (it == tenants_.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    scim::Result<scim::TokenRecord> insert_token(const scim::TokenRecord& token) override {
        if (tokens_.count(token.id) != 0) {
            return scim::Error::uniqueness("token id collision");
        }
        tokens_[token.id] = token;
        return token;
    }
    std::optional<scim::TokenRecord> find_token(const std::string& id) override {
        const auto it = tokens_.find(id);
        if (it == tokens_.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    std::vector<scim::TokenRecord> list_tokens(const std::string& tenant_id) override {
        std::vector<scim::TokenRecord> out;
        for (const auto& [id, t] : tokens_) {
            if (t.tenant_id == tenant_id) {
                out.push_back(t);
            }
        }
        return out;
    }
    scim::Result<scim::TokenRecord> revoke_token(const std::string& id) override {
        const auto it = tokens_.find(id);
        if (it == tokens_.end()) {
            return scim::Error::not_found("no such token");
        }
        it->second.revoked_at = "2026-01-02T00:00:00.000Z";
        return it->second;
    }

    std::map<std::string, scim::TokenRecord>& tokens_for_test() { return tokens_; }

private:
    std::map<std::string, scim::Tenant> tenants_;
    std::map<std::string, scim::TokenRecord> tokens_;
};

}  // namespace scimbridge::tests
