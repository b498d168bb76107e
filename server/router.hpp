#pragma once
// Matches (method, path) against the route table (routes.cpp). Patterns are literal segments and
// {name} placeholders that match exactly one non-empty segment. Literal segments match
// case-insensitively (IdPs send /scim/v2/users as often as /Users).

#include "server/credentials.hpp"
#include "server/http_types.hpp"

#include <boost/asio/ip/address.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::server {

// Who may call a route.
enum class Access {
    kPublic,  // no credential: health, readiness, metrics
    kToken,   // any valid token of a tenant (idp or admin)
    kAdmin,   // admin tokens only
};

using PathParams = std::map<std::string, std::string, std::less<>>;

struct RequestContext {
    const Request& request;
    std::string_view request_id;
    std::string_view path;   // without the query string
    std::string_view query;  // after '?', may be empty
    const std::optional<Principal>& principal;
    PathParams params;
    bool secure = true;  // arrived over TLS
    boost::asio::ip::address peer;  // the address that connected (a proxy's, behind one)
};

using Handler = std::function<Response(const RequestContext&)>;

struct Route {
    http::verb method;
    std::string pattern;
    Access access;
    Handler handler;
};

struct RouteMatch {
    const Route* route = nullptr;  // null: no route for this method and path
    PathParams params;
    std::vector<http::verb> allowed;  // when the path exists under other methods (405)
};

class Router {
public:
    explicit Router(std::vector<Route> routes);
    RouteMatch match(http::verb method, std::string_view path) const;
    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

// Splits "/a/b?x=1" into path "/a/b" and query "x=1".
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

}  // namespace scimbridge::server
