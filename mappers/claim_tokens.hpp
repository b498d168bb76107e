#pragma once
// Claim tokens and access codes (DESIGN §5). Neither is ever stored: each is derived from the
// bridge's secret key and the id of its database row (HMAC-SHA256), and the database keeps only
// its SHA-256. A dump of the database therefore holds no usable link or code, yet the bridge can
// show the same link again in a reminder, a CSV export or an `account.invited` event. Revoking a
// link means revoking its row: a new invitation has a new id, hence a new token.

#include <optional>
#include <string>
#include <string_view>

namespace scimbridge::mappers {

class SecretKey {
public:
    // At least 32 bytes of key material (hex or raw); throws std::invalid_argument otherwise.
    explicit SecretKey(std::string bytes);
    // 32 fresh random bytes, hex-encoded (the content of a new key file).
    static std::string generate_hex();
    // Reads a key file written by generate_hex (whitespace trimmed); nullopt with `error` set.
    static std::optional<SecretKey> from_hex(std::string_view hex, std::string& error);

    const std::string& bytes() const { return bytes_; }

private:
    std::string bytes_;
};

// 43 characters of base64url (256 bits): the path segment of /claim/{token}.
std::string claim_token(const SecretKey& key, std::string_view invitation_id);

// 16 capital letters (no I, L or O, so they survive being read aloud or typed), about 72 bits.
std::string access_code(const SecretKey& key, std::string_view code_id);

// Hex SHA-256: what the database stores and looks tokens and codes up by.
std::string secret_hash(std::string_view secret);

// Whether `text` has the shape of a claim token (checked before any lookup).
bool plausible_claim_token(std::string_view text);

// An access code as a person may type it ("abcd-efgh ijkl mnpq"): upper-cased, spaces and dashes
// removed; nullopt unless 16 letters of the code alphabet remain.
std::optional<std::string> normalize_access_code(std::string_view text);

}  // namespace scimbridge::mappers
