#pragma once
// Failed guesses of a secret sent without a credential (claim links, access codes) are limited
// per client address, so that a scanner or a script gets "429, retry after N s" instead of an
// answer per guess. The secrets are far too long to guess (links 256 bits, codes ~75), so this
// protects the database and the logs more than the secrets; a person who mistypes a code a few
// times never meets it.
//
// Each client has a budget of `burst` failures, and one failure comes back every `refill`
// (the generic cell rate algorithm: one time point per client, the moment its budget would be
// full again). Successful attempts cost nothing. At most `max_clients` addresses are tracked;
// when the table is full, the clients whose budget is full again are forgotten first, and a new
// client that still finds no room is not limited (memory stays bounded under a flood of
// addresses; the flood's guesses are no more likely to succeed).

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/address_policy.hpp"
#include "server/http_types.hpp"

namespace scimbridge::server {

class AttemptLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Options {
        std::size_t burst = 30;                  // failures before the first wait (0: no limit)
        std::chrono::milliseconds refill{10'000};  // one failure forgiven per this much time
        std::size_t max_clients = 100'000;
        std::vector<Cidr> trusted_proxies;  // whose X-Forwarded-For names the client (client_key)
    };

    explicit AttemptLimiter(Options options) : options_(std::move(options)) {}

    // The client of a request from `peer` with these X-Forwarded-For lines (client_key): worked
    // out only for the requests the limiter guards, not for every request served.
    std::string client_of(const boost::asio::ip::address& peer, const Request& request) const;

    // How long `client` must wait before its next attempt; zero when it may try now.
    std::chrono::seconds wait(const std::string& client, Clock::time_point now) const;

    // Records a failed attempt of `client`.
    void failed(const std::string& client, Clock::time_point now);

    std::size_t tracked() const;

private:
    Options options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Clock::time_point> full_at_;  // when each budget is full again
};

// The client a request comes from, as the limiter keys it: the connecting address, or, when that
// is one of `trusted_proxies`, the right-most X-Forwarded-For entry that is not (a proxy appends
// the address it saw; entries further left are the client's to write and are never believed). An
// IPv6 client is keyed by its /64 (one subscriber's network), IPv4-mapped IPv6 as the IPv4 form.
// An unparsable forwarded entry stops the walk at the last address believed.
std::string client_key(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                       const std::vector<Cidr>& trusted_proxies);

}  // namespace scimbridge::server
