#include "server/address_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

namespace scimbridge::server {

namespace ip = boost::asio::ip;

namespace {

using Bytes16 = ip::address_v6::bytes_type;

constexpr std::uint32_t v4_mask(unsigned prefix) {
    return prefix == 0 ? 0U : ~std::uint32_t{0} << (32U - prefix);
}

bool in_v4(std::uint32_t a, std::uint32_t network, unsigned prefix) {
    return (a & v4_mask(prefix)) == network;
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return a << 24U | b << 16U | c << 8U | d;
}

struct V4Range {
    std::uint32_t network;
    unsigned prefix;
    AddressClass address_class;
};

// IANA IPv4 special-purpose registry, the entries an outbound request must not reach.
constexpr std::array kV4Ranges = {
    V4Range{v4(0, 0, 0, 0), 8, AddressClass::kUnspecified},
    V4Range{v4(10, 0, 0, 0), 8, AddressClass::kPrivate},
    V4Range{v4(100, 64, 0, 0), 10, AddressClass::kShared},
    V4Range{v4(127, 0, 0, 0), 8, AddressClass::kLoopback},
    V4Range{v4(169, 254, 0, 0), 16, AddressClass::kLinkLocal},
    V4Range{v4(172, 16, 0, 0), 12, AddressClass::kPrivate},
    V4Range{v4(192, 0, 0, 0), 24, AddressClass::kReserved},
    V4Range{v4(192, 168, 0, 0), 16, AddressClass::kPrivate},
    V4Range{v4(198, 18, 0, 0), 15, AddressClass::kReserved},
    V4Range{v4(224, 0, 0, 0), 4, AddressClass::kMulticast},
    V4Range{v4(240, 0, 0, 0), 4, AddressClass::kReserved},  // includes 255.255.255.255
};

AddressClass classify_v4(std::uint32_t a) {
    for (const auto& range : kV4Ranges) {
        if (in_v4(a, range.network, range.prefix)) {
            return range.address_class;
        }
    }
    return AddressClass::kPublic;
}

bool all_zero(const Bytes16& b, std::size_t from, std::size_t to) {
    return std::all_of(b.begin() + static_cast<std::ptrdiff_t>(from),
                       b.begin() + static_cast<std::ptrdiff_t>(to),
                       [](unsigned char c) { return c == 0; });
}

std::uint32_t v4_at(const Bytes16& b, std::size_t i) {
    return v4(b[i], b[i + 1], b[i + 2], b[i + 3]);
}

// The IPv4 address an IPv6 address stands for, where one does: IPv4-mapped (::ffff:0:0/96),
// SIIT-translated (::ffff:0:0:0/96), IPv4-compatible (::/96, deprecated), NAT64 (64:ff9b::/96)
// and 6to4 (2002::/16). Every one of them can reach an IPv4 host, so each is judged as one.
std::optional<std::uint32_t> embedded_v4(const ip::address_v6& address) {
    const Bytes16 b = address.to_bytes();
    if (all_zero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff) {
        return v4_at(b, 12);
    }
    if (all_zero(b, 0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
        return v4_at(b, 12);
    }
    if (all_zero(b, 0, 12) && v4_at(b, 12) > 1) {  // :: and ::1 are themselves
        return v4_at(b, 12);
    }
    if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && all_zero(b, 4, 12)) {
        return v4_at(b, 12);
    }
    if (b[0] == 0x20 && b[1] == 0x02) {
        return v4_at(b, 2);
    }
    return std::nullopt;
}

AddressClass classify_v6(const ip::address_v6& address) {
    if (const auto embedded = embedded_v4(address)) {
        return classify_v4(*embedded);
    }
    const Bytes16 b = address.to_bytes();
    if (all_zero(b, 0, 16)) {
        return AddressClass::kUnspecified;
    }
    if (all_zero(b, 0, 15) && b[15] == 1) {
        return AddressClass::kLoopback;
    }
    if ((b[0] & 0xfeU) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0U) == 0xc0)) {
        return AddressClass::kPrivate;  // fc00::/7 unique local, fec0::/10 site-local
    }
    if (b[0] == 0xfe && (b[1] & 0xc0U) == 0x80) {
        return AddressClass::kLinkLocal;  // fe80::/10
    }
    if (b[0] == 0xff) {
        return AddressClass::kMulticast;  // ff00::/8
    }
    if (b[0] == 0x01 && b[1] == 0 && all_zero(b, 2, 8)) {
        return AddressClass::kReserved;  // 100::/64 discard-only
    }
    return AddressClass::kPublic;
}

bool prefix_equal(const Bytes16& a, const Bytes16& b, unsigned prefix) {
    for (std::size_t i = 0; i < 16 && prefix > 0; ++i) {
        const unsigned bits = std::min(prefix, 8U);
        const auto mask = static_cast<unsigned char>(0xffU << (8U - bits));
        if ((a[i] & mask) != (b[i] & mask)) {
            return false;
        }
        prefix -= bits;
    }
    return true;
}

}  // namespace

std::string_view to_string(AddressClass c) {
    switch (c) {
        case AddressClass::kPublic: return "public";
        case AddressClass::kLoopback: return "loopback";
        case AddressClass::kPrivate: return "private";
        case AddressClass::kLinkLocal: return "link-local";
        case AddressClass::kUnspecified: return "unspecified";
        case AddressClass::kShared: return "shared (CGNAT)";
        case AddressClass::kMulticast: return "multicast";
        case AddressClass::kReserved: return "reserved";
    }
    return "unknown";
}

AddressClass classify_address(const ip::address& address) {
    return address.is_v4() ? classify_v4(address.to_v4().to_uint()) : classify_v6(address.to_v6());
}

bool Cidr::contains(const ip::address& address) const {
    if (address.is_v4() != network.is_v4()) {
        return false;
    }
    if (address.is_v4()) {
        return in_v4(address.to_v4().to_uint(), network.to_v4().to_uint(), prefix_length);
    }
    return prefix_equal(address.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix_length);
}

std::string Cidr::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix_length);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    const std::string host(text.substr(0, slash));
    if (host.find('%') != std::string::npos) {
        return std::nullopt;  // no scope ids
    }
    boost::system::error_code ec;
    const ip::address address = ip::make_address(host, ec);
    if (ec) {
        return std::nullopt;
    }
    const unsigned max_prefix = address.is_v4() ? 32U : 128U;
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        const auto [end, perr] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || perr != std::errc{} || end != digits.data() + digits.size() ||
            prefix > max_prefix) {
            return std::nullopt;
        }
    }
    Cidr cidr;
    cidr.prefix_length = prefix;
    if (address.is_v4()) {
        cidr.network = ip::address_v4(address.to_v4().to_uint() & v4_mask(prefix));
    } else {
        Bytes16 b = address.to_v6().to_bytes();
        for (std::size_t i = 0; i < 16; ++i) {
            const unsigned bit = static_cast<unsigned>(i) * 8U;
            const unsigned keep = prefix > bit ? std::min(prefix - bit, 8U) : 0U;
            b[i] = static_cast<unsigned char>(b[i] & (keep == 0 ? 0U : 0xffU << (8U - keep)));
        }
        cidr.network = ip::address_v6(b);
    }
    return cidr;
}

bool target_allowed(const ip::address& address, const std::vector<Cidr>& allowed) {
    if (classify_address(address) == AddressClass::kPublic) {
        return true;
    }
    // ::ffff:a.b.c.d is how a dual-stack socket writes a.b.c.d: IPv4 CIDRs apply to it. Other
    // IPv4-embedding forms are refused by their IPv4 class but never allowed through it.
    std::optional<ip::address> as_v4;
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        as_v4 = ip::make_address_v4(ip::v4_mapped, address.to_v6());
    }
    return std::any_of(allowed.begin(), allowed.end(), [&](const Cidr& cidr) {
        return cidr.contains(address) || (as_v4 && cidr.contains(*as_v4));
    });
}

}  // namespace scimbridge::server
