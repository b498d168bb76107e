#pragma once
// Tenants and their API credentials: the records, the rules on names, and the storage ports that
// db/ implements. Secrets never appear here in clear: a token record carries only its hash.

#include "scim/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::scim {

struct Tenant {
    std::string id;  // UUID, assigned by the store
    std::string name;
    std::string created_at;  // RFC 3339, UTC
};

// What a credential may do. idp tokens provision through /scim/v2; admin tokens also reach the
// admin API.
enum class TokenKind { kIdp, kAdmin };

std::string_view to_string(TokenKind kind);
std::optional<TokenKind> parse_token_kind(std::string_view text);

struct TokenRecord {
    std::string id;  // public key id: part of the token, shown by `token list`, used to revoke
    std::string tenant_id;
    std::string tenant_name;
    TokenKind kind = TokenKind::kIdp;
    std::string name;
    std::string secret_hash;  // SHA-256 of the secret part, hex
    std::string source = "generic";  // generic, okta, entra, onelogin, jumpcloud, google
    bool lenient = false;            // decode this source's requests leniently
    bool strict = false;             // no dialect rewrites: non-RFC shapes are a 400
    std::string created_at;
    std::optional<std::string> revoked_at;
};

// IdP sources a token may name, and whether each is decoded leniently by default.
bool is_known_source(std::string_view source);
bool lenient_by_default(std::string_view source);

// A tenant name is what admins type on the command line and what appears in logs and URLs:
// 1..63 characters of [a-z0-9], '-', '_' or '.', starting with a letter or digit.
Result<std::string> validate_tenant_name(std::string_view name);

// A token label: up to 100 printable characters.
Result<std::string> validate_token_name(std::string_view name);

class TenantStore {
public:
    virtual ~TenantStore() = default;
    // 409 uniqueness when the name is taken.
    virtual Result<Tenant> create_tenant(const std::string& name) = 0;
    virtual std::vector<Tenant> list_tenants() = 0;
    virtual std::optional<Tenant> find_tenant_by_name(const std::string& name) = 0;
};

class TokenStore {
public:
    virtual ~TokenStore() = default;
    virtual Result<TokenRecord> insert_token(const TokenRecord& token) = 0;
    // Returns the token whatever its revocation state; the caller decides.
    virtual std::optional<TokenRecord> find_token(const std::string& id) = 0;
    virtual std::vector<TokenRecord> list_tokens(const std::string& tenant_id) = 0;
    // 404 when there is no such token; revoking twice is not an error.
    virtual Result<TokenRecord> revoke_token(const std::string& id) = 0;
};

}  // namespace scimbridge::scim
