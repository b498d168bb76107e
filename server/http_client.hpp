#pragma once
// The outbound HTTP/1.1 client behind mappers::HttpTransport (Beast + OpenSSL). Every request:
//   URL check (https only unless plain http is allowed) → DNS → SSRF guard on EVERY resolved
//   address (server/address_policy) → connect to those vetted addresses only → TLS 1.2+ with
//   the peer certificate and the host name verified → write → read at most `max_body` bytes of
//   body → keep-alive connection back to this thread's pool.
// One total deadline (HttpRequest::deadline) covers DNS, connect, TLS, write and read; redirects
// are never followed; a 3xx is returned like any other status.
//
// Threads: send() may be called from many threads at once. Each calling thread gets its own
// io_context and its own pool of idle connections (keyed by scheme, host, port), so nothing is
// shared between threads but the TLS context and the counters.

#include "mappers/http_transport.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace scimbridge::server {

// main.cpp may pass "scim-bridge/" SCIM_BRIDGE_VERSION instead.
inline constexpr std::string_view kDefaultUserAgent = "scim-bridge/0.1.0";

struct HttpClientOptions {
    // CIDRs the SSRF guard lets through although loopback/private/... ("127.0.0.0/8", "::1").
    std::vector<std::string> allowed_cidrs;
    bool allow_plain_http = false;  // http:// URLs (tests, local development); otherwise kBadUrl
    std::string ca_file;            // PEM bundle of trusted CAs; empty: the system's default CAs
    std::size_t max_body = 64 * 1024;       // response body cap; the rest is never read
    std::size_t max_header = 32 * 1024;     // response header cap (kProtocolError beyond)
    std::size_t max_idle_per_host = 8;      // idle keep-alive connections kept per thread and host
    std::chrono::seconds max_idle_time{30};  // an idle connection older than this is closed
    std::string user_agent = std::string(kDefaultUserAgent);
};

// A URL the client accepts, split into its parts (exposed for tests).
struct ParsedUrl {
    bool tls = true;
    std::string host;  // lower-cased; an IPv6 literal without brackets
    unsigned short port = 443;
    std::string target = "/";  // path and query; the fragment is dropped
    bool host_is_ip = false;
    std::string host_header() const;  // host[:port], IPv6 in brackets, default port omitted
};
// nullopt (with *why set) for anything but http(s)://host[:port][/path][?query][#fragment]:
// no user info, no empty host, no whitespace or control characters, port 1-65535.
std::optional<ParsedUrl> parse_url(std::string_view url, std::string* why = nullptr);

class HttpClient final : public mappers::HttpTransport {
public:
    // Throws std::invalid_argument for a malformed CIDR, std::runtime_error for an unreadable
    // CA file.
    explicit HttpClient(HttpClientOptions options = {});
    ~HttpClient() override;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    mappers::HttpResponse send(const mappers::HttpRequest& request) override;

    // Connections opened (TCP connects that succeeded) and requests sent on a reused one.
    std::uint64_t connections_opened() const { return connections_opened_.load(); }
    std::uint64_t connections_reused() const { return connections_reused_.load(); }

private:
    struct Impl;       // options, allowed CIDRs, TLS context (http_client.cpp)
    struct PerThread;  // one calling thread's io_context and idle connections

    PerThread& this_thread_state();

    std::unique_ptr<Impl> impl_;
    std::mutex threads_mutex_;
    std::map<std::thread::id, std::unique_ptr<PerThread>> threads_;
    std::atomic<std::uint64_t> connections_opened_{0};
    std::atomic<std::uint64_t> connections_reused_{0};
};

}  // namespace scimbridge::server
