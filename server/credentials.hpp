#pragma once
// API tokens: made here, shown once, stored only as a hash, verified in constant time.
//
// A token reads "scb_<id>_<secret>": <id> is 16 hex digits (a public key id, used to find the
// record and to revoke it), <secret> is 32 random bytes in base64url (256 bits). Only SHA-256 of
// the secret is stored. A fast hash is right here: the secret is random, not a password.

#include "scim/tenancy.hpp"
#include "server/ttl_cache.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace scimbridge::server {

// Who is calling: the one tenant a request is bound to, and with which credential.
struct Principal {
    std::string tenant_id;
    std::string tenant_name;
    std::string token_id;
    scim::TokenKind kind = scim::TokenKind::kIdp;
    std::string source = "generic";
    bool lenient = false;
    bool strict = false;
};

struct ParsedToken {
    std::string id;
    std::string secret;
};

struct NewToken {
    std::string token;          // shown to the admin once
    scim::TokenRecord record;   // what is stored
};

std::optional<ParsedToken> parse_token(std::string_view token);

// Hex SHA-256 of the secret part.
std::string hash_secret(std::string_view secret);

// Equal-length comparison that takes the same time wherever the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

// Cryptographically random bytes from OpenSSL; throws if the generator fails.
std::string random_bytes(std::size_t n);
std::string base64url(std::string_view bytes);
std::string hex(std::string_view bytes);

// Verifies tokens against the store, with a small cache of token records so that a request
// costs no database round trip for its credential. Revocation reaches the cache through
// invalidate() (fed by LISTEN/NOTIFY); the TTL bounds staleness when notifications are lost.
class Credentials {
public:
    explicit Credentials(scim::TokenStore& tokens,
                         std::chrono::milliseconds cache_ttl = std::chrono::milliseconds(0))
        : tokens_(tokens), cache_ttl_(cache_ttl) {}

    void invalidate(const std::string& token_id);
    void invalidate_all();

    // source: the IdP (scim::is_known_source); lenient: nullopt = the source's default;
    // strict: RFC shapes only (no dialect rewrites, no lenient decoding).
    scim::Result<NewToken> create(const scim::Tenant& tenant, scim::TokenKind kind,
                                  const std::string& name, const std::string& source = "generic",
                                  std::optional<bool> lenient = std::nullopt, bool strict = false);

    // The principal for a bearer token, or nullopt for an unknown, malformed or revoked one.
    std::optional<Principal> authenticate(std::string_view token);

private:
    std::optional<scim::TokenRecord> lookup(const std::string& id);

    static constexpr std::size_t kMaxCached = 10000;
    scim::TokenStore& tokens_;
    std::chrono::milliseconds cache_ttl_;
    TtlCache<scim::TokenRecord> cache_{kMaxCached};
    // Unknown token ids, briefly: a flood of made-up tokens must not hold the database pool.
    static constexpr std::chrono::seconds kUnknownTtl{2};
    TtlCache<bool> unknown_{kMaxCached};
};

}  // namespace scimbridge::server
