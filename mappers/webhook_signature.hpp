#pragma once
// Standard Webhooks signing (https://www.standardwebhooks.com, spec v1): the signature is
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)); secrets are written
// "whsec_" + base64(key bytes); the header carries a space-separated list, one signature per
// active secret, so a receiver keeps working while the sender rotates its secret.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::mappers {

// A new secret: "whsec_" + base64 of 32 random bytes (OpenSSL RAND_bytes).
std::string generate_webhook_secret();

// The key bytes of a "whsec_..." secret (a secret without the prefix is read as base64 too);
// nullopt when it is not valid base64 or decodes to fewer than 16 or more than 64 bytes.
std::optional<std::string> decode_webhook_secret(std::string_view secret);

// "v1,<base64>" for one secret. Precondition: decode_webhook_secret(secret) succeeds.
std::string sign_webhook(std::string_view secret, std::string_view id, std::int64_t timestamp,
                         std::string_view body);

// The webhook-signature header value: one "v1,..." per secret, space-separated.
std::string signature_header(const std::vector<std::string>& secrets, std::string_view id,
                             std::int64_t timestamp, std::string_view body);

// Receiver side (used by the test apps and documented for app owners): true when one of the
// signatures in `header` matches one of `secrets` (constant-time compare) and `timestamp` is
// within `tolerance` of `now`.
bool verify_webhook(const std::vector<std::string>& secrets, std::string_view id,
                    std::string_view timestamp, std::string_view header, std::string_view body,
                    std::chrono::system_clock::time_point now,
                    std::chrono::seconds tolerance = std::chrono::seconds(300));

}  // namespace scimbridge::mappers
