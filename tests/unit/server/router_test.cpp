#include "server/router.hpp"

#include <doctest/doctest.h>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity

namespace {
Response ok(const RequestContext&) { return Response{http::status::ok, 11}; }
}  // namespace

TEST_SUITE("server.router") {
TEST_CASE("literal and {param} segments") {
    const Router router({{http::verb::get, "/scim/v2/Users", Access::kToken, ok},
                         {http::verb::post, "/scim/v2/Users", Access::kToken, ok},
                         {http::verb::get, "/scim/v2/Users/{id}", Access::kToken, ok}});
    auto m = router.match(http::verb::get, "/scim/v2/Users/2819c223");
    REQUIRE(m.route != nullptr);
    CHECK(m.route->pattern == "/scim/v2/Users/{id}");
    CHECK(m.params.at("id") == "2819c223");

    m = router.match(http::verb::post, "/scim/v2/Users");
    REQUIRE(m.route != nullptr);
    CHECK(m.route->method == http::verb::post);

    CHECK(router.match(http::verb::get, "/scim/v2/Users/a/b").route == nullptr);
    CHECK(router.match(http::verb::get, "/scim/v2/Groups").route == nullptr);
    CHECK(router.match(http::verb::get, "/scim/v2/Groups").allowed.empty());
}

TEST_CASE("a known path with another method reports the allowed methods (405)") {
    const Router router({{http::verb::get, "/healthz", Access::kPublic, ok},
                         {http::verb::get, "/scim/v2/Users", Access::kToken, ok},
                         {http::verb::post, "/scim/v2/Users", Access::kToken, ok}});
    const auto m = router.match(http::verb::delete_, "/scim/v2/Users");
    CHECK(m.route == nullptr);
    REQUIRE(m.allowed.size() == 2);
    CHECK(m.allowed[0] == http::verb::get);
    CHECK(m.allowed[1] == http::verb::post);
}

TEST_CASE("split_target separates the query") {
    const auto [path, query] = split_target("/scim/v2/Users?filter=userName%20eq%20%22a%22");
    CHECK(path == "/scim/v2/Users");
    CHECK(query == "filter=userName%20eq%20%22a%22");
    CHECK(split_target("/healthz").second.empty());
}
}
