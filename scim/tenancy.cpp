#include "scim/tenancy.hpp"

namespace scimbridge::scim {

std::string_view to_string(TokenKind kind) {
    switch (kind) {
        case TokenKind::kIdp: return "idp";
        case TokenKind::kAdmin: return "admin";
    }
    return "idp";
}

std::optional<TokenKind> parse_token_kind(std::string_view text) {
    if (text == "idp") {
        return TokenKind::kIdp;
    }
    if (text == "admin") {
        return TokenKind::kAdmin;
    }
    return std::nullopt;
}

bool is_known_source(std::string_view source) {
    return source == "generic" || source == "okta" || source == "entra" || source == "onelogin" ||
           source == "jumpcloud" || source == "google";
}

// Entra's documented bodies carry explicit nulls and stray keys; OneLogin templates quote booleans.
bool lenient_by_default(std::string_view source) { return source == "entra" || source == "onelogin"; }

namespace {
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

Result<std::string> validate_tenant_name(std::string_view name) {
    constexpr std::size_t kMaxLength = 63;
    if (name.empty() || name.size() > kMaxLength) {
        return Error::invalid_value("tenant name must be 1 to 63 characters");
    }
    if (!is_lower_alnum(name.front())) {
        return Error::invalid_value("tenant name must start with a lowercase letter or a digit");
    }
    for (const char c : name) {
        if (!is_lower_alnum(c) && c != '-' && c != '_' && c != '.') {
            return Error::invalid_value(
                "tenant name may contain only lowercase letters, digits, '-', '_' and '.'");
        }
    }
    return std::string(name);
}

Result<std::string> validate_token_name(std::string_view name) {
    constexpr std::size_t kMaxLength = 100;
    if (name.size() > kMaxLength) {
        return Error::invalid_value("token name must be at most 100 characters");
    }
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return Error::invalid_value("token name must not contain control characters");
        }
    }
    return std::string(name);
}

}  // namespace scimbridge::scim
