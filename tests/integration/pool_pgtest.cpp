#include "db/database.hpp"

#include "db/database_impl.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
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

namespace {
int backend_pid(soci::session& s) {
    int pid = 0;
    s << "SELECT pg_backend_pid()", soci::into(pid);
    return pid;
}

// The niceness of `pid` relative to its parent (the postmaster).
int relative_nice(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    char state = 0;
    int parent = 0;
    fields >> state >> parent;
    errno = 0;
    const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
    const int parents = ::getpriority(PRIO_PROCESS, static_cast<id_t>(parent));
    REQUIRE(errno == 0);
    return own - parents;
}
}  // namespace

TEST_CASE("a background pool's backends yield the CPU: reniced, and no parallel workers") {
    PgTestDatabase t;
    // The test server is local, on a Unix socket, and ours to renice (the suite runs as root or
    // as the cluster's owner).
    auto background = Database::open(t.dsn(), {2, std::chrono::milliseconds(1000),
                                               std::chrono::milliseconds(30000), 5});
    auto normal = Database::open(t.dsn(), {1});
    CHECK(background->backends_reniced() == 2);
    CHECK(normal->backends_reniced() == 0);
    // Both connections of the background pool at once (nested leases take different ones).
    background->impl().with_session([&](soci::session& first) {
        background->impl().with_session([&](soci::session& second) {
            CHECK(backend_pid(first) != backend_pid(second));
            CHECK(relative_nice(backend_pid(first)) == 5);
            CHECK(relative_nice(backend_pid(second)) == 5);
            std::string parallel;
            second << "SHOW max_parallel_workers_per_gather", soci::into(parallel);
            CHECK(parallel == "0");
            return 0;
        });
        return 0;
    });
    normal->impl().with_session([&](soci::session& s) {
        CHECK(relative_nice(backend_pid(s)) == 0);
        std::string parallel;
        s << "SHOW max_parallel_workers_per_gather", soci::into(parallel);
        CHECK(parallel != "0");
        return 0;
    });
}

TEST_CASE("a backend not proven to be the socket's server's child is never reniced") {
    PgTestDatabase t;
    auto normal = Database::open(t.dsn(), {1});
    const int pid = normal->impl().with_session([](soci::session& s) { return backend_pid(s); });
    // A socket whose peer is this process, not the postmaster (as a pid from another machine or
    // pid namespace would be), and no socket at all.
    int pair[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    CHECK_FALSE(renice_local_backend(pair[0], pid, 5));
    CHECK_FALSE(renice_local_backend(-1, pid, 5));
    ::close(pair[0]);
    ::close(pair[1]);
    CHECK(relative_nice(pid) == 0);
}
}
