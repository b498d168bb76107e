#include "mappers/claim_tokens.hpp"

#include "scim/cursor.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace scimbridge::mappers {

namespace {

constexpr std::string_view kCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ";  // 23 letters
constexpr std::size_t kCodeLength = 16;
constexpr std::size_t kTokenLength = 43;

std::string hmac(const SecretKey& key, std::string_view label, std::string_view id) {
    std::string message(label);
    message += '\0';
    message += id;
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int size = 0;
    if (HMAC(EVP_sha256(), key.bytes().data(), static_cast<int>(key.bytes().size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
             &size) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return std::string(reinterpret_cast<const char*>(mac.data()), size);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 0xf];
    }
    return out;
}

}  // namespace

SecretKey::SecretKey(std::string bytes) : bytes_(std::move(bytes)) {
    if (bytes_.size() < 32) {
        throw std::invalid_argument("secret key must have at least 32 bytes");
    }
}

std::string SecretKey::generate_hex() {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    return to_hex(bytes.data(), bytes.size());
}

std::optional<SecretKey> SecretKey::from_hex(std::string_view hex, std::string& error) {
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) {
        hex.remove_suffix(1);
    }
    while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\n')) {
        hex.remove_prefix(1);
    }
    if (hex.size() < 64 || hex.size() % 2 != 0) {
        error = "the secret key must be at least 64 hex digits";
        return std::nullopt;
    }
    std::string bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            error = "the secret key is not hex";
            return std::nullopt;
        }
        bytes += static_cast<char>(hi * 16 + lo);
    }
    return SecretKey(std::move(bytes));
}

std::string claim_token(const SecretKey& key, std::string_view invitation_id) {
    return scim::base64url_encode(hmac(key, "scim-bridge claim token", invitation_id));
}

std::string access_code(const SecretKey& key, std::string_view code_id) {
    // One letter per two bytes of the MAC (32 bytes, 16 letters): 65,536 mod 23 leaves a bias
    // below 0.02 % per letter, and the code keeps about 72 bits.
    const std::string mac = hmac(key, "scim-bridge access code", code_id);
    std::string code(kCodeLength, 'A');
    for (std::size_t i = 0; i < kCodeLength; ++i) {
        const unsigned value = static_cast<unsigned char>(mac[2 * i]) * 256U +
                               static_cast<unsigned char>(mac[2 * i + 1]);
        code[i] = kCodeAlphabet[value % kCodeAlphabet.size()];
    }
    return code;
}

std::string secret_hash(std::string_view secret) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(secret.data(), secret.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    return to_hex(digest.data(), size);
}

bool plausible_claim_token(std::string_view text) {
    if (text.size() != kTokenLength) {
        return false;
    }
    for (const char c : text) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> normalize_access_code(std::string_view text) {
    if (text.size() > 64) {
        return std::nullopt;
    }
    std::string code;
    for (char c : text) {
        if (c == ' ' || c == '-' || c == '\t' || c == '+') {
            continue;
        }
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
        if (kCodeAlphabet.find(c) == std::string_view::npos) {
            return std::nullopt;
        }
        code += c;
    }
    if (code.size() != kCodeLength) {
        return std::nullopt;
    }
    return code;
}

}  // namespace scimbridge::mappers
