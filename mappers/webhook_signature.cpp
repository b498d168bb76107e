#include "mappers/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>

namespace scimbridge::mappers {

namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kVersionPrefix = "v1,";
constexpr std::size_t kMinKeyBytes = 16;
constexpr std::size_t kMaxKeyBytes = 64;
constexpr std::size_t kNewKeyBytes = 32;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]))
                                    << 16U |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]))
                                    << 8U |
                                static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[v >> 18U & 63U];
        out += kAlphabet[v >> 12U & 63U];
        out += kAlphabet[v >> 6U & 63U];
        out += kAlphabet[v & 63U];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
        if (rest == 2) {
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
        }
        out += kAlphabet[v >> 18U & 63U];
        out += kAlphabet[v >> 12U & 63U];
        out += rest == 2 ? kAlphabet[v >> 6U & 63U] : '=';
        out += '=';
    }
    return out;
}

int base64_value(char c) {
    const auto at = kAlphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Standard base64; padding optional, nothing else tolerated (no whitespace, no URL alphabet).
std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t padding = 0;
    while (padding < 2 && !text.empty() && text.back() == '=') {
        text.remove_suffix(1);
        ++padding;
    }
    if ((padding > 0 && (text.size() + padding) % 4 != 0) || text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (const char c : text) {
        const int v = base64_value(c);
        if (v < 0) {
            return std::nullopt;
        }
        acc = acc << 6U | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(acc >> bits & 0xFFU);
        }
    }
    // Non-canonical encodings (stray low bits in the last character) are refused.
    if ((acc & ((1U << bits) - 1U)) != 0) {
        return std::nullopt;
    }
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_len = 0;
    const unsigned char* ok =
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
             &mac_len);
    if (ok == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return {reinterpret_cast<const char*>(mac.data()), mac_len};
}

std::string sign_with_key(std::string_view key, std::string_view id, std::string_view timestamp,
                          std::string_view body) {
    std::string content;
    content.reserve(id.size() + timestamp.size() + body.size() + 2);
    content.append(id).append(".").append(timestamp).append(".").append(body);
    return std::string(kVersionPrefix) + base64_encode(hmac_sha256(key, content));
}

// A Unix timestamp in seconds: decimal digits only (no sign, no fraction, no spaces).
std::optional<std::int64_t> parse_timestamp(std::string_view text) {
    if (text.empty() || text.size() > 18) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.front() == '-') {
        return std::nullopt;
    }
    return value;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string generate_webhook_secret() {
    std::array<unsigned char, kNewKeyBytes> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    return std::string(kSecretPrefix) +
           base64_encode({reinterpret_cast<const char*>(key.data()), key.size()});
}

std::optional<std::string> decode_webhook_secret(std::string_view secret) {
    if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix) {
        secret.remove_prefix(kSecretPrefix.size());
    }
    auto key = base64_decode(secret);
    if (!key || key->size() < kMinKeyBytes || key->size() > kMaxKeyBytes) {
        return std::nullopt;
    }
    return key;
}

std::string sign_webhook(std::string_view secret, std::string_view id, std::int64_t timestamp,
                         std::string_view body) {
    const auto key = decode_webhook_secret(secret);
    if (!key) {
        throw std::invalid_argument("not a webhook secret (whsec_ + base64 of 16..64 bytes)");
    }
    return sign_with_key(*key, id, std::to_string(timestamp), body);
}

std::string signature_header(const std::vector<std::string>& secrets, std::string_view id,
                             std::int64_t timestamp, std::string_view body) {
    std::string header;
    for (const auto& secret : secrets) {
        if (!header.empty()) {
            header += ' ';
        }
        header += sign_webhook(secret, id, timestamp, body);
    }
    return header;
}

bool verify_webhook(const std::vector<std::string>& secrets, std::string_view id,
                    std::string_view timestamp, std::string_view header, std::string_view body,
                    std::chrono::system_clock::time_point now, std::chrono::seconds tolerance) {
    const auto ts = parse_timestamp(timestamp);
    if (!ts || id.empty()) {
        return false;
    }
    const auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::int64_t skew = now_s > *ts ? now_s - *ts : *ts - now_s;
    if (skew > tolerance.count()) {
        return false;
    }
    // Sign once per secret with the timestamp text exactly as received (it is what was signed).
    std::vector<std::string> expected;
    for (const auto& secret : secrets) {
        if (const auto key = decode_webhook_secret(secret)) {
            expected.push_back(sign_with_key(*key, id, timestamp, body));
        }
    }
    bool match = false;
    std::size_t pos = 0;
    while (pos < header.size()) {
        const std::size_t end = std::min(header.find(' ', pos), header.size());
        const std::string_view candidate = header.substr(pos, end - pos);
        pos = end + 1;
        if (candidate.substr(0, kVersionPrefix.size()) != kVersionPrefix) {
            continue;  // empty, or another scheme (v1a, ...) this receiver does not check
        }
        for (const auto& e : expected) {
            match = equal_constant_time(candidate, e) || match;  // no early exit
        }
    }
    return match;
}

}  // namespace scimbridge::mappers
