#include "server/router.hpp"

#include "scim/schema.hpp"

namespace scimbridge::server {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < path.size()) {
        if (path[pos] == '/') {
            ++pos;
            continue;
        }
        const std::size_t end = path.find('/', pos);
        const std::size_t stop = end == std::string_view::npos ? path.size() : end;
        out.push_back(path.substr(pos, stop - pos));
        pos = stop;
    }
    return out;
}

bool match_pattern(std::string_view pattern, std::string_view path, PathParams& params) {
    const auto want = segments(pattern);
    const auto have = segments(path);
    if (want.size() != have.size()) {
        return false;
    }
    PathParams found;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const std::string_view w = want[i];
        if (w.size() > 2 && w.front() == '{' && w.back() == '}') {
            found.emplace(std::string(w.substr(1, w.size() - 2)), std::string(have[i]));
        } else if (!scim::iequals(w, have[i])) {
            return false;
        }
    }
    params = std::move(found);
    return true;
}

}  // namespace

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) {
        return {target, {}};
    }
    return {target.substr(0, q), target.substr(q + 1)};
}

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

RouteMatch Router::match(http::verb method, std::string_view path) const {
    RouteMatch result;
    for (const Route& route : routes_) {
        PathParams params;
        if (!match_pattern(route.pattern, path, params)) {
            continue;
        }
        if (route.method == method) {
            result.route = &route;
            result.params = std::move(params);
            result.allowed.clear();
            return result;
        }
        result.allowed.push_back(route.method);
    }
    return result;
}

}  // namespace scimbridge::server
