#include "server/credentials.hpp"

#include "scim/cursor.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace scimbridge::server {

namespace {
constexpr std::string_view kPrefix = "scb_";
constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kIdChars = 2 * kIdBytes;
constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_base64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}
}  // namespace

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw std::runtime_error("the random number generator failed");
    }
    return out;
}

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(kDigits[u >> 4]);
        out.push_back(kDigits[u & 0x0f]);
    }
    return out;
}

std::string base64url(std::string_view bytes) { return scim::base64url_encode(bytes); }

std::string hash_secret(std::string_view secret) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
    return hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<ParsedToken> parse_token(std::string_view token) {
    if (token.size() != kPrefix.size() + kIdChars + 1 + kSecretChars ||
        token.substr(0, kPrefix.size()) != kPrefix) {
        return std::nullopt;
    }
    const std::string_view id = token.substr(kPrefix.size(), kIdChars);
    if (token[kPrefix.size() + kIdChars] != '_') {
        return std::nullopt;
    }
    const std::string_view secret = token.substr(kPrefix.size() + kIdChars + 1);
    for (const char c : id) {
        if (!is_hex(c)) {
            return std::nullopt;
        }
    }
    for (const char c : secret) {
        if (!is_base64url(c)) {
            return std::nullopt;
        }
    }
    return ParsedToken{std::string(id), std::string(secret)};
}

scim::Result<NewToken> Credentials::create(const scim::Tenant& tenant, scim::TokenKind kind,
                                           const std::string& name, const std::string& source,
                                           std::optional<bool> lenient, bool strict) {
    auto label = scim::validate_token_name(name);
    if (!label) {
        return label.error();
    }
    if (!scim::is_known_source(source)) {
        return scim::Error::invalid_value(
            "source must be one of generic, okta, entra, onelogin, jumpcloud, google");
    }
    NewToken made;
    made.record.id = hex(random_bytes(kIdBytes));
    const std::string secret = base64url(random_bytes(kSecretBytes));
    made.record.tenant_id = tenant.id;
    made.record.tenant_name = tenant.name;
    made.record.kind = kind;
    made.record.name = *label;
    made.record.secret_hash = hash_secret(secret);
    made.record.source = source;
    made.record.strict = strict;
    made.record.lenient = !strict && lenient.value_or(scim::lenient_by_default(source));
    auto stored = tokens_.insert_token(made.record);
    if (!stored) {
        return stored.error();
    }
    made.record = *stored;
    made.token = std::string(kPrefix) + made.record.id + "_" + secret;
    return made;
}

void Credentials::invalidate(const std::string& token_id) { cache_.invalidate(token_id); }

void Credentials::invalidate_all() { cache_.invalidate_all(); }

std::optional<scim::TokenRecord> Credentials::lookup(const std::string& id) {
    if (cache_ttl_.count() <= 0) {
        return tokens_.find_token(id);
    }
    const auto now = std::chrono::steady_clock::now();
    auto cached = cache_.find(id, now);
    if (cached.hit) {
        return cached.hit;
    }
    const auto unknown = unknown_.find(id, now);
    if (unknown.hit) {
        return std::nullopt;
    }
    auto record = tokens_.find_token(id);
    if (!record) {
        unknown_.store(id, true, now + kUnknownTtl, unknown.generation);  // ids are random
    } else if (!record->revoked_at) {
        // Not kept when an invalidation (maybe of this very token) came while we were reading.
        cache_.store(id, *record, now + cache_ttl_, cached.generation);
    }
    return record;
}

std::optional<Principal> Credentials::authenticate(std::string_view token) {
    const auto parsed = parse_token(token);
    if (!parsed) {
        return std::nullopt;
    }
    const auto record = lookup(parsed->id);
    if (!record || record->revoked_at) {
        return std::nullopt;
    }
    if (!constant_time_equal(hash_secret(parsed->secret), record->secret_hash)) {
        return std::nullopt;
    }
    return Principal{record->tenant_id, record->tenant_name, record->id,
                     record->kind,      record->source,      record->lenient,
                     record->strict};
}

}  // namespace scimbridge::server
