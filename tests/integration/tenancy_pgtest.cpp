#include "db/pg_tenancy_store.hpp"

#include "db/migrations.hpp"
#include "server/credentials.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;

namespace {
struct Migrated {
    PgTestDatabase t;
    std::unique_ptr<db::Database> database = db::Database::open(t.dsn(), {4});
    db::PgTenancyStore store{*database};
    server::Credentials credentials{store};
    Migrated() { db::migrate(*database); }
};
}  // namespace

TEST_SUITE("db.tenancy") {
TEST_CASE("tenants: create, list, find; names are unique (409 uniqueness)") {
    Migrated m;
    const auto a = m.store.create_tenant("acme");
    REQUIRE(a.has_value());
    CHECK(a->id.size() == 36);
    CHECK(a->created_at.size() == 24);
    const auto dup = m.store.create_tenant("acme");
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().status == 409);
    CHECK(dup.error().scim_type == scim::ScimType::kUniqueness);
    REQUIRE(m.store.create_tenant("beta").has_value());
    const auto all = m.store.list_tenants();
    REQUIRE(all.size() == 2);
    CHECK(all[0].name == "acme");
    CHECK(m.store.find_tenant_by_name("beta")->name == "beta");
    CHECK_FALSE(m.store.find_tenant_by_name("gamma").has_value());
}

TEST_CASE("concurrent creates of one tenant name: exactly one wins, the rest get 409") {
    Migrated m;
    std::atomic<int> created{0};
    std::atomic<int> conflicts{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            const auto r = m.store.create_tenant("race");
            if (r.has_value()) {
                ++created;
            } else if (r.error().status == 409) {
                ++conflicts;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(created.load() == 1);
    CHECK(conflicts.load() == 3);
}

TEST_CASE("tokens: create, verify, list, revoke; the secret is never stored") {
    Migrated m;
    const auto tenant = m.store.create_tenant("acme");
    REQUIRE(tenant.has_value());
    const auto made = m.credentials.create(*tenant, scim::TokenKind::kIdp, "Okta prod");
    REQUIRE(made.has_value());

    const auto principal = m.credentials.authenticate(made->token);
    REQUIRE(principal.has_value());
    CHECK(principal->tenant_id == tenant->id);
    CHECK(principal->tenant_name == "acme");
    CHECK(principal->token_id == made->record.id);

    const std::string secret = server::parse_token(made->token)->secret;
    CHECK(m.t.query("SELECT count(*) FROM api_token WHERE secret_hash LIKE '%" + secret +
                    "%' OR name LIKE '%" + secret + "%' OR id LIKE '%" + secret + "%'") == "0");

    const auto listed = m.store.list_tokens(tenant->id);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].name == "Okta prod");
    CHECK_FALSE(listed[0].revoked_at.has_value());

    const auto revoked = m.store.revoke_token(made->record.id);
    REQUIRE(revoked.has_value());
    CHECK(revoked->revoked_at.has_value());
    CHECK_FALSE(m.credentials.authenticate(made->token).has_value());
    // Revoking again keeps the first revocation time.
    CHECK(m.store.revoke_token(made->record.id)->revoked_at == revoked->revoked_at);
    CHECK(m.store.revoke_token("0000000000000000").error().status == 404);
}

TEST_CASE("a token of tenant A never authenticates for tenant B") {
    Migrated m;
    const auto a = m.store.create_tenant("tenant-a");
    const auto b = m.store.create_tenant("tenant-b");
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    const auto ta = m.credentials.create(*a, scim::TokenKind::kAdmin, "");
    const auto tb = m.credentials.create(*b, scim::TokenKind::kAdmin, "");
    REQUIRE(ta.has_value());
    REQUIRE(tb.has_value());
    CHECK(m.credentials.authenticate(ta->token)->tenant_id == a->id);
    CHECK(m.credentials.authenticate(tb->token)->tenant_id == b->id);
    // A's key id with B's secret (and the reverse) is refused.
    const auto pa = server::parse_token(ta->token);
    const auto pb = server::parse_token(tb->token);
    CHECK_FALSE(m.credentials.authenticate("scb_" + pa->id + "_" + pb->secret).has_value());
    CHECK_FALSE(m.credentials.authenticate("scb_" + pb->id + "_" + pa->secret).has_value());
    CHECK(m.store.list_tokens(a->id).size() == 1);
    CHECK(m.store.list_tokens(a->id)[0].id == ta->record.id);
}
}
