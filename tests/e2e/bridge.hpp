#pragma once
// A bridge for the end-to-end suites that need a database, a tenant and its tokens: the real
// binary on a fresh database with the fan-out options of the tests (scaled delays, loopback
// targets allowed), plus the requests the fan-out and lifecycle tests make.
#include "tests/e2e/harness.hpp"
#include "tests/support/fake_app.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <thread>

namespace scimbridge::e2e {

namespace json = boost::json;
using namespace std::chrono_literals;
using scimbridge::tests::FakeApp;
using scimbridge::tests::PgTestDatabase;


// Polls `done` every 100 ms until it holds or `timeout` passes; its last answer.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return done();
}

inline json::value json_of(const Response& res) { return json::parse(res.body()); }

inline std::vector<std::string> fanout_args(bool allow_loopback = true) {
    std::vector<std::string> args{"--delivery-time-scale", "0.001", "--delivery-poll-ms", "100",
                                  "--delivery-lease-ms", "5000", "--outbound-deadline-ms", "2000",
                                  "--outbound-allow-http", "true", "--outbound-ca-file", dev_certs().ca()};
    if (allow_loopback) {
        args.insert(args.end(), {"--outbound-allow-cidrs", "127.0.0.0/8"});
    }
    return args;
}

struct Bridge {
    PgTestDatabase db;
    Env env{{"DATABASE_URL", db.dsn()}};
    std::vector<std::string> args;
    std::string idp;
    std::string admin;
    std::unique_ptr<ServerProcess> server;

    explicit Bridge(std::vector<std::string> server_args = fanout_args()) : args(std::move(server_args)) {
        REQUIRE(run_cli({"tenant", "create", "acme"}, env).exit_code == 0);
        idp = token("acme", "idp");
        admin = token("acme", "admin");
        start();
    }
    void start() { server = std::make_unique<ServerProcess>(args, env); }

    std::string token(const std::string& tenant, const std::string& kind) {
        const CliResult made = run_cli({"token", "create", "--tenant", tenant, "--kind", kind}, env);
        REQUIRE_MESSAGE(made.exit_code == 0, made.err);
        return made.last_line();
    }

    Response call(const std::string& token, http::verb method, const std::string& target,
                  const std::string& body = "") {
        std::map<std::string, std::string> headers;
        if (!body.empty()) {
            headers["Content-Type"] = "application/json";
        }
        return https_request(server->tls_port(),
                             {.method = method, .target = target, .token = token, .body = body, .headers = headers});
    }

    std::string create_app(const json::object& app) {
        const Response r = call(admin, http::verb::post, "/admin/v1/apps", json::serialize(app));
        REQUIRE_MESSAGE(r.result_int() == 201, r.body());
        return std::string(json_of(r).at("id").as_string());
    }

    std::string create_user(const std::string& user_name, const std::string& extra = "") {
        const Response r = call(idp, http::verb::post, "/scim/v2/Users",
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" +
                                    user_name + "\"" + extra + "}");
        REQUIRE_MESSAGE(r.result_int() == 201, r.body());
        return std::string(json_of(r).at("id").as_string());
    }

    // members: user or group ids.
    std::string create_group(const std::string& display_name, const std::vector<std::string>& members = {}) {
        json::array list;
        for (const std::string& m : members) {
            list.push_back(json::object{{"value", m}});
        }
        const Response r = call(idp, http::verb::post, "/scim/v2/Groups",
                                json::serialize(json::object{{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                                                             {"displayName", display_name},
                                                             {"members", list}}));
        REQUIRE_MESSAGE(r.result_int() == 201, r.body());
        return std::string(json_of(r).at("id").as_string());
    }

    void patch(const std::string& type, const std::string& id, const std::string& ops) {
        const Response r = call(idp, http::verb::patch, "/scim/v2/" + type + "/" + id,
                                R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" + ops + "}");
        REQUIRE_MESSAGE((r.result_int() == 200 || r.result_int() == 204), r.body());
    }

    json::array items(const std::string& target) {
        const Response r = call(admin, http::verb::get, target);
        REQUIRE_MESSAGE(r.result_int() == 200, r.body());
        return json_of(r).at("items").as_array();
    }

    // Waits until no delivery is pending or leased.
    bool drained(std::chrono::milliseconds timeout) {
        return wait_until(
            [&] { return db.query("SELECT count(*) FROM delivery WHERE state IN ('pending', 'leased')") == "0"; },
            timeout);
    }
};

inline json::object webhook_app(const std::string& name, const std::string& url, const std::string& secret,
                         json::object extra = {}) {
    json::object app{{"name", name},
                     {"connector", "webhook"},
                     {"webhook", json::object{{"url", url}, {"secrets", json::array{json::string(secret)}}}}};
    for (const auto& [k, v] : extra) {
        app[k] = v;
    }
    return app;
}

// The webhook bodies the app applied, in order, for one resource.
inline std::vector<json::object> applied_for(const FakeApp& app, const std::string& resource_id) {
    std::vector<json::object> out;
    for (const auto& r : app.records()) {
        if (r.applied && r.body.is_object()) {
            const json::object& b = r.body.as_object();
            if (b.at("resource").at("id").as_string() == resource_id) {
                out.push_back(b);
            }
        }
    }
    return out;
}


}  // namespace scimbridge::e2e
