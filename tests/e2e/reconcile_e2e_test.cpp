// Downstream reconciliation end to end (DESIGN §7, resync (b)): the real server reconciles an
// outbound SCIM app (a second tenant of the same bridge, read back over HTTPS) and a webhook app
// (a fake app answering resync batches) after their copies drifted — accounts lost, values
// changed behind the bridge's back, accounts nobody provisioned — and one run repairs them all,
// while a dry run reports the same diff and changes nothing.
#include "mappers/webhook_signature.hpp"
#include "tests/e2e/bridge.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/support/fake_app.hpp"
#include "tests/support/fake_directory.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <csignal>
#include <set>
#include <sstream>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::FakeApp;
using scimbridge::tests::FakeAppOptions;
using scimbridge::tests::FakeScimSource;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> reconcile_args() {
    std::vector<std::string> args = fanout_args();
    args.insert(args.end(), {"--scheduler-tick-ms", "100"});
    return args;
}

// Asks for a run of the app's reconcile job and returns its finished row {state, report, error}.
json::object reconcile(Bridge& bridge, const std::string& app_id, bool dry_run) {
    const std::string key = "reconcile:" + app_id;
    REQUIRE(wait_until([&] { return bridge.db.query("SELECT count(*) FROM schedule WHERE key = '" + key + "'") == "1"; },
                       10s));
    // Runs the scheduler started on its own (the first one is due at once) finish first.
    REQUIRE(wait_until([&] {
        return bridge.db.query("SELECT count(*) FROM schedule_run WHERE key = '" + key + "' AND state = 'running'") == "0";
    }, 30s));
    const std::string before =
        bridge.db.query("SELECT coalesce(max(id), 0) FROM schedule_run WHERE key = '" + key + "'");
    const Response asked = bridge.call(bridge.admin, http::verb::post, "/admin/v1/schedules/" + key + "/run",
                                       json::serialize(json::object{{"dry_run", dry_run}}));
    REQUIRE_MESSAGE(asked.result_int() == 202, asked.body());
    const std::string done = "SELECT count(*) FROM schedule_run WHERE key = '" + key + "' AND id > " + before +
                             " AND state <> 'running'";
    REQUIRE(wait_until([&] { return bridge.db.query(done) != "0"; }, 60s));
    const std::string row = bridge.db.query(
        "SELECT json_build_object('state', state, 'report', report, 'error', error)::text FROM schedule_run "
        "WHERE key = '" + key + "' AND id > " + before + " ORDER BY id LIMIT 1");
    return json::parse(row).as_object();
}

std::int64_t count(const json::object& run, std::string_view section, std::string_view name) {
    return run.at("report").at(section).at(name).to_number<std::int64_t>();
}

}  // namespace

TEST_SUITE("e2e.reconcile") {

TEST_CASE("one resync repairs an outbound SCIM app: lost accounts recreated, stale values and memberships "
          "repaired, an orphan deactivated; a dry run reports the same and changes nothing") {
    Bridge bridge(reconcile_args());
    REQUIRE(run_cli({"tenant", "create", "downstream"}, bridge.env).exit_code == 0);
    const std::string target = bridge.token("downstream", "idp");
    const std::string base = "https://127.0.0.1:" + std::to_string(bridge.server->tls_port()) + "/scim/v2";
    const std::string app = bridge.create_app(
        json::object{{"name", "portal"},
                     {"connector", "scim"},
                     {"groups", json::object{{"enabled", true}}},
                     {"scim", json::object{{"base_url", base}, {"token", target}}}});

    constexpr int kUsers = 200;
    std::vector<std::string> ids;
    for (int i = 0; i < kUsers; ++i) {
        ids.push_back(bridge.create_user("u" + std::to_string(i) + "@acme.test",
                                         R"(,"displayName":"User )" + std::to_string(i) + "\"" +
                                             R"(,"name":{"givenName":"G)" + std::to_string(i) + R"("})"));
    }
    json::array members;
    for (int i = 0; i < 20; ++i) {
        members.push_back(json::object{{"value", ids[static_cast<std::size_t>(i)]}});
    }
    const Response made = bridge.call(bridge.idp, http::verb::post, "/scim/v2/Groups",
                                      json::serialize(json::object{
                                          {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                                          {"displayName", "staff"},
                                          {"members", members}}));
    REQUIRE(made.result_int() == 201);
    REQUIRE(bridge.drained(60s));

    const auto remote_of = [&](const std::string& id) {
        return bridge.db.query("SELECT remote_id FROM app_object WHERE resource_id = '" + id + "'");
    };
    const auto target_get = [&](const std::string& path) {
        const Response r = bridge.call(target, http::verb::get, "/scim/v2/" + path);
        REQUIRE_MESSAGE(r.result_int() == 200, r.body());
        return json_of(r).as_object();
    };
    // Drift behind the bridge's back: 1% lost, 1% stale (one of them deactivated in the app),
    // 0.5% extra, and a member dropped from the group.
    for (const int i : {10, 20}) {
        REQUIRE(bridge.call(target, http::verb::delete_, "/scim/v2/Users/" + remote_of(ids[static_cast<std::size_t>(i)]))
                    .result_int() == 204);
    }
    const std::string stale_remote = remote_of(ids[30]);
    REQUIRE(bridge.call(target, http::verb::patch, "/scim/v2/Users/" + stale_remote,
                        R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Tampered"}]})")
                .result_int() / 100 == 2);
    REQUIRE(bridge.call(target, http::verb::patch, "/scim/v2/Users/" + remote_of(ids[40]),
                        R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]})")
                .result_int() / 100 == 2);
    const Response intruder = bridge.call(target, http::verb::post, "/scim/v2/Users",
                                          R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"intruder@acme.test"})");
    REQUIRE(intruder.result_int() == 201);
    const std::string intruder_id(json_of(intruder).at("id").as_string());
    const std::string group_remote = bridge.db.query(
        "SELECT remote_id FROM app_object WHERE resource_type = 'Group'");
    REQUIRE(bridge.call(target, http::verb::patch, "/scim/v2/Groups/" + group_remote,
                        R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \")" +
                            remote_of(ids[5]) + R"(\"]"}]})")
                .result_int() / 100 == 2);
    REQUIRE(bridge.drained(20s));

    SUBCASE("a dry run reports the three kinds of drift and writes nothing") {
        const json::object dry = reconcile(bridge, app, true);
        REQUIRE_MESSAGE(dry.at("state") == "succeeded", json::serialize(dry));
        CHECK(count(dry, "users", "checked") == kUsers);
        CHECK(count(dry, "users", "missing") == 2);
        CHECK(count(dry, "users", "stale") == 2);
        CHECK(count(dry, "users", "in_sync") == kUsers - 4);
        CHECK(count(dry, "users", "undelivered") == 0);
        CHECK(dry.at("report").at("users").at("stale_attributes").at("displayName") == 1);
        CHECK(dry.at("report").at("users").at("stale_attributes").at("active") == 1);
        CHECK(count(dry, "groups", "stale") == 1);
        CHECK(count(dry, "orphans", "found") == 1);
        CHECK(dry.at("report").at("orphans").at("samples").at(0).at("id") == json::value(intruder_id));
        CHECK(dry.at("report").at("repairs_enqueued") == 0);
        CHECK(dry.at("report").at("read_back").at("users") == kUsers - 2 + 1);
        CHECK(dry.at("report").at("requests").to_number<int>() >= 2);
        // Nothing changed at the app or in the outbox.
        CHECK(bridge.db.query("SELECT count(*) FROM delivery WHERE operation = 'resync'") == "0");
        const json::object untouched = target_get("Users/" + intruder_id);
        CHECK(untouched.if_contains("active") == nullptr);  // created without one: in use
        CHECK(target_get("Users/" + stale_remote).at("displayName") == "Tampered");
    }

    SUBCASE("one run repairs everything, and the next finds nothing to do") {
        const json::object run = reconcile(bridge, app, false);
        REQUIRE_MESSAGE(run.at("state") == "succeeded", json::serialize(run));
        CHECK(count(run, "users", "missing") == 2);
        CHECK(count(run, "users", "stale") == 2);
        CHECK(count(run, "groups", "stale") == 1);
        CHECK(run.at("report").at("repairs_enqueued") == 5);
        CHECK(count(run, "orphans", "acted") == 1);
        REQUIRE(bridge.drained(30s));

        // The lost accounts exist again (with their account state kept), the stale ones are
        // current, the orphan is deactivated, the member is back.
        for (const int i : {10, 20}) {
            const json::object found = target_get("Users?filter=externalId%20eq%20%22" + ids[static_cast<std::size_t>(i)] + "%22");
            REQUIRE(found.at("totalResults") == 1);
            CHECK(found.at("Resources").at(0).at("displayName") == json::value("User " + std::to_string(i)));
            CHECK(found.at("Resources").at(0).at("active") == true);
        }
        CHECK(target_get("Users/" + stale_remote).at("displayName") == "User 30");
        CHECK(target_get("Users/" + remote_of(ids[40])).at("active") == true);
        CHECK(target_get("Users/" + intruder_id).at("active") == false);
        std::set<std::string> group_members;
        const json::object group = target_get("Groups/" + group_remote);
        for (const auto& m : group.at("members").as_array()) {
            group_members.emplace(m.at("value").as_string());
        }
        CHECK(group_members.size() == 20);
        CHECK(group_members.count(remote_of(ids[5])) == 1);
        CHECK(bridge.db.query("SELECT count(*) FROM app_object WHERE state <> 'initiated' AND resource_type = 'User'") == "0");
        CHECK(bridge.db.query("SELECT count(*) FROM delivery WHERE state = 'dead'") == "0");

        const json::object again = reconcile(bridge, app, false);
        REQUIRE(again.at("state") == "succeeded");
        CHECK(count(again, "users", "in_sync") == kUsers);
        CHECK(count(again, "users", "missing") == 0);
        CHECK(count(again, "users", "stale") == 0);
        CHECK(count(again, "groups", "stale") == 0);
        CHECK(again.at("report").at("repairs_enqueued") == 0);
        CHECK(count(again, "orphans", "acted") == 0);  // the intruder is inactive already
    }
}

TEST_CASE("a webhook app answers resync batches: what it lost is sent as created, stale copies are sent "
          "again, an unknown account is deactivated, and an account the bridge forgot is delivered") {
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp hook(FakeAppOptions{.secrets = {secret}});
    Bridge bridge(reconcile_args());
    const std::string app = bridge.create_app(webhook_app("wiki", hook.url(), secret));
    std::vector<std::string> ids;
    for (int i = 0; i < 50; ++i) {
        ids.push_back(bridge.create_user("w" + std::to_string(i) + "@acme.test"));
    }
    REQUIRE(bridge.drained(30s));
    REQUIRE(hook.held_all().size() == 50);

    hook.forget(ids[1]);
    const auto stale = hook.held(ids[2]);
    REQUIRE(stale);
    hook.hold(ids[2], "User", stale->version - 1, stale->state);  // an older copy
    hook.hold("00000000-0000-4000-8000-00000000beef", "User", 1, "active");  // nobody provisioned it
    bridge.db.query("DELETE FROM app_object WHERE resource_id = '" + ids[3] + "'");  // the bridge lost its record
    hook.clear();

    const json::object run = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(run.at("state") == "succeeded", json::serialize(run));
    CHECK(count(run, "users", "missing") == 1);
    CHECK(count(run, "users", "stale") == 1);
    CHECK(count(run, "users", "undelivered") == 1);
    CHECK(count(run, "orphans", "found") == 1);
    CHECK(count(run, "orphans", "acted") == 1);
    CHECK(run.at("report").at("app_answers") == "resync");
    CHECK(hook.resync_batches() >= 1);
    REQUIRE(bridge.drained(30s));
    REQUIRE(wait_until([&] { return hook.held(ids[1]).has_value(); }, 10s));

    // The lost account came back as created; the stale one was sent again; the orphan blocked.
    const auto events_for = [&](const std::string& id) {
        std::vector<std::string> types;
        for (const json::object& b : applied_for(hook, id)) {
            types.emplace_back(b.at("type").as_string());
        }
        return types;
    };
    CHECK(events_for(ids[1]) == std::vector<std::string>{"user.created"});
    CHECK(events_for(ids[2]) == std::vector<std::string>{"user.updated"});
    CHECK(hook.held(ids[2])->version == stale->version);
    CHECK(hook.held("00000000-0000-4000-8000-00000000beef")->state == "blocked");
    CHECK(events_for(ids[3]).size() == 1);
    CHECK(events_for(ids[4]).empty());  // in sync: left alone
    // Every resync batch was signed and none was counted as an applied event.
    for (const auto& r : hook.records()) {
        if (r.body.is_object() && r.body.as_object().at("type") == "resync.batch") {
            CHECK(r.signature_valid == std::optional<bool>(true));
            CHECK_FALSE(r.applied);
        }
    }

    const json::object again = reconcile(bridge, app, false);
    REQUIRE(again.at("state") == "succeeded");
    CHECK(count(again, "users", "in_sync") == 50);
    CHECK(again.at("report").at("repairs_enqueued") == 0);
    CHECK(count(again, "orphans", "found") == 0);  // the app holds the stranger blocked now
}

TEST_CASE("a resync cut short by a crash is resumed by the next leader after its checkpoint, and judges no "
          "orphans") {
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp hook(FakeAppOptions{.secrets = {secret}});
    Bridge bridge(reconcile_args());
    const std::string app = bridge.create_app(webhook_app("wiki", hook.url(), secret));
    for (int i = 0; i < 40; ++i) {
        bridge.create_user("r" + std::to_string(i) + "@acme.test");
    }
    REQUIRE(bridge.drained(30s));
    REQUIRE(hook.held_all().size() == 40);
    const std::string key = "reconcile:" + app;
    REQUIRE(wait_until([&] { return bridge.db.query("SELECT count(*) FROM schedule WHERE key = '" + key + "'") == "1"; },
                       10s));
    REQUIRE(wait_until([&] {  // no run of it under way
        return bridge.db.query("SELECT count(*) FROM schedule_run WHERE key = '" + key + "' AND state = 'running'") == "0";
    }, 30s));

    // The walk goes in id order; the crashed run had finished the page ending at the 20th user.
    std::vector<std::string> ids;
    std::istringstream listed(bridge.db.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM scim_user"));
    for (std::string id; std::getline(listed, id, ',');) {
        ids.push_back(id);
    }
    REQUIRE(ids.size() == 40);
    hook.forget(ids[9]);   // lost before the checkpoint: the resumed run does not see it
    hook.forget(ids[30]);  // lost after it: repaired by the resumed run
    const std::string stranger = "00000000-0000-4000-8000-00000000beef";
    hook.hold(stranger, "User", 1, "active");

    // What a leader killed mid-run leaves: the run still "running", with its checkpoint.
    bridge.server->signal(SIGKILL);
    REQUIRE(bridge.server->wait_exit(10s).has_value());
    const std::string run_id = bridge.db.query(
        "INSERT INTO schedule_run (key, kind, tenant_id, checkpoint) SELECT key, kind, tenant_id, "
        "CAST('{\"phase\": \"users\", \"checked\": 20, \"after\": \"" + ids[19] + "\", \"repairs\": 0}' AS jsonb) "
        "FROM schedule WHERE key = '" + key + "' RETURNING id");
    hook.clear();
    bridge.start();
    REQUIRE(wait_until([&] {
        return bridge.db.query("SELECT state FROM schedule_run WHERE id = " + run_id) != "running";
    }, 60s));
    const json::object run = json::parse(bridge.db.query(
        "SELECT json_build_object('state', state, 'resumed', resumed, 'report', report, 'error', error)::text "
        "FROM schedule_run WHERE id = " + run_id)).as_object();
    REQUIRE_MESSAGE(run.at("state") == "succeeded", json::serialize(run));
    CHECK(run.at("resumed") == 1);
    CHECK(run.at("report").at("resumed_from").at("after") == json::value(ids[19]));
    CHECK(count(run, "users", "checked") == 40);  // 20 before the crash, 20 after the checkpoint
    CHECK(count(run, "users", "missing") == 1);
    CHECK(count(run, "users", "in_sync") == 19);
    CHECK(run.at("report").at("repairs_enqueued") == 1);
    CHECK(run.at("report").at("orphans").as_object().contains("skipped"));
    REQUIRE(bridge.drained(30s));
    REQUIRE(wait_until([&] { return hook.held(ids[30]).has_value(); }, 10s));
    CHECK_FALSE(hook.held(ids[9]).has_value());
    // The app named every user before the checkpoint as extra (no batch of this run listed
    // them): none was blocked for it, nor the stranger.
    CHECK(bridge.db.query("SELECT count(*) FROM app_object WHERE state = 'blocked'") == "0");
    CHECK(hook.held(stranger)->state == "active");
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(applied_for(hook, ids[i]).empty());
    }

    // The next full run walks everything: the account lost before the checkpoint, the stranger.
    const json::object full = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(full.at("state") == "succeeded", json::serialize(full));
    CHECK_FALSE(full.at("report").as_object().contains("resumed_from"));
    CHECK(count(full, "users", "checked") == 40);
    CHECK(count(full, "users", "missing") == 1);
    CHECK(count(full, "orphans", "acted") == 1);
    REQUIRE(bridge.drained(30s));
    REQUIRE(wait_until([&] { return hook.held(ids[9]).has_value(); }, 10s));

    // The admin API: the job with its default 5-hour period and next run, the run history (newest
    // first) with the resumed run, durations and reports; a period of its own for this app.
    const json::value schedules = json_of(bridge.call(bridge.admin, http::verb::get, "/admin/v1/schedules"));
    bool scheduled = false;
    for (const json::value& e : schedules.at("schedules").as_array()) {
        if (e.at("key") == json::value(key)) {
            scheduled = true;
            CHECK(e.at("period_minutes").to_number<double>() == 300);
            CHECK_FALSE(e.at("next_run_at").as_string().empty());
        }
    }
    CHECK(scheduled);
    const json::value history =
        json_of(bridge.call(bridge.admin, http::verb::get, "/admin/v1/schedules/runs?key=" + key));
    const json::array& runs_listed = history.at("runs").as_array();
    REQUIRE(runs_listed.size() == 2);  // the resumed run and the full one
    CHECK(runs_listed[0].at("state") == "succeeded");
    CHECK(runs_listed[0].at("report").at("users").at("missing") == 1);
    CHECK(runs_listed[0].at("duration_ms").to_number<double>() > 0);
    CHECK(runs_listed[1].at("id").to_number<std::int64_t>() == std::stoll(run_id));
    CHECK(runs_listed[1].at("resumed") == 1);
    CHECK(runs_listed[1].at("report").as_object().contains("resumed_from"));
    const Response hourly = bridge.call(bridge.admin, http::verb::patch, "/admin/v1/schedules/" + key,
                                        R"({"period_minutes": 60})");
    REQUIRE_MESSAGE(hourly.result_int() == 200, hourly.body());
    const json::value changed = json_of(bridge.call(bridge.admin, http::verb::get, "/admin/v1/schedules"));
    for (const json::value& e : changed.at("schedules").as_array()) {
        if (e.at("key") == json::value(key)) {
            CHECK(e.at("period_minutes").to_number<double>() == 60);
        }
    }
}

TEST_CASE("a dry resync of the tenant reports the three-way diff: directory to canonical to each app, per person") {
    FakeScimSource source("source-token");
    for (int i = 0; i < 6; ++i) {
        source.put_user({.id = "p" + std::to_string(i), .email = "p" + std::to_string(i) + "@acme.test",
                         .given_name = "P", .family_name = "Number" + std::to_string(i)});
    }
    Bridge bridge(reconcile_args());
    REQUIRE(run_cli({"tenant", "create", "downstream"}, bridge.env).exit_code == 0);
    const std::string target = bridge.token("downstream", "idp");
    const std::string base = "https://127.0.0.1:" + std::to_string(bridge.server->tls_port()) + "/scim/v2";
    bridge.create_app(json::object{{"name", "portal"},
                                   {"connector", "scim"},
                                   {"scim", json::object{{"base_url", base}, {"token", target}}}});
    const Response made = bridge.call(bridge.admin, http::verb::post, "/admin/v1/directories",
                                      json::serialize(json::object{{"name", "HR"}, {"config", source.source_config(4)}}));
    REQUIRE_MESSAGE(made.result_int() == 201, made.body());
    const std::string dir_key(json_of(made).at("schedule").as_string());
    REQUIRE(wait_until([&] {
        return bridge.db.query("SELECT count(*) FROM schedule_run WHERE key = '" + dir_key + "' AND state = 'succeeded'") == "1";
    }, 30s));
    REQUIRE(bridge.drained(30s));
    const auto canonical = [&](const std::string& external_id) {
        // The app's copies (in the downstream tenant) carry the same externalId.
        return bridge.db.query("SELECT u.id FROM scim_user u JOIN tenant t ON t.id = u.tenant_id "
                               "WHERE t.name = 'acme' AND u.external_id = '" + external_id + "'");
    };
    REQUIRE(bridge.db.query("SELECT count(*) FROM app_object WHERE remote_id IS NOT NULL") == "6");

    // The directory moves on (p1 renamed, p2 gone, p6 new); the app loses p3.
    source.put_user({.id = "p1", .email = "p1@acme.test", .given_name = "P", .family_name = "Renamed"});
    REQUIRE(source.remove_user("p2"));
    source.put_user({.id = "p6", .email = "p6@acme.test", .given_name = "P", .family_name = "Number6"});
    const std::string p3_remote = bridge.db.query("SELECT remote_id FROM app_object WHERE resource_id = '" + canonical("p3") + "'");
    const Response lost = bridge.call(target, http::verb::delete_, "/scim/v2/Users/" + p3_remote);
    REQUIRE_MESSAGE(lost.result_int() == 204, lost.body());

    const Response asked = bridge.call(bridge.admin, http::verb::post, "/admin/v1/resync", R"({"dry_run":true})");
    REQUIRE_MESSAGE(asked.result_int() == 202, asked.body());
    CHECK(json_of(asked).at("requested").as_array().size() == 2);
    REQUIRE(wait_until([&] {
        return bridge.db.query("SELECT count(*) FROM schedule_run WHERE dry_run AND state = 'succeeded'") == "2";
    }, 30s));
    const Response diff = bridge.call(bridge.admin, http::verb::get, "/admin/v1/resync/diff?dry_run=true");
    REQUIRE_MESSAGE(diff.result_int() == 200, diff.body());
    const json::object body = json_of(diff).as_object();
    REQUIRE(body.at("directories").as_array().size() == 1);
    REQUIRE(body.at("apps").as_array().size() == 1);
    CHECK(body.at("directories").at(0).at("update_users") == 1);
    CHECK(body.at("apps").at(0).at("users").at("missing") == 1);
    std::map<std::string, json::object> people;  // by externalId (the source's id)
    for (const auto& p : body.at("people").as_array()) {
        const json::object& person = p.as_object();
        const json::value* ext = person.if_contains("externalId");
        std::string key = ext != nullptr ? std::string(ext->as_string()) : "";
        if (key.empty() && person.contains("id")) {
            key = person.at("id").as_string() == json::string(canonical("p3")) ? "p3" : std::string(person.at("id").as_string());
        }
        people[key] = person;
    }
    REQUIRE(people.count("p1") == 1);
    CHECK(people["p1"].at("directory").at("change") == "update");
    CHECK(people["p1"].at("id") == json::value(canonical("p1")));
    REQUIRE(people.count("p2") == 1);
    CHECK(people["p2"].at("directory").at("change") == "delete");
    REQUIRE(people.count("p6") == 1);
    CHECK(people["p6"].at("directory").at("change") == "create");
    REQUIRE(people.count("p3") == 1);
    CHECK(people["p3"].at("apps").at("portal").at("drift") == "missing");
    CHECK(people.count("p4") == 0);  // in sync everywhere: not listed
    // A dry run changed nothing.
    CHECK(canonical("p6").empty());
    CHECK(bridge.db.query("SELECT count(*) FROM delivery WHERE operation = 'resync'") == "0");

    // The tenant's resync period: every pull and reconciliation it has, and those it gets later.
    CHECK(bridge.call(bridge.admin, http::verb::patch, "/admin/v1/resync", R"({"period_minutes":0})").result_int() == 400);
    const Response set = bridge.call(bridge.admin, http::verb::patch, "/admin/v1/resync", R"({"period_minutes":90})");
    REQUIRE_MESSAGE(set.result_int() == 200, set.body());
    CHECK(json_of(set).at("period_minutes") == 90.0);
    CHECK(bridge.db.query("SELECT string_agg(DISTINCT period_ms::text, ',') FROM schedule "
                          "WHERE kind IN ('directory', 'reconcile')") == "5400000");
    const std::string later = bridge.create_app(webhook_app("later", "http://127.0.0.1:9/hook",
                                                            scimbridge::mappers::generate_webhook_secret()));
    REQUIRE(wait_until([&] {
        return bridge.db.query("SELECT period_ms FROM schedule WHERE key = 'reconcile:" + later + "'") == "5400000";
    }, 10s));
}

TEST_CASE(
    "orphans with policy delete: a SCIM app's accounts and groups nobody provisioned are deleted, "
    "and the report counts them") {
    Bridge bridge(reconcile_args());
    REQUIRE(run_cli({"tenant", "create", "downstream"}, bridge.env).exit_code == 0);
    const std::string target = bridge.token("downstream", "idp");
    const std::string base =
        "https://127.0.0.1:" + std::to_string(bridge.server->tls_port()) + "/scim/v2";
    const std::string app = bridge.create_app(
        json::object{{"name", "portal"},
                     {"connector", "scim"},
                     {"groups", json::object{{"enabled", true}}},
                     {"policies", json::object{{"orphans", "delete"}}},
                     {"scim", json::object{{"base_url", base}, {"token", target}}}});
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(bridge.create_user("d" + std::to_string(i) + "@acme.test"));
    }
    REQUIRE(bridge.drained(30s));
    const auto target_status = [&](const std::string& path) {
        return bridge.call(target, http::verb::get, "/scim/v2/" + path).result_int();
    };
    // Made at the app behind the bridge's back: two accounts (one already inactive) and a group.
    const auto make = [&](const std::string& type, const std::string& attributes) {
        const Response r = bridge.call(target,
                                       http::verb::post,
                                       "/scim/v2/" + type + "s",
                                       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:)" +
                                           type + "\"]," + attributes + "}");
        REQUIRE_MESSAGE(r.result_int() == 201, r.body());
        return std::string(json_of(r).at("id").as_string());
    };
    const std::vector<std::string> strangers{
        make("User", R"("userName":"stranger1@acme.test")"),
        make("User", R"("userName":"stranger2@acme.test","active":false)"),
        make("Group", R"("displayName":"shadow")")};

    const json::object run = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(run.at("state") == "succeeded", json::serialize(run));
    CHECK(count(run, "users", "in_sync") == 5);
    CHECK(run.at("report").at("orphans").at("policy") == "delete");
    CHECK(count(run, "orphans", "found") == 3);
    CHECK(count(run, "orphans", "acted") == 3);
    CHECK(count(run, "orphans", "failed") == 0);
    CHECK(count(run, "orphans", "left") == 0);
    CHECK(run.at("report").at("orphans").as_object().if_contains("held_back") == nullptr);
    CHECK(target_status("Users/" + strangers[0]) == 404);
    CHECK(target_status("Users/" + strangers[1]) == 404);
    CHECK(target_status("Groups/" + strangers[2]) == 404);
    // What the bridge provisioned is untouched.
    for (const std::string& id : ids) {
        const std::string remote =
            bridge.db.query("SELECT remote_id FROM app_object WHERE resource_id = '" + id + "'");
        CHECK(target_status("Users/" + remote) == 200);
    }

    const json::object again = reconcile(bridge, app, false);
    REQUIRE(again.at("state") == "succeeded");
    CHECK(count(again, "orphans", "found") == 0);
}

TEST_CASE(
    "orphans of a webhook app: policy delete sends user.deleted, policy ignore sends nothing and "
    "reports them left") {
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp deleting(FakeAppOptions{.secrets = {secret}});
    FakeApp ignoring(FakeAppOptions{.secrets = {secret}});
    Bridge bridge(reconcile_args());
    const std::string delete_app = bridge.create_app(webhook_app(
        "deleting", deleting.url(), secret, {{"policies", json::object{{"orphans", "delete"}}}}));
    const std::string ignore_app = bridge.create_app(webhook_app(
        "ignoring", ignoring.url(), secret, {{"policies", json::object{{"orphans", "ignore"}}}}));
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(bridge.create_user("o" + std::to_string(i) + "@acme.test"));
    }
    REQUIRE(bridge.drained(30s));
    const std::vector<std::string> strangers{"00000000-0000-4000-8000-00000000aa01",
                                             "00000000-0000-4000-8000-00000000aa02",
                                             "not-a-uuid-stranger"};
    for (FakeApp* hook : {&deleting, &ignoring}) {
        REQUIRE(hook->held_all().size() == 4);
        for (const std::string& s : strangers) {
            hook->hold(s, "User", 1, "active");
        }
        hook->clear();
    }

    const json::object deleted = reconcile(bridge, delete_app, false);
    REQUIRE_MESSAGE(deleted.at("state") == "succeeded", json::serialize(deleted));
    CHECK(deleted.at("report").at("orphans").at("policy") == "delete");
    CHECK(count(deleted, "orphans", "found") == 3);
    CHECK(count(deleted, "orphans", "acted") == 3);
    CHECK(count(deleted, "orphans", "left") == 0);
    for (const std::string& s : strangers) {
        CAPTURE(s);
        const auto events = applied_for(deleting, s);
        REQUIRE(events.size() == 1);
        CHECK(events[0].at("type") == "user.deleted");
        CHECK(events[0].at("account").at("state") == "blocked");
    }
    for (const std::string& id : ids) {
        CHECK(applied_for(deleting, id).empty());
    }

    const json::object ignored = reconcile(bridge, ignore_app, false);
    REQUIRE_MESSAGE(ignored.at("state") == "succeeded", json::serialize(ignored));
    CHECK(ignored.at("report").at("orphans").at("policy") == "ignore");
    CHECK(count(ignored, "orphans", "found") == 3);
    CHECK(count(ignored, "orphans", "acted") == 0);
    CHECK(count(ignored, "orphans", "left") == 3);
    CHECK(ignored.at("report").at("orphans").at("samples").as_array().size() == 3);
    // Only resync batches reached the app; what it holds is as it was.
    CHECK(ignoring.resync_batches() >= 1);
    for (const auto& r : ignoring.records()) {
        CHECK(r.body.at("type") == "resync.batch");
    }
    for (const std::string& s : strangers) {
        CHECK(ignoring.held(s)->state == "active");
    }
    // The next run finds them again: ignoring is not forgetting.
    CHECK(count(reconcile(bridge, ignore_app, false), "orphans", "left") == 3);
}

TEST_CASE(
    "more orphans than the safety limit (20 % of the app, at least 50): none is touched and the "
    "report says why; at the limit they are acted on") {
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp hook(FakeAppOptions{.secrets = {secret}});
    Bridge bridge(reconcile_args());
    const std::string app =
        bridge.create_app(webhook_app("wiki", hook.url(), secret));  // orphans: block
    for (int i = 0; i < 4; ++i) {
        bridge.create_user("s" + std::to_string(i) + "@acme.test");
    }
    REQUIRE(bridge.drained(30s));
    REQUIRE(hook.held_all().size() == 4);
    std::vector<std::string> strangers;
    for (int i = 0; i < 51; ++i) {
        const std::string n = std::to_string(100 + i);
        strangers.push_back("00000000-0000-4000-8000-" + std::string(12 - n.size(), '0') + n);
        hook.hold(strangers.back(), "User", 1, "active");
    }
    hook.clear();

    const json::object held_back = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(held_back.at("state") == "succeeded", json::serialize(held_back));
    CHECK(count(held_back, "orphans", "found") == 51);
    CHECK(count(held_back, "orphans", "acted") == 0);
    CHECK(count(held_back, "orphans", "left") == 51);
    const json::value* why =
        held_back.at("report").at("orphans").as_object().if_contains("held_back");
    REQUIRE(why != nullptr);
    CHECK(why->as_string() ==
          "51 orphans exceed the safety limit of 50: none was touched; check the app (or set "
          "policies.orphans to \"ignore\")");
    for (const auto& r : hook.records()) {
        CHECK(r.body.at("type") == "resync.batch");
    }
    for (const std::string& s : strangers) {
        CHECK(hook.held(s)->state == "active");
    }

    // One fewer: 50 is within the limit, and every one of them is blocked.
    hook.forget(strangers.back());
    strangers.pop_back();
    hook.clear();
    const json::object acted = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(acted.at("state") == "succeeded", json::serialize(acted));
    CHECK(count(acted, "orphans", "found") == 50);
    CHECK(count(acted, "orphans", "acted") == 50);
    CHECK(acted.at("report").at("orphans").as_object().if_contains("held_back") == nullptr);
    for (const std::string& s : strangers) {
        CAPTURE(s);
        CHECK(hook.held(s)->state == "blocked");
        const auto events = applied_for(hook, s);
        REQUIRE(events.size() == 1);
        CHECK(events[0].at("type") == "user.deactivated");
    }
}

TEST_CASE(
    "a SCIM app with more orphans than the safety limit: none is deleted and the report says why; at "
    "the limit every one is deleted at the app") {
    Bridge bridge(reconcile_args());
    REQUIRE(run_cli({"tenant", "create", "downstream"}, bridge.env).exit_code == 0);
    const std::string target = bridge.token("downstream", "idp");
    const std::string base = "https://127.0.0.1:" + std::to_string(bridge.server->tls_port()) + "/scim/v2";
    const std::string app = bridge.create_app(json::object{{"name", "portal"},
                                                           {"connector", "scim"},
                                                           {"policies", json::object{{"orphans", "delete"}}},
                                                           {"scim", json::object{{"base_url", base}, {"token", target}}}});
    for (int i = 0; i < 4; ++i) {
        bridge.create_user("p" + std::to_string(i) + "@acme.test");
    }
    REQUIRE(bridge.drained(30s));
    // 51 accounts made at the app behind the bridge's back.
    std::vector<std::string> strangers;
    for (int i = 0; i < 51; ++i) {
        const Response r = bridge.call(target, http::verb::post, "/scim/v2/Users",
                                       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x)" +
                                           std::to_string(i) + R"(@acme.test"})");
        REQUIRE_MESSAGE(r.result_int() == 201, r.body());
        strangers.emplace_back(json_of(r).at("id").as_string());
    }
    const auto at_app = [&](const std::string& id) {
        return bridge.call(target, http::verb::get, "/scim/v2/Users/" + id).result_int();
    };

    const json::object held_back = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(held_back.at("state") == "succeeded", json::serialize(held_back));
    CHECK(count(held_back, "users", "in_sync") == 4);
    CHECK(count(held_back, "orphans", "found") == 51);
    CHECK(count(held_back, "orphans", "acted") == 0);
    CHECK(count(held_back, "orphans", "left") == 51);
    const json::value* why = held_back.at("report").at("orphans").as_object().if_contains("held_back");
    REQUIRE(why != nullptr);
    CHECK(std::string(why->as_string()).find("51 orphans exceed the safety limit of 50") == 0);
    for (const std::string& id : strangers) {
        CHECK(at_app(id) == 200);
    }

    // One fewer: 50 is within the limit, and every one of them is deleted at the app.
    REQUIRE(bridge.call(target, http::verb::delete_, "/scim/v2/Users/" + strangers.back()).result_int() == 204);
    strangers.pop_back();
    const json::object acted = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(acted.at("state") == "succeeded", json::serialize(acted));
    CHECK(count(acted, "orphans", "found") == 50);
    CHECK(count(acted, "orphans", "acted") == 50);
    CHECK(acted.at("report").at("orphans").as_object().if_contains("held_back") == nullptr);
    for (const std::string& id : strangers) {
        CHECK(at_app(id) == 404);
    }
    // What the bridge provisioned is untouched.
    CHECK(bridge.call(target, http::verb::get, "/scim/v2/Users?count=0").body().find("\"totalResults\":4") !=
          std::string::npos);
}

TEST_CASE(
    "the safety limit of a webhook app is 20 % of what the app holds, not of the tenant's users") {
    const std::string secret = scimbridge::mappers::generate_webhook_secret();
    FakeApp hook(FakeAppOptions{.secrets = {secret}});
    Bridge bridge(reconcile_args());
    // Four of the tenant's 300 people are in the app's scope.
    const std::string app = bridge.create_app(webhook_app(
        "wiki", hook.url(), secret, {{"scope", json::object{{"filter", "userName sw \"in\""}}}}));
    for (int i = 0; i < 300; ++i) {
        bridge.create_user((i < 4 ? "in" : "out") + std::to_string(i) + "@acme.test");
    }
    REQUIRE(bridge.drained(60s));
    REQUIRE(hook.held_all().size() == 4);
    // The app holds 59 accounts, 55 of them unknown to the bridge: 20 % of 59 is under the floor
    // of 50, and 55 exceed it. (20 % of the tenant's 300 people would be 60.)
    for (int i = 0; i < 55; ++i) {
        const std::string n = std::to_string(100 + i);
        hook.hold(
            "00000000-0000-4000-8000-" + std::string(12 - n.size(), '0') + n, "User", 1, "active");
    }
    hook.clear();

    const json::object run = reconcile(bridge, app, false);
    REQUIRE_MESSAGE(run.at("state") == "succeeded", json::serialize(run));
    CHECK(count(run, "users", "checked") == 300);
    CHECK(count(run, "orphans", "found") == 55);
    CHECK(count(run, "orphans", "acted") == 0);
    CHECK(count(run, "orphans", "left") == 55);
    CHECK(run.at("report").at("orphans").as_object().contains("held_back"));
    for (const auto& r : hook.records()) {
        CHECK(r.body.at("type") == "resync.batch");
    }
}

}  // TEST_SUITE
