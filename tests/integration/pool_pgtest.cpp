#include "db/database.hpp"

#include "db/database_impl.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <string>

using namespace scimbridge::db;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;

TEST_SUITE("db.pool") {
TEST_CASE("an unreachable server is one clear line without the password") {
    CHECK_THROWS_WITH_AS(
        Database::open("host=127.0.0.1 port=1 user=x password=hunter2 dbname=x connect_timeout=2",
                       {1}),
        doctest::Contains("cannot connect to PostgreSQL at host=127.0.0.1 port=1 user=x "
                          "password=*** dbname=x connect_timeout=2"),
        DatabaseUnavailable);
}

TEST_CASE("no free connection within the lease timeout is DatabaseUnavailable, not a hang") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {1, std::chrono::milliseconds(200)});
    std::promise<void> leased;
    std::promise<void> release;
    auto holder = std::async(std::launch::async, [&] {
        db->impl().with_session([&](soci::session&) {
            leased.set_value();
            release.get_future().wait();
            return 0;
        });
    });
    leased.get_future().wait();
    CHECK(db->in_use() == 1);
    CHECK_THROWS_AS(db->impl().with_session([](soci::session&) { return 0; }),
                    DatabaseUnavailable);
    release.set_value();
    holder.get();
    CHECK(db->in_use() == 0);
}

TEST_CASE("statement timeout bounds every query") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {1, std::chrono::milliseconds(1000),
                                       std::chrono::milliseconds(100)});
    CHECK_THROWS(db->impl().with_session([](soci::session& s) {
        s << "SELECT pg_sleep(5)";
        return 0;
    }));
    // The connection is still usable afterwards.
    const int one = db->impl().with_session([](soci::session& s) {
        int v = 0;
        s << "SELECT 1", soci::into(v);
        return v;
    });
    CHECK(one == 1);
}

TEST_CASE("a connection killed by the server is replaced on next use") {
    PgTestDatabase t;
    auto db = Database::open(t.dsn(), {1});
    t.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
            t.name() + "' AND application_name = 'scim-bridge'");
    // The first use may notice the broken connection (503); the next one reconnects.
    try {
        db->impl().with_session([](soci::session& s) {
            s << "SELECT 1";
            return 0;
        });
    } catch (const DatabaseUnavailable&) {
    }
    const int one = db->impl().with_session([](soci::session& s) {
        int v = 0;
        s << "SELECT 1", soci::into(v);
        return v;
    });
    CHECK(one == 1);
}
}
