// Directory pulls end to end (DESIGN §7, resync (a)): the real server pulls a fake Google
// Workspace (service-account JWT, paging) and a fake SCIM source on its schedule, and the pulled
// users and groups land in the tenant exactly as if an IdP had pushed them — fanned out to the
// tenant's apps — with updates, deletions detected, and a dry run that changes nothing.
#include "tests/e2e/bridge.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/support/fake_app.hpp"
#include "tests/support/fake_directory.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::FakeApp;
using scimbridge::tests::FakeGoogleDirectory;
using scimbridge::tests::FakeGraphDirectory;
using scimbridge::tests::FakeScimSource;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> pull_args() {
    std::vector<std::string> args = fanout_args();
    args.insert(args.end(), {"--scheduler-tick-ms", "100"});
    return args;
}

std::string count_of(Bridge& bridge, const std::string& sql) { return bridge.db.query(sql); }

// Waits for the n-th finished run of the directory's schedule; returns its report.
json::object wait_run(Bridge& bridge, const std::string& key, int n) {
    REQUIRE(wait_until([&] {
        return std::stoi(count_of(bridge, "SELECT count(*) FROM schedule_run WHERE key = '" + key +
                                              "' AND state <> 'running'")) >= n;
    }, 30s));
    const std::string row = count_of(bridge, "SELECT json_build_object('state', state, 'report', report, 'error', error)::text "
                                             "FROM schedule_run WHERE key = '" + key + "' AND state <> 'running' ORDER BY id OFFSET " +
                                             std::to_string(n - 1) + " LIMIT 1");
    return json::parse(row).as_object();
}

}  // namespace

TEST_SUITE("e2e.directory") {

TEST_CASE("a Google Workspace directory is pulled on schedule, fanned out like a push, and deletions are detected") {
    const auto key = scimbridge::tests::generate_rsa_key();
    FakeGoogleDirectory google(key.public_pem);
    google.put_user({.id = "100", .email = "ann@acme.test", .given_name = "Ann", .family_name = "Lee", .title = "Engineer"});
    google.put_user({.id = "101", .email = "bo@acme.test", .given_name = "Bo", .family_name = "Ek", .manager_id = "100"});
    google.put_user({.id = "102", .email = "cy@acme.test", .given_name = "Cy", .family_name = "Oz", .active = false});
    google.put_group({.id = "g1", .name = "Eng", .member_user_ids = {"100", "101"}});
    FakeApp app;
    Bridge bridge(pull_args());
    bridge.create_app(webhook_app("Wiki", "http://127.0.0.1:" + std::to_string(app.port()) + "/hook",
                                  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));

    const Response made = bridge.call(bridge.admin, http::verb::post, "/admin/v1/directories",
                                      json::serialize(json::object{{"name", "Google"},
                                                                   {"config", google.source_config(key.private_pem, "admin@acme.test")}}));
    REQUIRE_MESSAGE(made.result_int() == 201, made.body());
    const std::string key_name(json_of(made).at("schedule").as_string());
    CHECK(made.body().find("PRIVATE KEY") == std::string::npos);
    const Response listed = bridge.call(bridge.admin, http::verb::get, "/admin/v1/directories");
    CHECK(listed.body().find("PRIVATE KEY") == std::string::npos);

    const json::object first = wait_run(bridge, key_name, 1);
    REQUIRE_MESSAGE(first.at("state").as_string() == "succeeded", json::serialize(first));
    CHECK(first.at("report").at("create_users").to_number<int>() == 3);
    CHECK(first.at("report").at("create_groups").to_number<int>() == 1);
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_user WHERE external_id IN ('100', '101', '102')") == "3");
    CHECK(count_of(bridge, "SELECT active::text FROM scim_user WHERE external_id = '102'") == "false");
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_group_member m JOIN scim_group g ON g.id = m.group_id "
                           "WHERE g.external_id = 'g1'") == "2");
    CHECK(count_of(bridge, "SELECT doc->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'->'manager'->>'value' "
                           "FROM scim_user WHERE external_id = '101'") ==
          count_of(bridge, "SELECT id::text FROM scim_user WHERE external_id = '100'"));
    CHECK(google.token_requests() >= 1);
    // Fanned out like a push: the app hears of the active users.
    REQUIRE(bridge.drained(20s));
    CHECK(applied_for(app, count_of(bridge, "SELECT id::text FROM scim_user WHERE external_id = '100'")).size() == 1);

    // The directory changes; a dry run reports without writing; the next run applies.
    google.remove_user("101");
    google.put_user({.id = "100", .email = "ann@acme.test", .given_name = "Ann", .family_name = "Lee", .title = "Lead"});
    const std::string run_target = "/admin/v1/schedules/" + key_name + "/run";
    REQUIRE(bridge.call(bridge.admin, http::verb::post, run_target, R"({"dry_run":true})").result_int() == 202);
    const json::object dry = wait_run(bridge, key_name, 2);
    CHECK(dry.at("report").at("dry_run").as_bool());
    CHECK(dry.at("report").at("delete_users").to_number<int>() == 1);
    CHECK(dry.at("report").at("update_users").to_number<int>() == 1);
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_user WHERE external_id = '101'") == "1");
    REQUIRE(bridge.call(bridge.admin, http::verb::post, run_target).result_int() == 202);
    const json::object applied = wait_run(bridge, key_name, 3);
    REQUIRE_MESSAGE(applied.at("state").as_string() == "succeeded", json::serialize(applied));
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_user WHERE external_id = '101'") == "0");
    CHECK(count_of(bridge, "SELECT doc->>'title' FROM scim_user WHERE external_id = '100'") == "Lead");
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_group_member m JOIN scim_group g ON g.id = m.group_id "
                           "WHERE g.external_id = 'g1'") == "1");
    // Unchanged entries are not rewritten: a fourth run changes nothing.
    const std::string version = count_of(bridge, "SELECT version::text FROM scim_user WHERE external_id = '100'");
    REQUIRE(bridge.call(bridge.admin, http::verb::post, run_target).result_int() == 202);
    const json::object idle = wait_run(bridge, key_name, 4);
    CHECK_MESSAGE(idle.at("report").at("update_users").to_number<int>() == 0, json::serialize(idle));
    CHECK(count_of(bridge, "SELECT version::text FROM scim_user WHERE external_id = '100'") == version);
    // Run history through the admin API.
    const Response runs = bridge.call(bridge.admin, http::verb::get, "/admin/v1/schedules/runs?key=" + key_name);
    REQUIRE(runs.result_int() == 200);
    CHECK(json_of(runs).at("runs").as_array().size() == 4);
}

TEST_CASE("a SCIM source is pulled page by page; a bad config is refused with the field named") {
    FakeScimSource source("source-token");
    for (int i = 0; i < 7; ++i) {
        source.put_user({.id = "u" + std::to_string(i), .email = "p" + std::to_string(i) + "@acme.test",
                         .given_name = "P", .family_name = std::to_string(i)});
    }
    Bridge bridge(pull_args());
    const Response bad = bridge.call(bridge.admin, http::verb::post, "/admin/v1/directories",
                                     R"({"name":"X","config":{"kind":"scim","bearer_token":"t"}})");
    CHECK(bad.result_int() == 400);
    CHECK(bad.body().find("base_url") != std::string::npos);
    const Response made = bridge.call(bridge.admin, http::verb::post, "/admin/v1/directories",
                                      json::serialize(json::object{{"name", "HR"}, {"config", source.source_config(3)}}));
    REQUIRE_MESSAGE(made.result_int() == 201, made.body());
    const json::object run = wait_run(bridge, std::string(json_of(made).at("schedule").as_string()), 1);
    REQUIRE_MESSAGE(run.at("state").as_string() == "succeeded", json::serialize(run));
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_user") == "7");
    CHECK(run.at("report").at("requests").to_number<int>() >= 3);  // pages of 3
}

TEST_CASE("Microsoft Graph is pulled with delta links: the next pull applies only what changed, removals delete, and an expired link falls back to a full pull") {
    FakeGraphDirectory graph("contoso-tenant", "client-1", "s3cret-value");
    graph.put_user({.id = "g-ann", .email = "ann@contoso.test", .given_name = "Ann", .family_name = "Lee"});
    graph.put_user({.id = "g-bo", .email = "bo@contoso.test", .given_name = "Bo", .family_name = "Ek"});
    graph.put_user({.id = "g-cy", .email = "cy@contoso.test", .given_name = "Cy", .family_name = "Oz"});
    graph.put_group({.id = "g-team", .name = "Team", .member_user_ids = {"g-ann", "g-bo"}});
    Bridge bridge(pull_args());
    const Response made = bridge.call(bridge.admin, http::verb::post, "/admin/v1/directories",
                                      json::serialize(json::object{{"name", "Entra"}, {"config", graph.source_config()}}));
    REQUIRE_MESSAGE(made.result_int() == 201, made.body());
    CHECK(made.body().find("s3cret-value") == std::string::npos);
    const std::string key_name(json_of(made).at("schedule").as_string());
    const json::object first = wait_run(bridge, key_name, 1);
    REQUIRE_MESSAGE(first.at("state").as_string() == "succeeded", json::serialize(first));
    CHECK(first.at("report").at("create_users").to_number<int>() == 3);
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_group_member m JOIN scim_group g ON g.id = m.group_id "
                           "WHERE g.external_id = 'g-team'") == "2");

    // A delta round: Bo renamed, Cy removed; Ann untouched is not even listed.
    graph.put_user({.id = "g-bo", .email = "bo@contoso.test", .given_name = "Bo", .family_name = "Eklund"});
    REQUIRE(graph.remove_user("g-cy"));
    const std::string run_target = "/admin/v1/schedules/" + key_name + "/run";
    REQUIRE(bridge.call(bridge.admin, http::verb::post, run_target).result_int() == 202);
    const json::object delta = wait_run(bridge, key_name, 2);
    REQUIRE_MESSAGE(delta.at("state").as_string() == "succeeded", json::serialize(delta));
    CHECK(graph.delta_listings() >= 1);
    CHECK(delta.at("report").at("pulled_users").to_number<int>() < 3);
    CHECK(delta.at("report").at("update_users").to_number<int>() == 1);
    CHECK(delta.at("report").at("delete_users").to_number<int>() == 1);
    CHECK(count_of(bridge, "SELECT doc->'name'->>'familyName' FROM scim_user WHERE external_id = 'g-bo'") == "Eklund");
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_user WHERE external_id = 'g-cy'") == "0");

    // Graph forgets the link (410): the next pull lists everything again and changes nothing.
    graph.expire_delta_links();
    REQUIRE(bridge.call(bridge.admin, http::verb::post, run_target).result_int() == 202);
    const json::object full = wait_run(bridge, key_name, 3);
    REQUIRE_MESSAGE(full.at("state").as_string() == "succeeded", json::serialize(full));
    CHECK(full.at("report").at("pulled_users").to_number<int>() == 2);
    CHECK(full.at("report").at("update_users").to_number<int>() == 0);
    CHECK(count_of(bridge, "SELECT count(*) FROM scim_user") == "2");
}

}  // TEST_SUITE
