#pragma once
// The SSRF guard's pure half: which IP addresses an outbound request may connect to. Loopback,
// private, link-local (cloud metadata at 169.254.169.254), unspecified, shared (CGNAT),
// multicast, broadcast and reserved addresses are refused, also when written as IPv4-mapped,
// IPv4-compatible or NAT64 IPv6, unless an explicitly allowed CIDR contains them.

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::server {

enum class AddressClass {
    kPublic,
    kLoopback,     // 127/8, ::1
    kPrivate,      // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
    kLinkLocal,    // 169.254/16, fe80::/10
    kUnspecified,  // 0/8, ::
    kShared,       // 100.64/10 (carrier-grade NAT)
    kMulticast,    // 224/4, ff00::/8
    kReserved,     // 240/4 and 255.255.255.255, 192.0.0/24, 198.18/15, 100::/64 discard
};
std::string_view to_string(AddressClass c);

// Classifies the address itself; an IPv6 form embedding an IPv4 address (::ffff:a.b.c.d,
// ::a.b.c.d, 64:ff9b::a.b.c.d) is classified as that IPv4 address.
AddressClass classify_address(const boost::asio::ip::address& address);

struct Cidr {
    boost::asio::ip::address network;  // host bits cleared
    unsigned prefix_length = 0;

    bool contains(const boost::asio::ip::address& address) const;
    std::string to_string() const;
};

// "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128). nullopt when malformed or the
// prefix is longer than the address. Host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8).
std::optional<Cidr> parse_cidr(std::string_view text);

// Whether an outbound connection to `address` is allowed: a public address, or one inside an
// allowed CIDR (an IPv4-mapped IPv6 address also matches IPv4 CIDRs through its IPv4 form).
bool target_allowed(const boost::asio::ip::address& address, const std::vector<Cidr>& allowed);

}  // namespace scimbridge::server
