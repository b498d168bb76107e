#include "scim/tenancy.hpp"

#include <doctest/doctest.h>

using namespace scimbridge::scim;  // NOLINT(google-build-using-namespace): test brevity

TEST_SUITE("scim.tenancy") {
TEST_CASE("tenant names are short, lowercase, URL- and shell-safe") {
    CHECK(validate_tenant_name("acme").has_value());
    CHECK(validate_tenant_name("acme-corp.eu_1").has_value());
    CHECK(validate_tenant_name("0day").has_value());
    CHECK(validate_tenant_name(std::string(63, 'a')).has_value());

    const char* bad[] = {"", "Acme", "-acme", ".acme", "ac me", "acme/../x", "acme;drop", "ä"};
    for (const char* name : bad) {
        CAPTURE(name);
        const auto r = validate_tenant_name(name);
        CHECK_FALSE(r.has_value());
        if (!r.has_value()) {
            CHECK(r.error().status == 400);
            CHECK(r.error().scim_type == ScimType::kInvalidValue);
        }
    }
    CHECK_FALSE(validate_tenant_name(std::string(64, 'a')).has_value());
}

TEST_CASE("token labels reject control characters and overlong text") {
    CHECK(validate_token_name("Okta production").has_value());
    CHECK(validate_token_name("").has_value());
    CHECK_FALSE(validate_token_name("a\nb").has_value());
    CHECK_FALSE(validate_token_name(std::string(101, 'x')).has_value());
}

TEST_CASE("token kinds round-trip") {
    CHECK(parse_token_kind("idp") == TokenKind::kIdp);
    CHECK(parse_token_kind("admin") == TokenKind::kAdmin);
    CHECK_FALSE(parse_token_kind("root").has_value());
    CHECK(to_string(TokenKind::kAdmin) == "admin");
}
}
