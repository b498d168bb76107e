#include "server/dispatcher.hpp"

#include "db/database.hpp"
#include "tests/support/in_memory_tenancy_store.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <stdexcept>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::scim::TokenKind;

namespace {

Response echo_tenant(const RequestContext& ctx) {
    Response res{http::status::ok, ctx.request.version()};
    res.body() = ctx.principal ? ctx.principal->tenant_name : "-";
    res.prepare_payload();
    return res;
}

struct Fixture {
    scimbridge::tests::InMemoryTenancyStore store;
    Credentials credentials{store};
    Metrics metrics;
    Router router{{
        {http::verb::get, "/healthz", Access::kPublic, echo_tenant},
        {http::verb::get, "/scim/v2/Users", Access::kToken, echo_tenant},
        {http::verb::post, "/scim/v2/Users", Access::kToken, echo_tenant},
        {http::verb::get, "/admin/v1/apps", Access::kAdmin, echo_tenant},
        {http::verb::get, "/boom", Access::kPublic,
         [](const RequestContext&) -> Response { throw std::logic_error("secret internals"); }},
        {http::verb::get, "/db-down", Access::kPublic,
         [](const RequestContext&) -> Response {
             throw scimbridge::db::DatabaseUnavailable("pool exhausted");
         }},
    }};
    Dispatcher dispatcher{router, credentials, metrics};
    std::string idp_token;
    std::string admin_token;

    Fixture() {
        const auto t = store.create_tenant("acme");
        idp_token = credentials.create(*t, TokenKind::kIdp, "")->token;
        admin_token = credentials.create(*t, TokenKind::kAdmin, "")->token;
    }

    Response get(const std::string& target, const std::string& token = "") {
        Request req{http::verb::get, target, 11};
        if (!token.empty()) {
            req.set(http::field::authorization, "Bearer " + token);
        }
        return dispatcher.handle(std::move(req));
    }
};

boost::json::object body_of(const Response& res) {
    return boost::json::parse(res.body()).as_object();
}

}  // namespace

TEST_SUITE("server.dispatcher") {
TEST_CASE("no token: 401, SCIM error body, WWW-Authenticate: Bearer") {
    Fixture f;
    const Response res = f.get("/scim/v2/Users");
    CHECK(res.result_int() == 401);
    CHECK(res[http::field::content_type] == "application/scim+json");
    CHECK(res[http::field::www_authenticate].starts_with("Bearer"));
    const auto body = body_of(res);
    CHECK(body.at("status") == "401");
    CHECK(body.at("schemas").as_array().at(0) == "urn:ietf:params:scim:api:messages:2.0:Error");
}

TEST_CASE("an invalid token is a 401 too, and so is a non-Bearer scheme") {
    Fixture f;
    CHECK(f.get("/scim/v2/Users", "scb_nope").result_int() == 401);
    Request req{http::verb::get, "/scim/v2/Users", 11};
    req.set(http::field::authorization, "Basic " + f.idp_token);
    CHECK(f.dispatcher.handle(std::move(req)).result_int() == 401);
}

TEST_CASE("a valid token reaches the handler bound to its tenant (scheme is case-insensitive)") {
    Fixture f;
    Response res = f.get("/scim/v2/Users", f.idp_token);
    CHECK(res.result_int() == 200);
    CHECK(res.body() == "acme");
    Request req{http::verb::get, "/scim/v2/Users", 11};
    req.set(http::field::authorization, "bearer  " + f.idp_token);
    CHECK(f.dispatcher.handle(std::move(req)).result_int() == 200);
}

TEST_CASE("admin routes refuse idp tokens with 403") {
    Fixture f;
    CHECK(f.get("/admin/v1/apps", f.idp_token).result_int() == 403);
    CHECK(f.get("/admin/v1/apps", f.admin_token).result_int() == 200);
}

TEST_CASE("unknown API paths need a token before they say 404") {
    Fixture f;
    CHECK(f.get("/scim/v2/Nope").result_int() == 401);
    const Response res = f.get("/scim/v2/Nope", f.idp_token);
    CHECK(res.result_int() == 404);
    CHECK(body_of(res).at("status") == "404");
    CHECK(f.get("/nope").result_int() == 404);
}

TEST_CASE("a known path with the wrong method: 405 with Allow") {
    Fixture f;
    Request req{http::verb::delete_, "/scim/v2/Users", 11};
    req.set(http::field::authorization, "Bearer " + f.idp_token);
    const Response res = f.dispatcher.handle(std::move(req));
    CHECK(res.result_int() == 405);
    CHECK(res[http::field::allow] == "GET, POST");
}

TEST_CASE("a surprise becomes a SCIM 500 with the request id, never the cause") {
    Fixture f;
    Request req{http::verb::get, "/boom", 11};
    req.set("X-Request-Id", "req-42");
    const Response res = f.dispatcher.handle(std::move(req));
    CHECK(res.result_int() == 500);
    CHECK(res["X-Request-Id"] == "req-42");
    CHECK(res.body().find("secret internals") == std::string::npos);
    CHECK(body_of(res).at("detail") == "internal error; request id req-42");
}

TEST_CASE("an unavailable database is a 503 with Retry-After") {
    Fixture f;
    const Response res = f.get("/db-down");
    CHECK(res.result_int() == 503);
    CHECK(res[http::field::retry_after] == "5");
    CHECK(body_of(res).at("status") == "503");
}

TEST_CASE("X-Request-Id: a sane one is echoed, anything else is replaced") {
    Fixture f;
    Request good{http::verb::get, "/healthz", 11};
    good.set("X-Request-Id", "7f3a-11:okta.req_9");
    CHECK(f.dispatcher.handle(std::move(good))["X-Request-Id"] == "7f3a-11:okta.req_9");

    Request bad{http::verb::get, "/healthz", 11};
    bad.set("X-Request-Id", "a\"b<script>");
    const Response res = f.dispatcher.handle(std::move(bad));
    CHECK(res["X-Request-Id"] != "a\"b<script>");
    CHECK(res["X-Request-Id"].size() == 16);

    const Response made = f.get("/healthz");
    CHECK(made["X-Request-Id"].size() == 16);
}

TEST_CASE("metrics count requests by route pattern and status") {
    Fixture f;
    f.get("/scim/v2/Users", f.idp_token);
    f.get("/scim/v2/Users");
    const std::string text = f.metrics.render();
    CHECK(text.find(R"(scim_bridge_http_requests_total{route="/scim/v2/Users",method="GET",status="200"} 1)") !=
          std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_requests_total{route="unmatched",method="GET",status="401"} 1)") !=
          std::string::npos);
}

TEST_CASE("only authenticated API requests count as served (what scheduled runs yield to), not probes") {
    Fixture f;
    f.get("/healthz");
    f.get("/scim/v2/Users");  // 401
    CHECK(f.metrics.requests_served() == 0);
    f.get("/scim/v2/Users", f.idp_token);
    f.get("/admin/v1/apps", f.admin_token);
    CHECK(f.metrics.requests_served() == 2);
}

TEST_CASE("requests that only read go to the read workers, everything else to the write workers") {
    CHECK(reads_only(http::verb::get, "/scim/v2/Users?filter=userName%20eq%20%22a%22"));
    CHECK(reads_only(http::verb::head, "/healthz"));
    CHECK(reads_only(http::verb::post, "/scim/v2/Users/.search"));
    CHECK(reads_only(http::verb::post, "/scim/v2/.search?x=1"));
    CHECK_FALSE(reads_only(http::verb::post, "/scim/v2/Users"));
    CHECK_FALSE(reads_only(http::verb::post, "/scim/v2/Bulk"));
    CHECK_FALSE(reads_only(http::verb::post, "/scim/v2/Users?q=/.search"));
    CHECK_FALSE(reads_only(http::verb::post, "/.searc"));
    CHECK_FALSE(reads_only(http::verb::put, "/scim/v2/Users/.search"));
    CHECK_FALSE(reads_only(http::verb::patch, "/scim/v2/Users/x"));
    CHECK_FALSE(reads_only(http::verb::delete_, "/scim/v2/Users/x"));
}
}
