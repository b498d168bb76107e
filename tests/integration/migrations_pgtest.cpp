#include "db/migrations.hpp"

#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

using namespace scimbridge::db;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;

TEST_SUITE("db.migrations") {
TEST_CASE("a fresh database migrates to the latest version; a second run is a no-op") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {});
    CHECK(current_schema_version(*db) == 0);
    CHECK_FALSE(db->ready());

    const MigrationReport first = migrate(*db);
    CHECK(first.applied.size() == embedded_migrations().size());
    CHECK(first.version == latest_schema_version());
    CHECK(db->ready());
    const std::string applied_at = t.query("SELECT string_agg(applied_at::text, ',') FROM schema_migrations");

    const MigrationReport second = migrate(*db);
    CHECK(second.applied.empty());
    CHECK(second.version == latest_schema_version());
    CHECK(t.query("SELECT string_agg(applied_at::text, ',') FROM schema_migrations") == applied_at);
    CHECK(t.query("SELECT count(*) FROM schema_migrations") ==
          std::to_string(embedded_migrations().size()));
}

TEST_CASE("concurrent migrators apply each migration exactly once") {
    PgTestDatabase t;
    std::vector<std::thread> threads;
    std::vector<std::size_t> applied(4, 0);
    for (std::size_t i = 0; i < applied.size(); ++i) {
        threads.emplace_back([&, i] {
            auto db = Database::open(t.dsn(), {1});
            applied[i] = migrate(*db).applied.size();
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    std::size_t total = 0;
    for (const std::size_t n : applied) {
        total += n;
    }
    CHECK(total == embedded_migrations().size());
    CHECK(t.query("SELECT count(*) FROM schema_migrations") ==
          std::to_string(embedded_migrations().size()));
}

TEST_CASE("an edited migration is refused with a clear reason") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {});
    migrate(*db);
    t.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
    CHECK_THROWS_WITH_AS(migrate(*db),
                         doctest::Contains("was changed after it was applied"),
                         std::runtime_error);
}

TEST_CASE("a database newer than the binary is refused") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {});
    migrate(*db);
    t.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
    CHECK_THROWS_WITH_AS(migrate(*db), doctest::Contains("newer than this binary"),
                         std::runtime_error);
    CHECK_FALSE(db->ready());
}

TEST_CASE("a migration that fails halfway leaves nothing behind (one transaction per file)") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {});
    // Migration 1 creates two tables and then this index name: its last statement fails.
    t.query("CREATE TABLE other (x int); CREATE INDEX api_token_tenant_idx ON other (x)");
    CHECK_THROWS_WITH_AS(migrate(*db), doctest::Contains("migration 1"), std::runtime_error);
    CHECK(t.query("SELECT count(*) FROM schema_migrations") == "0");
    CHECK(t.query("SELECT count(*) FROM pg_tables WHERE tablename IN ('tenant', 'api_token')") ==
          "0");
}
}
