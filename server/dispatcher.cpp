#include "server/dispatcher.hpp"

#include "db/database.hpp"
#include "server/log.hpp"
#include "server/responses.hpp"

#include <chrono>
#include <cstdint>
#include <cstring>

namespace scimbridge::server {

namespace {

bool sane_request_id(std::string_view id) {
    constexpr std::size_t kMaxLength = 128;
    if (id.empty() || id.size() > kMaxLength) {
        return false;
    }
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::optional<std::string_view> bearer_token(const Request& request) {
    const auto it = request.find(http::field::authorization);
    if (it == request.end()) {
        return std::nullopt;
    }
    std::string_view value(it->value().data(), it->value().size());
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size()) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) {
            return std::nullopt;
        }
    }
    value.remove_prefix(kScheme.size());
    while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    while (!value.empty() && value.back() == ' ') {
        value.remove_suffix(1);
    }
    return value;
}

std::string allow_header(const std::vector<http::verb>& methods) {
    std::string out;
    for (const http::verb v : methods) {
        if (!out.empty()) {
            out.append(", ");
        }
        out.append(http::to_string(v));
    }
    return out;
}

bool is_api_path(std::string_view path) {
    return path.rfind("/scim/", 0) == 0 || path.rfind("/admin/", 0) == 0 || path == "/scim" ||
           path == "/admin";
}

}  // namespace

std::string request_id_for(const Request& request) {
    const auto it = request.find("X-Request-Id");
    if (it != request.end()) {
        const std::string_view id(it->value().data(), it->value().size());
        if (sane_request_id(id)) {
            return std::string(id);
        }
    }
    return fresh_request_id();
}

bool reads_only(http::verb method, std::string_view target) {
    if (method == http::verb::get || method == http::verb::head) {
        return true;
    }
    const std::string_view path = target.substr(0, target.find('?'));
    constexpr std::string_view kSearch = "/.search";
    return method == http::verb::post && path.size() >= kSearch.size() &&
           path.substr(path.size() - kSearch.size()) == kSearch;
}

std::string fresh_request_id() {
    // A correlation id, not a secret: 16 hex digits from a per-thread splitmix64 sequence seeded
    // by OpenSSL (a RAND_bytes call per request cost 3 % of a lookup's CPU in the bridge).
    thread_local std::uint64_t state = [] {
        std::uint64_t seed = 0;
        const std::string bytes = random_bytes(sizeof seed);
        std::memcpy(&seed, bytes.data(), sizeof seed);
        return seed;
    }();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    z ^= z >> 31U;
    char bytes[sizeof z];
    std::memcpy(bytes, &z, sizeof z);
    return hex(std::string_view(bytes, sizeof bytes));
}

Response Dispatcher::handle(Request request, bool secure, const boost::asio::ip::address& peer) noexcept {
    const auto started = std::chrono::steady_clock::now();
    std::string request_id;
    std::string route_label = "unmatched";
    std::optional<Principal> principal;
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    Response response;
    try {
        request_id = request_id_for(request);
        const std::string_view target(request.target().data(), request.target().size());
        const auto [path, query] = split_target(target);
        const RouteMatch match = router_.match(request.method(), path);

        const Access access = match.route != nullptr ? match.route->access
                              : is_api_path(path)    ? Access::kToken
                                                     : Access::kPublic;
        if (access != Access::kPublic) {
            const auto token = bearer_token(request);
            if (token) {
                principal = credentials_.authenticate(*token);
            }
        }
        if (access != Access::kPublic && !principal) {
            response = render_error(scim::Error::unauthorized("a valid bearer token is required"),
                                    version, keep_alive);
        } else if (access == Access::kAdmin && principal->kind != scim::TokenKind::kAdmin) {
            response = render_error(scim::Error::forbidden("this endpoint needs an admin token"),
                                    version, keep_alive);
        } else if (match.route == nullptr && !match.allowed.empty()) {
            response = render_error(
                scim::Error::method_not_allowed(std::string(http::to_string(request.method())) +
                                                " is not supported here"),
                version, keep_alive);
            response.set(http::field::allow, allow_header(match.allowed));
        } else if (match.route == nullptr) {
            response = render_error(scim::Error::not_found("no such endpoint"), version,
                                    keep_alive);
        } else {
            route_label = match.route->pattern;
            const RequestContext context{request,   request_id,   path,   query,
                                         principal, match.params, secure, peer};
            response = match.route->handler(context);
        }
    } catch (const db::DatabaseUnavailable& e) {
        log::error("database unavailable", {{"request_id", request_id}, {"error", e.what()}});
        response = render_error(scim::Error::unavailable("the database is unavailable; retry later"),
                                version, keep_alive);
        response.set(http::field::retry_after, "5");
    } catch (const std::exception& e) {
        log::error("unhandled exception", {{"request_id", request_id}, {"error", e.what()}});
        response = render_error(scim::Error::internal(request_id), version, keep_alive);
    } catch (...) {
        log::error("unhandled non-standard exception", {{"request_id", request_id}});
        response = render_error(scim::Error::internal(request_id), version, keep_alive);
    }

    try {
        response.set("X-Request-Id", request_id);
        const auto elapsed = std::chrono::steady_clock::now() - started;
        const std::string method(http::to_string(request.method()));
        metrics_.record_request(route_label, method, response.result_int(), elapsed);
        if (principal) {
            metrics_.record_served();  // what scheduled runs yield to (health probes do not count)
        }
        if (log::enabled(log::Level::kInfo)) {
            boost::json::object fields{
                {"request_id", request_id},
                {"method", method},
                {"route", route_label},
                {"status", response.result_int()},
                {"duration_ms",
                 std::chrono::duration<double, std::milli>(elapsed).count()}};
            if (principal) {
                fields["tenant"] = principal->tenant_name;
                fields["token_id"] = principal->token_id;
            }
            log::info("request", std::move(fields));
        }
    } catch (...) {  // metrics and logging must never turn a response into a crash
    }
    return response;
}

}  // namespace scimbridge::server
