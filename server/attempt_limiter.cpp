#include "server/attempt_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace scimbridge::server {

namespace ip = boost::asio::ip;

std::chrono::seconds AttemptLimiter::wait(const std::string& client, Clock::time_point now) const {
    if (options_.burst == 0) {
        return std::chrono::seconds(0);
    }
    const std::lock_guard lock(mutex_);
    const auto it = full_at_.find(client);
    if (it == full_at_.end()) {
        return std::chrono::seconds(0);
    }
    // One failure is left while the budget lacks at most burst - 1 of them.
    const auto allowance = options_.refill * static_cast<long>(options_.burst - 1);
    const auto over = it->second - now - allowance;
    if (over <= Clock::duration::zero()) {
        return std::chrono::seconds(0);
    }
    return std::chrono::ceil<std::chrono::seconds>(over);
}

void AttemptLimiter::failed(const std::string& client, Clock::time_point now) {
    if (options_.burst == 0) {
        return;
    }
    const std::lock_guard lock(mutex_);
    auto it = full_at_.find(client);
    if (it == full_at_.end()) {
        if (full_at_.size() >= options_.max_clients) {
            std::erase_if(full_at_, [now](const auto& entry) { return entry.second <= now; });
            if (full_at_.size() >= options_.max_clients) {
                return;
            }
        }
        it = full_at_.emplace(client, now).first;
    }
    it->second = std::max(it->second, now) + options_.refill;
}

std::string AttemptLimiter::client_of(const ip::address& peer, const Request& request) const {
    std::string forwarded;  // every X-Forwarded-For line, in order, as one list
    for (auto [it, end] = request.equal_range("X-Forwarded-For"); it != end; ++it) {
        forwarded += forwarded.empty() ? "" : ",";
        forwarded.append(it->value().data(), it->value().size());
    }
    return client_key(peer, forwarded, options_.trusted_proxies);
}

std::size_t AttemptLimiter::tracked() const {
    const std::lock_guard lock(mutex_);
    return full_at_.size();
}

namespace {

ip::address plain(const ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, address.to_v6());
    }
    return address;
}

std::string key_of(const ip::address& address) {
    if (address.is_v4()) {
        return address.to_string();
    }
    ip::address_v6::bytes_type bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), static_cast<unsigned char>(0));
    return ip::make_address_v6(bytes).to_string() + "/64";
}

bool trusted(const ip::address& address, const std::vector<Cidr>& proxies) {
    return std::any_of(proxies.begin(), proxies.end(),
                       [&](const Cidr& cidr) { return cidr.contains(address); });
}

// "203.0.113.7", "203.0.113.7:5123", "2001:db8::1", "[2001:db8::1]:443"; nullopt otherwise.
std::optional<ip::address> forwarded_address(std::string_view entry) {
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (!entry.empty() && entry.front() == '[') {
        const auto close = entry.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        entry = entry.substr(1, close - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
        entry = entry.substr(0, entry.find(':'));  // IPv4 with a port
    }
    boost::system::error_code ec;
    const ip::address address = ip::make_address(std::string(entry), ec);
    if (ec) {
        return std::nullopt;
    }
    return plain(address);
}

}  // namespace

std::string client_key(const ip::address& peer, std::string_view forwarded_for,
                       const std::vector<Cidr>& trusted_proxies) {
    ip::address client = plain(peer);
    std::string_view rest = forwarded_for;
    while (trusted(client, trusted_proxies) && !rest.empty()) {
        const auto comma = rest.rfind(',');
        const std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        const auto address = forwarded_address(entry);
        if (!address) {
            break;
        }
        client = *address;
    }
    return key_of(client);
}

}  // namespace scimbridge::server
