#include "server/credentials.hpp"

#include "tests/support/in_memory_tenancy_store.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::scim::TokenKind;
using scimbridge::tests::InMemoryTenancyStore;

TEST_SUITE("server.credentials") {
TEST_CASE("a new token carries 256 random bits and only its hash is stored") {
    InMemoryTenancyStore store;
    Credentials credentials(store);
    const auto tenant = store.create_tenant("acme");
    REQUIRE(tenant.has_value());
    const auto made = credentials.create(*tenant, TokenKind::kIdp, "okta");
    REQUIRE(made.has_value());

    const auto parsed = parse_token(made->token);
    REQUIRE(parsed.has_value());
    CHECK(parsed->secret.size() == 43);  // 32 bytes, base64url
    CHECK(parsed->id == made->record.id);

    const auto stored = store.find_token(made->record.id);
    REQUIRE(stored.has_value());
    CHECK(stored->secret_hash == hash_secret(parsed->secret));
    CHECK(stored->secret_hash.find(parsed->secret) == std::string::npos);
    CHECK(stored->secret_hash.size() == 64);
}

TEST_CASE("tokens are unique") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        CHECK(seen.insert(base64url(random_bytes(32))).second);
    }
}

TEST_CASE("authenticate binds the token to exactly its tenant") {
    InMemoryTenancyStore store;
    Credentials credentials(store);
    const auto a = store.create_tenant("tenant-a");
    const auto b = store.create_tenant("tenant-b");
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    const auto ta = credentials.create(*a, TokenKind::kIdp, "");
    const auto tb = credentials.create(*b, TokenKind::kAdmin, "");
    REQUIRE(ta.has_value());
    REQUIRE(tb.has_value());

    const auto pa = credentials.authenticate(ta->token);
    REQUIRE(pa.has_value());
    CHECK(pa->tenant_id == a->id);
    CHECK(pa->tenant_name == "tenant-a");
    CHECK(pa->kind == TokenKind::kIdp);
    const auto pb = credentials.authenticate(tb->token);
    REQUIRE(pb.has_value());
    CHECK(pb->tenant_id == b->id);
    CHECK(pb->kind == TokenKind::kAdmin);
}

TEST_CASE("a wrong secret, a malformed token or a revoked token is refused") {
    InMemoryTenancyStore store;
    Credentials credentials(store);
    const auto t = store.create_tenant("acme");
    const auto made = credentials.create(*t, TokenKind::kIdp, "");
    REQUIRE(made.has_value());
    std::string tampered = made->token;
    tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
    CHECK_FALSE(credentials.authenticate(tampered).has_value());
    CHECK_FALSE(credentials.authenticate("").has_value());
    CHECK_FALSE(credentials.authenticate("scb_").has_value());
    CHECK_FALSE(credentials.authenticate(made->token + "x").has_value());
    CHECK_FALSE(credentials.authenticate("scb_0000000000000000_" + std::string(43, 'A')).has_value());
    CHECK(credentials.authenticate(made->token).has_value());
    REQUIRE(store.revoke_token(made->record.id).has_value());
    CHECK_FALSE(credentials.authenticate(made->token).has_value());
}

TEST_CASE("constant_time_equal compares whole strings") {
    CHECK(constant_time_equal("abcdef", "abcdef"));
    CHECK_FALSE(constant_time_equal("abcdef", "abcdeg"));
    CHECK_FALSE(constant_time_equal("abcdef", "abcde"));
    CHECK(constant_time_equal("", ""));
}

TEST_CASE("encodings") {
    CHECK(hex(std::string("\x00\xff\x10", 3)) == "00ff10");
    CHECK(base64url("") == "");
    CHECK(base64url("f") == "Zg");
    CHECK(base64url("fo") == "Zm8");
    CHECK(base64url("foo") == "Zm9v");
    CHECK(base64url("\xfb\xff") == "-_8");
    // FIPS 180-2 test vector
    CHECK(hash_secret("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
TEST_CASE("the token cache answers without the store until the token is invalidated") {
    InMemoryTenancyStore store;
    Credentials credentials(store, std::chrono::seconds(60));
    const auto t = store.create_tenant("acme");
    const auto made = credentials.create(*t, TokenKind::kIdp, "");
    REQUIRE(made.has_value());
    REQUIRE(credentials.authenticate(made->token).has_value());  // now cached
    REQUIRE(store.revoke_token(made->record.id).has_value());
    CHECK(credentials.authenticate(made->token).has_value());    // stale until told
    credentials.invalidate(made->record.id);
    CHECK_FALSE(credentials.authenticate(made->token).has_value());
    // A wrong secret is refused even when the record is cached.
    const auto other = credentials.create(*t, TokenKind::kIdp, "");
    REQUIRE(credentials.authenticate(other->token).has_value());
    std::string tampered = other->token;
    tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
    CHECK_FALSE(credentials.authenticate(tampered).has_value());
    credentials.invalidate_all();
    CHECK(credentials.authenticate(other->token).has_value());
}

TEST_CASE("with a zero TTL every check reads the store") {
    InMemoryTenancyStore store;
    Credentials credentials(store, std::chrono::milliseconds(0));
    const auto t = store.create_tenant("acme");
    const auto made = credentials.create(*t, TokenKind::kIdp, "");
    REQUIRE(credentials.authenticate(made->token).has_value());
    REQUIRE(store.revoke_token(made->record.id).has_value());
    CHECK_FALSE(credentials.authenticate(made->token).has_value());
}
}
