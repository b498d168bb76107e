#include "db/filter_sql.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity

namespace {
db::SqlFragment compile(const std::string& text, scim::ResourceKind kind = scim::ResourceKind::kUser) {
    auto f = scim::parse_filter(text);
    REQUIRE_MESSAGE(f.has_value(), text);
    auto sql = db::compile_filter(**f, kind, scim::SchemaRegistry::core());
    REQUIRE_MESSAGE(sql.has_value(), (sql ? "" : sql.error().detail));
    return *sql;
}
}  // namespace

TEST_SUITE("db.filter_sql") {
TEST_CASE("no literal ever reaches SQL text: every value is a bound parameter") {
    const char* canaries[] = {
        R"(userName eq "CANARY1' OR 1=1 --")",
        R"(displayName co "CANARY2%_\\")",
        R"(emails[type eq "CANARY3" and value sw "CANARY4"])",
        R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ew "CANARY5")",
        R"(not (title gt "CANARY6") or nickName le "CANARY7")",
        R"(externalId eq CANARY8)",
        R"(name.givenName ne "CANARY9")",
        R"(meta.lastModified gt "2026-01-01T00:00:00Z" and id eq "6b0a8d3c-1111-4222-8333-944444444444")",
    };
    for (const char* text : canaries) {
        CAPTURE(text);
        const db::SqlFragment sql = compile(text);
        CHECK(sql.sql.find("CANARY") == std::string::npos);
        CHECK(sql.sql.find("2026-01-01") == std::string::npos);
        CHECK(sql.sql.find("6b0a8d3c") == std::string::npos);
        bool bound = false;
        for (const std::string& p : sql.params) {
            bound = bound || p.find("CANARY") != std::string::npos || p.find("2026") != std::string::npos;
        }
        CHECK(bound);
    }
}

TEST_CASE("attribute names from the schema are bound too, never spliced from the request") {
    const db::SqlFragment sql = compile(R"(title eq "x")");
    CHECK(sql.sql.find("title") == std::string::npos);
}

TEST_CASE("LIKE patterns escape the wildcards of the literal") {
    const db::SqlFragment sql = compile(R"(title co "50%_x\\y")");
    bool escaped = false;
    for (const std::string& p : sql.params) {
        escaped = escaped || p == R"(%50\%\_x\\y%)";
    }
    CHECK(escaped);
}

TEST_CASE("indexed lookups compile to their indexed expressions") {
    CHECK(compile(R"(userName eq "a")").sql.find("lower(t.user_name) = lower(") != std::string::npos);
    CHECK(compile(R"(emails.value eq "a@b")").sql.find("ue.email = lower(") != std::string::npos);
    CHECK(compile(R"(id eq "6b0a8d3c-1111-4222-8333-944444444444")").sql.find("t.id = CAST(") != std::string::npos);
    CHECK(compile(R"(id eq "nope")").sql == "false");
    CHECK(compile(R"(externalId eq "x")").sql.find("t.external_id") != std::string::npos);
}

TEST_CASE("more than 100 comparisons is 400 tooMany") {
    std::string text = R"(title eq "0")";
    for (int i = 1; i <= 100; ++i) {
        text += R"( or title eq ")" + std::to_string(i) + "\"";
    }
    auto f = scim::parse_filter(text);
    REQUIRE(f.has_value());
    auto sql = db::compile_filter(**f, scim::ResourceKind::kUser, scim::SchemaRegistry::core());
    REQUIRE_FALSE(sql.has_value());
    CHECK(sql.error().scim_type == scim::ScimType::kTooMany);
}
}
