#include "server/attempt_limiter.hpp"
#include "tests/unit/server/addresses.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity
using namespace std::chrono_literals;

namespace {

using testing::addr;
using testing::cidrs;

const AttemptLimiter::Clock::time_point t0{};

}  // namespace

TEST_CASE("attempt limiter: a client's failures use up its budget, and one comes back per refill") {
    AttemptLimiter limiter({.burst = 3, .refill = 10s, .max_clients = 100});
    for (int i = 0; i < 3; ++i) {
        CHECK(limiter.wait("a", t0) == 0s);  // may try
        limiter.failed("a", t0);
    }
    CHECK(limiter.wait("a", t0) == 10s);        // the fourth waits for one refill
    CHECK(limiter.wait("a", t0 + 4s) == 6s);    // rounded up to whole seconds
    CHECK(limiter.wait("a", t0 + 9500ms) == 1s);
    CHECK(limiter.wait("a", t0 + 10s) == 0s);   // one failure forgiven
    limiter.failed("a", t0 + 10s);
    CHECK(limiter.wait("a", t0 + 10s) == 10s);  // and used again
    CHECK(limiter.wait("a", t0 + 40s) == 0s);
    CHECK(limiter.wait("b", t0) == 0s);         // another client is not held up
}

TEST_CASE("attempt limiter: a quiet client gets its whole budget back; burst 0 limits nothing") {
    AttemptLimiter limiter({.burst = 2, .refill = 1s, .max_clients = 100});
    limiter.failed("a", t0);
    limiter.failed("a", t0);
    CHECK(limiter.wait("a", t0) == 1s);
    // After 2 s the budget is full: two more failures before a wait, not three.
    limiter.failed("a", t0 + 5s);
    limiter.failed("a", t0 + 5s);
    CHECK(limiter.wait("a", t0 + 5s) == 1s);

    AttemptLimiter off({.burst = 0, .refill = 1s, .max_clients = 100});
    for (int i = 0; i < 1000; ++i) {
        off.failed("a", t0);
    }
    CHECK(off.wait("a", t0) == 0s);
    CHECK(off.tracked() == 0);
}

TEST_CASE("attempt limiter: memory is bounded; clients whose budget is full again are forgotten first") {
    AttemptLimiter limiter({.burst = 1, .refill = 10s, .max_clients = 2});
    limiter.failed("a", t0);
    limiter.failed("b", t0 + 5s);
    CHECK(limiter.tracked() == 2);
    limiter.failed("c", t0 + 6s);  // full, nobody's budget is back: c is not tracked
    CHECK(limiter.tracked() == 2);
    CHECK(limiter.wait("c", t0 + 6s) == 0s);
    CHECK(limiter.wait("a", t0 + 6s) == 4s);
    limiter.failed("c", t0 + 12s);  // a's budget is full again (at 10 s): a makes room
    CHECK(limiter.tracked() == 2);
    CHECK(limiter.wait("c", t0 + 12s) == 10s);
    CHECK(limiter.wait("b", t0 + 12s) == 3s);
}

TEST_CASE("client key: the connecting address unless it is a trusted proxy, then the right-most untrusted forwarded one") {
    const auto none = cidrs({});
    const auto proxies = cidrs({"10.0.0.0/8", "127.0.0.1"});
    // Not from a proxy: X-Forwarded-For is the client's to write, never believed.
    CHECK(client_key(addr("203.0.113.9"), "198.51.100.1", none) == "203.0.113.9");
    CHECK(client_key(addr("203.0.113.9"), "198.51.100.1", proxies) == "203.0.113.9");
    // From a proxy: its entry (the right-most) names the client; entries left of it are not believed.
    CHECK(client_key(addr("127.0.0.1"), "198.51.100.1", proxies) == "198.51.100.1");
    CHECK(client_key(addr("127.0.0.1"), "6.6.6.6, 198.51.100.1", proxies) == "198.51.100.1");
    // A chain of trusted proxies is walked through.
    CHECK(client_key(addr("10.0.0.2"), "6.6.6.6,198.51.100.1, 10.1.1.1", proxies) == "198.51.100.1");
    // No header, or an unparsable entry: the last address believed.
    CHECK(client_key(addr("127.0.0.1"), "", proxies) == "127.0.0.1");
    CHECK(client_key(addr("10.0.0.2"), "198.51.100.1, unknown", proxies) == "10.0.0.2");
    // Ports and brackets as some proxies write them.
    CHECK(client_key(addr("127.0.0.1"), "198.51.100.1:52311", proxies) == "198.51.100.1");
    CHECK(client_key(addr("127.0.0.1"), "[2001:db8:1:2:3:4:5:6]:443", proxies) == "2001:db8:1:2::/64");
}

TEST_CASE("client key: IPv6 clients by their /64, IPv4-mapped ones as IPv4") {
    const auto none = cidrs({});
    CHECK(client_key(addr("2001:db8:aa:bb:1:2:3:4"), "", none) == "2001:db8:aa:bb::/64");
    CHECK(client_key(addr("2001:db8:aa:bb:ffff::1"), "", none) == "2001:db8:aa:bb::/64");
    CHECK(client_key(addr("::ffff:198.51.100.7"), "", none) == "198.51.100.7");
    // A proxy reached over IPv4-mapped IPv6 is still the IPv4 proxy.
    CHECK(client_key(addr("::ffff:127.0.0.1"), "198.51.100.1", cidrs({"127.0.0.1"})) == "198.51.100.1");
}
