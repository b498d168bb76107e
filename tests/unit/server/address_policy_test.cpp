#include "server/address_policy.hpp"
#include "tests/unit/server/addresses.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity

namespace {

using testing::addr;
using testing::cidrs;

}  // namespace

TEST_SUITE("server.address_policy") {
TEST_CASE("SSRF guard: IPv4 special-purpose ranges are classified") {
    const std::vector<std::pair<const char*, AddressClass>> cases = {
        {"8.8.8.8", AddressClass::kPublic},
        {"1.1.1.1", AddressClass::kPublic},
        {"172.15.255.255", AddressClass::kPublic},
        {"172.32.0.0", AddressClass::kPublic},
        {"100.63.255.255", AddressClass::kPublic},
        {"100.128.0.0", AddressClass::kPublic},
        {"223.255.255.255", AddressClass::kPublic},
        {"127.0.0.1", AddressClass::kLoopback},
        {"127.255.255.254", AddressClass::kLoopback},
        {"10.0.0.1", AddressClass::kPrivate},
        {"172.16.0.1", AddressClass::kPrivate},
        {"172.31.255.255", AddressClass::kPrivate},
        {"192.168.1.1", AddressClass::kPrivate},
        {"169.254.169.254", AddressClass::kLinkLocal},  // cloud metadata
        {"169.254.0.1", AddressClass::kLinkLocal},
        {"0.0.0.0", AddressClass::kUnspecified},
        {"0.1.2.3", AddressClass::kUnspecified},
        {"100.64.0.1", AddressClass::kShared},
        {"100.127.255.255", AddressClass::kShared},
        {"224.0.0.1", AddressClass::kMulticast},
        {"239.255.255.250", AddressClass::kMulticast},
        {"240.0.0.1", AddressClass::kReserved},
        {"255.255.255.255", AddressClass::kReserved},
        {"192.0.0.8", AddressClass::kReserved},
        {"198.18.0.1", AddressClass::kReserved},
    };
    for (const auto& [text, expected] : cases) {
        CAPTURE(text);
        CHECK(to_string(classify_address(addr(text))) == to_string(expected));
    }
}

TEST_CASE("SSRF guard: IPv6 special-purpose ranges are classified") {
    const std::vector<std::pair<const char*, AddressClass>> cases = {
        {"2606:4700:4700::1111", AddressClass::kPublic},
        {"2001:db8::1", AddressClass::kPublic},
        {"::1", AddressClass::kLoopback},
        {"::", AddressClass::kUnspecified},
        {"fc00::1", AddressClass::kPrivate},
        {"fd12:3456:789a::1", AddressClass::kPrivate},
        {"fec0::1", AddressClass::kPrivate},
        {"fe80::1", AddressClass::kLinkLocal},
        {"febf::1", AddressClass::kLinkLocal},
        {"ff02::1", AddressClass::kMulticast},
        {"100::1", AddressClass::kReserved},
    };
    for (const auto& [text, expected] : cases) {
        CAPTURE(text);
        CHECK(to_string(classify_address(addr(text))) == to_string(expected));
    }
}

TEST_CASE("SSRF guard: IPv6 forms of IPv4 addresses are judged as the IPv4 address") {
    const std::vector<std::pair<const char*, AddressClass>> cases = {
        {"::ffff:127.0.0.1", AddressClass::kLoopback},        // IPv4-mapped
        {"::ffff:169.254.169.254", AddressClass::kLinkLocal},
        {"::ffff:10.1.2.3", AddressClass::kPrivate},
        {"::ffff:0.0.0.0", AddressClass::kUnspecified},
        {"::ffff:8.8.8.8", AddressClass::kPublic},
        {"::127.0.0.1", AddressClass::kLoopback},             // IPv4-compatible (deprecated)
        {"::192.168.0.1", AddressClass::kPrivate},
        {"::ffff:0:127.0.0.1", AddressClass::kLoopback},      // SIIT
        {"64:ff9b::127.0.0.1", AddressClass::kLoopback},      // NAT64
        {"64:ff9b::a9fe:a9fe", AddressClass::kLinkLocal},
        {"2002:7f00:1::", AddressClass::kLoopback},           // 6to4
        {"2002:0808:0808::1", AddressClass::kPublic},
    };
    for (const auto& [text, expected] : cases) {
        CAPTURE(text);
        CHECK(to_string(classify_address(addr(text))) == to_string(expected));
    }
}

TEST_CASE("CIDR parsing: prefixes, bare addresses, host bits cleared, garbage refused") {
    auto c = parse_cidr("127.0.0.0/8");
    REQUIRE(c.has_value());
    CHECK(c->to_string() == "127.0.0.0/8");
    CHECK(parse_cidr("10.1.2.3/8")->to_string() == "10.0.0.0/8");
    CHECK(parse_cidr("192.168.1.7")->to_string() == "192.168.1.7/32");
    CHECK(parse_cidr("::1")->to_string() == "::1/128");
    CHECK(parse_cidr("fd00::1234/8")->to_string() == "fd00::/8");
    CHECK(parse_cidr("fe80::/10")->to_string() == "fe80::/10");
    CHECK(parse_cidr("0.0.0.0/0")->to_string() == "0.0.0.0/0");
    for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1",
                            "10.0.0.0/8x", "10.0.0/8", "example.com/8", "fe80::1%eth0/64",
                            "10.0.0.0/ 8", "10.0.0.0/8/8"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_cidr(bad).has_value());
    }
}

TEST_CASE("CIDR containment respects the prefix and the family") {
    const Cidr loop = parse_cidr("127.0.0.0/8").value();
    CHECK(loop.contains(addr("127.0.0.1")));
    CHECK(loop.contains(addr("127.255.0.9")));
    CHECK_FALSE(loop.contains(addr("128.0.0.1")));
    CHECK_FALSE(loop.contains(addr("::1")));
    const Cidr v6 = parse_cidr("2001:db8:abcd::/48").value();
    CHECK(v6.contains(addr("2001:db8:abcd:1::5")));
    CHECK_FALSE(v6.contains(addr("2001:db8:abce::5")));
    const Cidr odd = parse_cidr("2001:db8:ab80::/41").value();
    CHECK(odd.contains(addr("2001:db8:abff::1")));
    CHECK_FALSE(odd.contains(addr("2001:db8:ab7f::1")));
    CHECK(parse_cidr("0.0.0.0/0")->contains(addr("10.0.0.1")));
}

TEST_CASE("SSRF guard: public targets pass, special ones only inside an allowed CIDR") {
    CHECK(target_allowed(addr("8.8.8.8"), {}));
    CHECK(target_allowed(addr("2606:4700:4700::1111"), {}));
    for (const char* refused : {"127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "0.0.0.0",
                                "::", "100.64.0.1", "224.0.0.1", "fe80::1", "fd00::1",
                                "::ffff:127.0.0.1", "::ffff:169.254.169.254"}) {
        CAPTURE(refused);
        CHECK_FALSE(target_allowed(addr(refused), {}));
    }
    const auto allowed = cidrs({"127.0.0.0/8"});
    CHECK(target_allowed(addr("127.0.0.1"), allowed));
    CHECK(target_allowed(addr("::ffff:127.0.0.1"), allowed));  // dual-stack spelling
    CHECK_FALSE(target_allowed(addr("::1"), allowed));
    CHECK_FALSE(target_allowed(addr("10.0.0.1"), allowed));
    CHECK_FALSE(target_allowed(addr("169.254.169.254"), allowed));
    // Other embeddings are never allowed through an IPv4 CIDR.
    CHECK_FALSE(target_allowed(addr("64:ff9b::127.0.0.1"), allowed));
    CHECK_FALSE(target_allowed(addr("::127.0.0.1"), allowed));
    CHECK(target_allowed(addr("10.20.30.40"), cidrs({"10.20.0.0/16", "::1/128"})));
    CHECK(target_allowed(addr("::1"), cidrs({"10.20.0.0/16", "::1/128"})));
}
}
