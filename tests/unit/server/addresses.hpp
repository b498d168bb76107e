#pragma once
// Addresses and CIDR lists written as text, for the tests of address_policy and attempt_limiter.
#include "server/address_policy.hpp"

#include <initializer_list>
#include <vector>

namespace scimbridge::server::testing {

inline boost::asio::ip::address addr(const char* text) { return boost::asio::ip::make_address(text); }

inline std::vector<Cidr> cidrs(std::initializer_list<const char*> texts) {
    std::vector<Cidr> out;
    for (const char* t : texts) {
        out.push_back(parse_cidr(t).value());
    }
    return out;
}

}  // namespace scimbridge::server::testing
