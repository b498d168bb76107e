#pragma once
// What the three directory sources share (google_directory.cpp, graph_directory.cpp,
// scim_directory.cpp); not part of the public API (directory.hpp is). One PullClient lives for
// one pull: it sends every request with the pull's limits (deadline, 8 MiB body cap), counts
// them, and turns a failed answer into a scim::Error whose detail never holds a secret.

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "mappers/connector.hpp"
#include "mappers/directory.hpp"
#include "mappers/http_transport.hpp"
#include "scim/result.hpp"

namespace scimbridge::mappers::directory_detail {

// Directory pages are large (500 Google users with projection=full run to a few MiB).
inline constexpr std::size_t kMaxDirectoryBody = std::size_t{8} * 1024 * 1024;

struct PullLimits {
    std::size_t max_users = 2'000'000;
    std::size_t max_groups = 1'000'000;
    std::size_t max_pages = 100'000;            // per listing (users, groups, one group's members)
    std::chrono::milliseconds timeout{30'000};  // per request
};

// 502: the source failed or misbehaved (the bridge is the gateway here).
scim::Error upstream_error(std::string detail);

// RFC 3986 unreserved characters kept, everything else %XX: a query value or a path segment.
std::string percent_encode(std::string_view text);
// application/x-www-form-urlencoded body from name/value pairs (values percent-encoded).
std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields);
// "https://host/base/" → "https://host/base".
std::string without_trailing_slash(std::string_view url);
// "https://host:port" of an absolute URL (lower-cased scheme and host), or "" when it has none.
std::string url_origin(std::string_view url);

class PullClient {
public:
    PullClient(HttpTransport& transport,
               const PullLimits& limits,
               const WallClock& clock,
               std::vector<std::string> secrets);

    // Sends with the pull's deadline and body cap, counting the request.
    HttpResponse send(HttpRequest request);
    // GET `url` with an Accept: application/json header plus `headers`.
    HttpResponse get(const std::string& url, const std::map<std::string, std::string>& headers);
    // GET `url` with the bearer token `token(false)` gives; a 401 (a token revoked early) asks
    // `token(true)` for a renewed one and tries once more.
    scim::Result<HttpResponse> get_with_bearer(
        const std::string& url, const std::function<scim::Result<std::string>(bool renew)>& token);
    // The JSON object of a 2xx answer; otherwise the error failure() describes. `what` names the
    // request in details ("Google users page 3").
    scim::Result<boost::json::object> json_object(const HttpResponse& response,
                                                  std::string_view what) const;
    // The error for an answer that is not a usable 2xx: transport failure, HTTP status (401/403
    // say authentication failed; 429/503 become 503 with Retry-After), truncated body.
    scim::Error failure(const HttpResponse& response, std::string_view what) const;
    // Secrets (tokens, client secrets, private keys) replaced by "***".
    std::string redact(std::string text) const;
    void add_secret(std::string secret);

    int requests() const { return requests_; }
    std::chrono::system_clock::time_point now() const;
    const PullLimits& limits() const { return limits_; }

private:
    HttpTransport& transport_;
    const PullLimits& limits_;
    const WallClock& clock_;
    std::vector<std::string> secrets_;
    int requests_ = 0;
};

// Guards one paged listing: at most max_pages pages, and a page token (or link) seen twice is a
// loop, an error rather than an endless pull.
class PageGuard {
public:
    PageGuard(std::string listing, std::size_t max_pages);
    // Before following `token` to the next page.
    std::optional<scim::Error> next(const std::string& token);
    std::size_t pages() const { return pages_; }

private:
    std::string listing_;
    std::size_t max_pages_;
    std::size_t pages_ = 1;
    std::set<std::string> seen_;
};

// JSON readers that tolerate what directory APIs send (a missing member, null, a wrong type).
std::optional<std::string> string_member(const boost::json::object& o, std::string_view key);
const boost::json::array* array_member(const boost::json::object& o, std::string_view key);
const boost::json::object* object_member(const boost::json::object& o, std::string_view key);
std::optional<bool> bool_member(const boost::json::object& o, std::string_view key);
// A non-empty string or a JSON null for a present member; nullopt when it is absent or of
// another type ("" counts as null: directories send it for a cleared value).
std::optional<boost::json::value> nullable_string(const boost::json::object& o,
                                                  std::string_view key);

// Shared config decoding (400 invalidValue naming the field).
scim::Result<PullLimits> decode_limits(const boost::json::object& config);
// Refuses members of `config` not in `known`.
std::optional<scim::Error> unknown_fields(const boost::json::object& config,
                                          std::initializer_list<std::string_view> known,
                                          std::string_view where);
// A required (or defaulted) non-empty string of at most `max` bytes; one line unless
// `multiline` (a PEM key).
scim::Result<std::string> config_string(const boost::json::object& config,
                                        std::string_view key,
                                        std::string_view where,
                                        std::optional<std::string_view> fallback,
                                        std::size_t max = 4096,
                                        bool multiline = false);
// An http(s) URL without query or fragment (the transport checks the rest).
scim::Result<std::string> config_url(const boost::json::object& config,
                                     std::string_view key,
                                     std::string_view where,
                                     std::optional<std::string_view> fallback);

// Moves a decoded config value into `field`, or hands back its error:
//   if (auto e = take(c.base_url, config_url(config, "base_url", "", std::nullopt))) return *e;
template <class T>
std::optional<scim::Error> take(T& field, scim::Result<T> decoded) {
    if (!decoded) {
        return decoded.error();
    }
    field = std::move(*decoded);
    return std::nullopt;
}

// The canonical user schemas: core, plus the enterprise extension when `enterprise`.
boost::json::array user_schemas(bool enterprise);

scim::Result<std::unique_ptr<DirectorySource>> make_google_source(const boost::json::object& config,
                                                                  PullLimits limits,
                                                                  WallClock clock);
scim::Result<std::unique_ptr<DirectorySource>> make_graph_source(const boost::json::object& config,
                                                                 PullLimits limits,
                                                                 WallClock clock);
scim::Result<std::unique_ptr<DirectorySource>> make_scim_source(const boost::json::object& config,
                                                                PullLimits limits,
                                                                WallClock clock);

}  // namespace scimbridge::mappers::directory_detail
