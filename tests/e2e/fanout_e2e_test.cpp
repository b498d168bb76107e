// Fan-out end to end: the real server, an IdP client over TLS, a fake webhook app (a real HTTP
// server verifying Standard Webhooks signatures and applying each webhook-id once) and a second
// tenant of the bridge as the outbound SCIM target. Downstream faults, SIGKILL of the bridge in
// the middle of a burst, a second process woken by the first one's writes, and the SSRF guard.
#include "mappers/webhook_signature.hpp"
#include "tests/e2e/bridge.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/support/fake_app.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <set>
#include <thread>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::FakeApp;
using scimbridge::tests::FakeAppOptions;
using scimbridge::tests::PgTestDatabase;
namespace json = boost::json;
using namespace std::chrono_literals;


TEST_SUITE("e2e.fanout") {

TEST_CASE("a webhook app receives the IdP's user lifecycle mapped, signed, in order, with account states") {
    Bridge bridge;
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp app(FakeAppOptions{.secrets = {secret}});
    app.respond_ok("acct-1");
    const std::string app_id = bridge.create_app(webhook_app(
        "crm", app.url(), secret,
        {{"scope", json::object{{"filter", "userName ew \"@acme.com\""}}},
         {"mapping", json::object{{"email", "[emails[type eq \"work\"].value]"},
                                  {"name", "Join(\" \", [name.givenName], [name.familyName])"},
                                  {"login", "ToLower([userName])"}}}}));

    const std::string ann = bridge.create_user(
        "Ann@acme.com", R"(,"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@acme.com","type":"work"}])");
    bridge.create_user("out@other.org");  // not in scope: nothing is sent
    // A user deleted before any of its deliveries went out is never announced (the newest change,
    // the delete, supersedes the rest, and the app holds nothing to delete): seen under ctest -j2.
    // So the changes below start once the app heard of Ann.
    REQUIRE(wait_until([&] { return !applied_for(app, ann).empty(); }, 10s));
    bridge.patch("Users", ann, R"([{"op":"replace","path":"name.familyName","value":"Ng"}])");
    bridge.patch("Users", ann, R"([{"op":"replace","path":"active","value":false}])");
    bridge.patch("Users", ann, R"([{"op":"replace","path":"active","value":true}])");
    REQUIRE(bridge.call(bridge.idp, http::verb::delete_, "/scim/v2/Users/" + ann).result_int() == 204);
    REQUIRE(bridge.drained(20s));

    const auto events = applied_for(app, ann);
    std::vector<std::string> types;
    for (const auto& e : events) {
        types.emplace_back(e.at("type").as_string());
    }
    // Supersession may fold changes made while an earlier one was in flight, but what arrives is
    // in order and ends with the delete.
    REQUIRE(!types.empty());
    CHECK(types.front() == "user.created");
    CHECK(types.back() == "user.deleted");
    CHECK(app.check_order().ok);
    CHECK(app.invalid_signatures() == 0);
    for (const auto& r : app.records()) {
        CHECK(r.signature_valid == true);
    }
    const json::object& created = events.front();
    CHECK(created.at("data").at("email") == "ann@acme.com");
    CHECK(created.at("data").at("login") == "ann@acme.com");
    CHECK(created.at("account").at("state") == "initiated");
    CHECK(created.at("app").at("id") == json::value(app_id));
    for (const auto& r : app.records()) {
        CHECK(r.body.at("resource").at("id") != json::value());
        const bool has_login = r.body.at("data").as_object().if_contains("login") != nullptr;
        CHECK((has_login || r.body.at("type") == "user.deleted"));
    }

    // The admin sees the account blocked, every transition in the audit log, and the remote id.
    const auto accounts = bridge.items("/admin/v1/accounts?app=" + app_id);
    REQUIRE(accounts.size() == 1);
    CHECK(accounts[0].at("state") == "blocked");
    CHECK(accounts[0].at("remote_id") == "acct-1");
    const auto audit = bridge.items("/admin/v1/audit?resource=" + ann + "&action=account.");
    REQUIRE(audit.size() >= 2);
    CHECK(audit.front().at("action") == "account.initiated");
    CHECK(audit.back().at("action") == "account.blocked");
    CHECK(bridge.items("/admin/v1/audit?resource=" + ann + "&action=user.").size() == 5);
    CHECK(bridge.items("/admin/v1/deliveries?app=" + app_id + "&state=dead").empty());
}

TEST_CASE("deactivation and reactivation reach the app as blocked and restored states") {
    Bridge bridge;
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp app(FakeAppOptions{.secrets = {secret}});
    const std::string app_id = bridge.create_app(webhook_app("chat", app.url(), secret));
    const std::string bob = bridge.create_user("bob");
    REQUIRE(bridge.drained(10s));
    bridge.patch("Users", bob, R"([{"op":"Replace","path":"active","value":"False"}])");  // Entra's shape
    REQUIRE(bridge.drained(10s));
    bridge.patch("Users", bob, R"([{"op":"replace","path":"active","value":true}])");
    REQUIRE(bridge.drained(10s));
    const auto events = applied_for(app, bob);
    REQUIRE(events.size() == 3);
    CHECK(events[1].at("type") == "user.deactivated");
    CHECK(events[1].at("account").at("state") == "blocked");
    CHECK(events[1].at("account").at("previous_state") == "initiated");
    CHECK(events[1].at("data").at("active") == false);
    CHECK(events[1].at("previous").as_object().contains("active"));  // absent before: null
    CHECK(events[2].at("type") == "user.reactivated");
    CHECK(events[2].at("account").at("state") == "initiated");
    // The preview shows what the app receives for this user now.
    const Response p = bridge.call(bridge.admin, http::verb::post, "/admin/v1/apps/" + app_id + "/preview",
                                   R"({"user":")" + bob + R"x(","app":{"mapping":{"handle":"Upper([userName])"}}})x");
    CHECK(p.result_int() == 400);  // Upper is not a function: a parse error with its position
    CHECK(p.body().find("position") != std::string::npos);
    const Response ok = bridge.call(bridge.admin, http::verb::post, "/admin/v1/apps/" + app_id + "/preview",
                                    R"({"user":")" + bob + R"x(","app":{"mapping":{"handle":"ToUpper([userName])"}}})x");
    REQUIRE(ok.result_int() == 200);
    CHECK(json_of(ok).at("payload").at("handle") == "BOB");
    CHECK(json_of(ok).at("in_scope") == true);
}

TEST_CASE("an outbound SCIM app provisions users and groups into another tenant, adopting on 409") {
    Bridge bridge;
    REQUIRE(run_cli({"tenant", "create", "downstream"}, bridge.env).exit_code == 0);
    const std::string target = bridge.token("downstream", "idp");
    // The target already holds carol (an earlier, lost provisioning): the bridge must adopt her.
    const Response pre = bridge.call(target, http::verb::post, "/scim/v2/Users",
                                     R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol"})");
    REQUIRE(pre.result_int() == 201);
    const std::string carol_remote(json_of(pre).at("id").as_string());

    const std::string base = "https://127.0.0.1:" + std::to_string(bridge.server->tls_port()) + "/scim/v2";
    bridge.create_app(json::object{{"name", "portal"},
                                   {"connector", "scim"},
                                   {"groups", json::object{{"enabled", true}}},
                                   {"scim", json::object{{"base_url", base}, {"token", target}, {"member_chunk", 2}}}});
    const std::string carol = bridge.create_user("carol");
    const std::string dan = bridge.create_user("dan");
    const std::string erin = bridge.create_user("erin");
    REQUIRE(bridge.drained(20s));
    const std::string staff = bridge.create_group("staff", {carol, dan, erin});
    REQUIRE(bridge.drained(20s));
    bridge.patch("Groups", staff, R"([{"op":"remove","path":"members[value eq \")" + dan + R"(\"]"}])");
    bridge.patch("Users", erin, R"([{"op":"replace","path":"active","value":false}])");
    REQUIRE(bridge.drained(20s));

    const auto remote = [&](const std::string& filter) {
        const Response r = bridge.call(target, http::verb::get, "/scim/v2/Users?filter=" + filter);
        REQUIRE(r.result_int() == 200);
        return json_of(r).at("Resources").as_array();
    };
    const auto carols = remote("userName%20eq%20%22carol%22");
    REQUIRE(carols.size() == 1);  // adopted, not duplicated
    CHECK(carols[0].at("id") == json::value(carol_remote));
    CHECK(carols[0].at("externalId") == json::value(carol));
    const auto erins = remote("externalId%20eq%20%22" + erin + "%22");
    REQUIRE(erins.size() == 1);
    CHECK(erins[0].at("active") == false);

    const Response groups = bridge.call(target, http::verb::get,
                                        "/scim/v2/Groups?filter=displayName%20eq%20%22staff%22&attributes=members");
    REQUIRE(groups.result_int() == 200);
    const auto found = json_of(groups).at("Resources").as_array();
    REQUIRE(found.size() == 1);
    std::set<std::string> members;
    for (const auto& m : found[0].at("members").as_array()) {
        members.emplace(m.at("value").as_string());
    }
    // dan left; erin was blocked in the app, so she is no longer sent as a member.
    CHECK(members == std::set<std::string>{carol_remote});
    CHECK(bridge.db.query("SELECT count(*) FROM delivery WHERE state = 'dead'") == "0");

    REQUIRE(bridge.call(bridge.idp, http::verb::delete_, "/scim/v2/Groups/" + staff).result_int() == 204);
    REQUIRE(bridge.drained(20s));
    const Response gone = bridge.call(target, http::verb::get, "/scim/v2/Groups?filter=displayName%20eq%20%22staff%22");
    CHECK(json_of(gone).at("totalResults") == 0);
}

TEST_CASE("downstream faults delay deliveries but lose none, and a hanging app never starves another") {
    Bridge bridge;
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp flaky(FakeAppOptions{.secrets = {secret}});
    FakeApp healthy(FakeAppOptions{.secrets = {secret}});
    bridge.create_app(webhook_app("flaky", flaky.url(), secret));
    bridge.create_app(webhook_app("healthy", healthy.url(), secret));

    flaky.hang();
    std::vector<std::string> users;
    for (int i = 0; i < 10; ++i) {
        users.push_back(bridge.create_user("f" + std::to_string(i)));
    }
    // While the flaky app hangs, the healthy one gets everything.
    CHECK(healthy.wait_for_applied(10, 10s));
    CHECK(flaky.applied_count() == 0);

    flaky.fail_with(500, 3);
    std::this_thread::sleep_for(500ms);
    flaky.throttle(1, 1);
    std::this_thread::sleep_for(300ms);
    flaky.redirect();
    std::this_thread::sleep_for(300ms);
    flaky.reset();
    std::this_thread::sleep_for(300ms);
    flaky.respond_ok();
    CHECK(flaky.wait_for_applied(10, 30s));
    REQUIRE(bridge.drained(20s));
    CHECK(flaky.check_order().ok);
    // Redirects were never followed: every request went to the app's own path.
    std::size_t retried = 0;
    for (const auto& r : flaky.records()) {
        CHECK(r.target == "/webhook");
        if (r.attempt > 1) {
            ++retried;
        }
    }
    CHECK(retried > 0);
    // After the 429 with Retry-After: 1, the next attempt of that delivery waited at least 1 s.
    const auto records = flaky.records();
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (records[i].status == 429) {
            for (std::size_t j = i + 1; j < records.size(); ++j) {
                if (records[j].webhook_id == records[i].webhook_id) {
                    CHECK(records[j].received_at - records[i].received_at >= 1s);
                    break;
                }
            }
        }
    }
    CHECK(bridge.db.query("SELECT count(*) FROM delivery WHERE state IN ('dead', 'leased')") == "0");
}

TEST_CASE("an app that keeps failing is retried with growing delays until the retry window ends, then "
          "dead-lettered with the reason; an admin replay sends it again under the same webhook-id") {
    std::vector<std::string> args = fanout_args();
    args.insert(args.end(), {"--delivery-dead-after-hours", "1"});  // 3.6 s at the tests' time scale 0.001
    Bridge bridge(args);
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp down(FakeAppOptions{.secrets = {secret}});
    bridge.create_app(webhook_app("down", down.url(), secret));
    down.fail_with(500);
    const std::string user = bridge.create_user("dora");
    REQUIRE(wait_until([&] { return bridge.db.query("SELECT state FROM delivery") == "dead"; }, 30s));

    CHECK(bridge.db.query("SELECT last_error LIKE 'retry window passed; last: %' FROM delivery") == "t");
    CHECK(bridge.db.query("SELECT last_status FROM delivery") == "500");
    CHECK(bridge.db.query("SELECT finished_at - created_at >= interval '3.6 seconds' FROM delivery") == "t");
    CHECK(bridge.db.query("SELECT count(*) FROM audit_log WHERE action = 'delivery.dead'") == "1");
    // Every attempt carried the same webhook-id; the waits between them grew (5 ms × 4^n at this
    // time scale, ±20 %: the first ones are below the polling interval, the last ones are not).
    const auto attempts = down.records();
    REQUIRE(attempts.size() >= 4);
    for (const auto& r : attempts) {
        CHECK(r.webhook_id == attempts.front().webhook_id);
        CHECK(r.status == 500);
    }
    const auto gap = [&](std::size_t i) { return attempts[i].received_at - attempts[i - 1].received_at; };
    CHECK(gap(1) < 1s);
    CHECK(gap(attempts.size() - 1) > gap(1));
    CHECK(gap(attempts.size() - 1) >= 500ms);
    CHECK(down.applied_count() == 0);

    // The app is back; the admin replays the dead delivery by id.
    down.respond_ok();
    const std::string id = bridge.db.query("SELECT id FROM delivery");
    const Response replayed = bridge.call(bridge.admin, http::verb::post, "/admin/v1/deliveries/replay",
                                          R"({"ids": [)" + id + "]}");
    REQUIRE_MESSAGE(replayed.result_int() == 200, replayed.body());
    CHECK(json_of(replayed).at("replayed") == 1);
    REQUIRE(down.wait_for_applied(1, 20s));
    REQUIRE(bridge.drained(20s));
    CHECK(bridge.db.query("SELECT state FROM delivery") == "delivered");
    const auto all = down.records();
    CHECK(all.back().webhook_id == attempts.front().webhook_id);
    CHECK(all.back().applied);
    CHECK(applied_for(down, user).size() == 1);
}

TEST_CASE("a rotated webhook secret signs alongside the previous one, so the app can switch without a gap") {
    Bridge bridge;
    const std::string old_secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp app(FakeAppOptions{.secrets = {old_secret}});  // still verifies with the old secret only
    const std::string app_id = bridge.create_app(webhook_app("rotating", app.url(), old_secret));
    const Response rotated =
        bridge.call(bridge.admin, http::verb::post, "/admin/v1/apps/" + app_id + "/rotate-secret");
    REQUIRE_MESSAGE(rotated.result_int() == 200, rotated.body());
    const std::string new_secret(json_of(rotated).at("secret").as_string());
    CHECK(new_secret != old_secret);
    CHECK(new_secret.rfind("whsec_", 0) == 0);
    bridge.create_user("rita");
    REQUIRE(app.wait_for_applied(1, 20s));
    const auto r = app.records().front();
    CHECK(r.signature_valid == std::optional<bool>(true));  // the old secret's signature
    // Two signatures, and the new secret alone verifies the request too.
    const std::string signatures = r.headers.at("webhook-signature");
    CHECK(std::count(signatures.begin(), signatures.end(), ',') == 2);  // "v1,<a> v1,<b>"
    CHECK(scimbridge::mappers::verify_webhook({new_secret}, r.headers.at("webhook-id"),
                                              r.headers.at("webhook-timestamp"), signatures, r.raw_body,
                                              std::chrono::system_clock::now()));
    // The admin API never shows the secrets again.
    const Response shown = bridge.call(bridge.admin, http::verb::get, "/admin/v1/apps/" + app_id);
    REQUIRE(shown.result_int() == 200);
    CHECK(shown.body().find(new_secret) == std::string::npos);
    CHECK(shown.body().find(old_secret) == std::string::npos);
}

TEST_CASE("SIGKILL of the bridge during a burst loses no delivery and duplicates no effect") {
    Bridge bridge;
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp app(FakeAppOptions{.secrets = {secret}});
    bridge.create_app(webhook_app("crm", app.url(), secret));
    std::vector<std::string> users;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 40; ++i) {
            const std::string id = bridge.create_user("k" + std::to_string(round) + "-" + std::to_string(i));
            users.push_back(id);
            if (i % 4 == 0) {
                bridge.patch("Users", id, R"([{"op":"replace","path":"displayName","value":"x"}])");
            }
        }
        bridge.server->signal(SIGKILL);  // deliveries in flight die with it
        REQUIRE(bridge.server->wait_exit(10s).has_value());
        bridge.start();
    }
    REQUIRE(bridge.drained(60s));
    // Every user reached the app, created exactly once in effect, in order per user.
    std::map<std::string, int> created;
    for (const auto& r : app.records()) {
        if (r.applied && r.body.at("type") == "user.created") {
            ++created[std::string(r.body.at("resource").at("id").as_string())];
        }
    }
    CHECK(created.size() == users.size());
    for (const auto& [id, n] : created) {
        CHECK(n == 1);
    }
    CHECK(app.check_order().ok);
    CHECK(bridge.db.query("SELECT count(*) FROM delivery WHERE state IN ('leased', 'dead')") == "0");
}

TEST_CASE("a write served by one bridge process wakes another process's delivery workers at once") {
    // A serves the IdP and delivers nothing; B delivers, and on its own would look for work only
    // once a minute. The NOTIFY A sends after its commit is what must bring B to the delivery.
    std::vector<std::string> a_args = fanout_args();
    a_args.insert(a_args.end(), {"--delivery-workers", "0"});
    Bridge bridge(a_args);
    std::vector<std::string> b_args = fanout_args();
    const auto poll = std::find(b_args.begin(), b_args.end(), "--delivery-poll-ms");
    REQUIRE(poll != b_args.end());
    *(poll + 1) = "60000";
    ServerProcess b(b_args, bridge.env);
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp app(FakeAppOptions{.secrets = {secret}});
    bridge.create_app(webhook_app("crm", app.url(), secret));
    std::this_thread::sleep_for(1500ms);  // B has made its first claims and is waiting
    for (int i = 0; i < 3; ++i) {
        const std::string id = bridge.create_user("woken" + std::to_string(i));
        CHECK_MESSAGE(wait_until([&] { return !applied_for(app, id).empty(); }, 10s), b.log());
    }
    CHECK(bridge.drained(5s));
}

TEST_CASE("outbound calls to loopback are refused unless allowed, and the IdP never sees it") {
    Bridge bridge(fanout_args(false));
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp app(FakeAppOptions{.secrets = {secret}});
    bridge.create_app(webhook_app("internal", app.url(), secret));
    bridge.create_user("ssrf");  // 201: a downstream problem is never the IdP's error
    REQUIRE(bridge.drained(10s));
    CHECK(app.request_count() == 0);
    const auto dead = bridge.items("/admin/v1/deliveries?state=dead");
    REQUIRE(dead.size() == 1);
    const std::string reason(dead[0].at("last_error").as_string());
    CHECK_MESSAGE(reason.find("not allowed") != std::string::npos, reason);
}

TEST_CASE(
    "leaving an app's scope blocks the account and the app is told; coming back restores the "
    "state before blocking (a filter scope and a group scope)") {
    constexpr const char* kEnterprise =
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    Bridge bridge;
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp sales(FakeAppOptions{.secrets = {secret}});
    FakeApp wiki(FakeAppOptions{.secrets = {secret}});
    const std::string readers = bridge.create_group("wiki-readers");
    const std::string department = std::string(kEnterprise) + ":department";
    const std::string sales_app = bridge.create_app(
        webhook_app("sales",
                    sales.url(),
                    secret,
                    {{"scope", json::object{{"filter", department + " eq \"Sales\""}}}}));
    const std::string wiki_app = bridge.create_app(
        webhook_app("wiki", wiki.url(), secret, {{"scope", json::object{{"group", readers}}}}));

    const Response created = bridge.call(
        bridge.idp,
        http::verb::post,
        "/scim/v2/Users",
        json::serialize(json::object{
            {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User", kEnterprise}},
            {"userName", "ann@acme.test"},
            {"emails", json::array{json::object{{"value", "ann@acme.test"}, {"primary", true}}}},
            {kEnterprise, json::object{{"department", "Sales"}}}}));
    REQUIRE_MESSAGE(created.result_int() == 201, created.body());
    const std::string ann(json_of(created).at("id").as_string());
    REQUIRE(bridge.drained(10s));
    CHECK(applied_for(wiki, ann).empty());  // not in the group yet
    bridge.patch("Groups",
                 readers,
                 R"([{"op":"add","path":"members","value":[{"value":")" + ann + R"("}]}])");
    REQUIRE(bridge.drained(10s));

    const auto types = [](const FakeApp& app, const std::string& id) {
        std::vector<std::string> out;
        for (const json::object& b : applied_for(app, id)) {
            out.emplace_back(b.at("type").as_string());
        }
        return out;
    };
    const auto last = [](const FakeApp& app, const std::string& id) {
        const auto events = applied_for(app, id);
        REQUIRE(!events.empty());
        return events.back();
    };
    // The app's last event for Ann: its type, and the account state it announced and left.
    const auto told = [&](const FakeApp& app, const char* type, const char* now, const char* before) {
        const json::object e = last(app, ann);
        return e.at("type") == type && e.at("account").at("state") == now &&
               e.at("account").at("previous_state") == before;
    };
    const auto state = [&](const std::string& app_id) {
        const auto accounts = bridge.items("/admin/v1/accounts?app=" + app_id + "&user=" + ann);
        REQUIRE(accounts.size() == 1);
        return std::string(accounts[0].at("state").as_string());
    };
    const auto causes = [&](const std::string& app_id) {
        return bridge.db.query(
            "SELECT string_agg(action || ':' || (detail->>'cause'), ',' ORDER BY id) "
            "FROM audit_log WHERE action LIKE 'account.%' AND app_id = '" +
            app_id + "' AND resource_id = '" + ann + "'");
    };
    REQUIRE(types(sales, ann) == std::vector<std::string>{"user.created"});
    REQUIRE(types(wiki, ann) == std::vector<std::string>{"user.created"});
    CHECK(state(sales_app) == "initiated");
    // The wiki's account moves on (invited), so that coming back has a state to restore that
    // is not the default.
    const Response invited =
        bridge.call(bridge.admin,
                    http::verb::post,
                    "/admin/v1/apps/" + wiki_app + "/accounts/" + ann + "/invite");
    REQUIRE_MESSAGE(invited.result_int() == 201, invited.body());
    REQUIRE(bridge.drained(10s));
    REQUIRE(state(wiki_app) == "invited");
    REQUIRE(types(wiki, ann).back() == "account.invited");

    // Ann moves to Finance: she leaves the sales app's filter scope (not the wiki's).
    bridge.patch(
        "Users", ann, R"([{"op":"replace","path":")" + department + R"(","value":"Finance"}])");
    REQUIRE(bridge.drained(10s));
    CHECK(state(sales_app) == "blocked");
    CHECK(told(sales, "user.deactivated", "blocked", "initiated"));
    CHECK(causes(sales_app) == "account.initiated:enter_scope,account.blocked:left_scope");
    CHECK(state(wiki_app) == "invited");
    for (const json::object& e : applied_for(wiki, ann)) {
        CHECK(e.at("type") != "user.deactivated");
    }

    // Removed from the wiki's scoping group: blocked there too; the sales app hears nothing more.
    const std::size_t sales_seen = applied_for(sales, ann).size();
    bridge.patch(
        "Groups", readers, R"([{"op":"remove","path":"members[value eq \")" + ann + R"(\"]"}])");
    REQUIRE(bridge.drained(10s));
    CHECK(state(wiki_app) == "blocked");
    CHECK(told(wiki, "user.deactivated", "blocked", "invited"));
    CHECK(applied_for(sales, ann).size() == sales_seen);

    // Added back: the wiki account is invited again (the state the block interrupted) and the
    // app is told so.
    bridge.patch("Groups",
                 readers,
                 R"([{"op":"add","path":"members","value":[{"value":")" + ann + R"("}]}])");
    REQUIRE(bridge.drained(10s));
    CHECK(state(wiki_app) == "invited");
    CHECK(told(wiki, "user.reactivated", "invited", "blocked"));
    CHECK(state(sales_app) == "blocked");  // still in Finance

    // Back in Sales: the sales account is initiated again (not active: it never was).
    bridge.patch(
        "Users", ann, R"([{"op":"replace","path":")" + department + R"(","value":"Sales"}])");
    REQUIRE(bridge.drained(10s));
    CHECK(state(sales_app) == "initiated");
    CHECK(told(sales, "user.reactivated", "initiated", "blocked"));
    CHECK(
        causes(sales_app) ==
        "account.initiated:enter_scope,account.blocked:left_scope,account.initiated:entered_scope");
    CHECK(sales.check_order().ok);
    CHECK(wiki.check_order().ok);
    CHECK(bridge.items("/admin/v1/deliveries?state=dead").empty());
}

TEST_CASE("a group scope takes the members of nested groups: a subgroup added brings its members in, "
          "its removal blocks them, a member of both stays") {
    Bridge bridge;
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp wiki(FakeAppOptions{.secrets = {secret}});
    const auto add = [&](const std::string& to, const std::string& member) {
        bridge.patch("Groups", to, R"([{"op":"add","path":"members","value":[{"value":")" + member + R"("}]}])");
    };
    const auto remove = [&](const std::string& from, const std::string& member) {
        bridge.patch("Groups", from, R"([{"op":"remove","path":"members[value eq \")" + member + R"(\"]"}])");
    };
    const std::string readers = bridge.create_group("wiki-readers");
    const std::string engineering = bridge.create_group("engineering");
    const std::string platform = bridge.create_group("platform");  // in engineering: two levels below readers
    const std::string wiki_app =
        bridge.create_app(webhook_app("wiki", wiki.url(), secret, {{"scope", json::object{{"group", readers}}}}));
    const std::string bob = bridge.create_user("bob");    // in platform
    const std::string cid = bridge.create_user("cid");    // in engineering and directly in readers
    const std::string dora = bridge.create_user("dora");  // in no group
    add(platform, bob);
    add(engineering, platform);
    add(engineering, cid);
    add(readers, cid);
    REQUIRE(bridge.drained(10s));
    const auto state = [&](const std::string& user) {
        return bridge.db.query("SELECT coalesce((SELECT state FROM app_object WHERE app_id = '" + wiki_app +
                               "' AND resource_id = '" + user + "'), 'none')");
    };
    const auto last_type = [&](const std::string& user) {
        const auto events = applied_for(wiki, user);
        return events.empty() ? std::string("none") : std::string(events.back().at("type").as_string());
    };
    CHECK(state(cid) == "initiated");
    CHECK(state(bob) == "none");  // platform is not (yet) inside readers

    // engineering into readers: bob, two levels down, enters the scope.
    add(readers, engineering);
    REQUIRE(bridge.drained(10s));
    CHECK(state(bob) == "initiated");
    CHECK(last_type(bob) == "user.created");
    CHECK(state(cid) == "initiated");
    CHECK(state(dora) == "none");
    CHECK(applied_for(wiki, dora).empty());

    // engineering out again: bob leaves the scope and is blocked; cid is still a direct member.
    remove(readers, engineering);
    REQUIRE(bridge.drained(10s));
    CHECK(state(bob) == "blocked");
    CHECK(last_type(bob) == "user.deactivated");
    CHECK(state(cid) == "initiated");
    for (const json::object& e : applied_for(wiki, cid)) {
        CHECK(e.at("type") != "user.deactivated");
    }

    // bob's own subgroup put directly into readers: he comes back.
    add(readers, platform);
    REQUIRE(bridge.drained(10s));
    CHECK(state(bob) == "initiated");
    CHECK(last_type(bob) == "user.reactivated");
    CHECK(wiki.check_order().ok);
    CHECK(bridge.items("/admin/v1/deliveries?state=dead").empty());
}

}  // TEST_SUITE
