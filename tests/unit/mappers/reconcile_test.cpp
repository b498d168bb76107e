// Downstream reconciliation: attribute drift, the held index, the verdicts on one user and their
// repairs, webhook resync batches (body, answer, signed send) and the SCIM read-back over a
// scripted transport.

#include "tests/support/scripted_transport.hpp"
#include "mappers/reconcile.hpp"
#include "mappers/webhook_signature.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;
using scimbridge::scim::ResourceKind;

using scimbridge::tests::ScriptedTransport;
using scimbridge::tests::status_reply;

namespace {

const auto kNow = scimbridge::tests::kScriptNow;
constexpr std::int64_t kNowUnix = scimbridge::tests::kScriptNowUnix;

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

json::object obj(std::string_view text) {
    return json::parse(text).as_object();
}

std::vector<std::string> drift(std::string_view desired, std::string_view held) {
    return drifted_attributes(obj(desired), obj(held));
}

using Names = std::vector<std::string>;

// ---- read-back pages --------------------------------------------------------------------------

json::object user_resource(const std::string& id) {
    return json::object{{"id", id}, {"userName", id + "@example.com"}};
}

// A ListResponse of users `ids`, with totalResults and (when given) nextCursor.
json::object list_page(const std::vector<std::string>& ids, std::int64_t total,
                       std::optional<std::string> next_cursor = std::nullopt) {
    json::array resources;
    for (const std::string& id : ids) {
        resources.push_back(user_resource(id));
    }
    json::object page{{"schemas", json::array{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}},
                      {"totalResults", total},
                      {"itemsPerPage", static_cast<std::int64_t>(ids.size())},
                      {"Resources", std::move(resources)}};
    if (next_cursor) {
        page["nextCursor"] = *next_cursor;
    }
    return page;
}

ScimTargetConfig scim_app() {
    ScimTargetConfig c;
    c.base_url = "https://app.example/scim/v2/";
    c.bearer_token = "app-token-123";
    return c;
}

ReadBackLimits pages_of(std::size_t n) {
    ReadBackLimits l;
    l.page_size = n;
    return l;
}

std::vector<std::string> remote_ids(const HeldIndex& index) {
    std::vector<std::string> out;
    for (const HeldResource* r : index.unclaimed()) {
        out.push_back(r->remote_id);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---- judging fixtures ---------------------------------------------------------------------------

UserFacts wanted() {
    return UserFacts{true, true, true};
}

AppObject account(AccountState state, std::string remote_id = "r-alice") {
    AppObject o;
    o.state = state;
    o.delivered_state = state;
    o.remote_id = std::move(remote_id);
    o.payload = obj(R"({"userName":"alice@example.com","displayName":"Alice"})");
    o.delivered_version = 3;
    return o;
}

DesiredUser alice() {
    DesiredUser u;
    u.id = "u-alice";
    u.version = 3;
    u.facts = wanted();
    u.payload = obj(R"({"userName":"alice@example.com","displayName":"Alice"})");
    return u;
}

HeldResource held_user(std::string remote_id, std::string_view resource,
                       std::optional<std::string> external_id = std::nullopt, bool active = true) {
    HeldResource h;
    h.remote_id = std::move(remote_id);
    h.external_id = std::move(external_id);
    h.resource = obj(resource);
    h.active = active;
    return h;
}

}  // namespace

TEST_SUITE("mappers.reconcile") {

// ---- drifted_attributes -----------------------------------------------------------------------

TEST_CASE("drift: equal resources have no drifted attribute") {
    CHECK(drift(R"({"userName":"a@x.io","displayName":"Ann","name":{"givenName":"Ann"}})",
                R"({"userName":"a@x.io","displayName":"Ann","name":{"givenName":"Ann"}})")
              .empty());
}

TEST_CASE("drift: a changed string value is named, unchanged ones are not") {
    CHECK(drift(R"({"userName":"a@x.io","displayName":"Ann","title":"CTO"})",
                R"({"userName":"a@x.io","displayName":"Ann B","title":"CTO"})") == Names{"displayName"});
    // Absent from the app's copy altogether.
    CHECK(drift(R"({"userName":"a@x.io","title":"CTO"})", R"({"userName":"a@x.io"})") == Names{"title"});
}

TEST_CASE("drift: attribute names compare case-insensitively") {
    CHECK(drift(R"({"displayName":"Ann"})", R"({"displayname":"Ann"})").empty());
    CHECK(drift(R"({"name":{"givenName":"Ann"}})", R"({"NAME":{"givenname":"Ann"}})").empty());
    // Still compared by value under the other spelling.
    CHECK(drift(R"({"displayName":"Ann"})", R"({"displayname":"Bob"})") == Names{"displayName"});
}

TEST_CASE("drift: userName and emails fold case, displayName does not") {
    CHECK(drift(R"({"userName":"Ann@X.io"})", R"({"userName":"ann@x.io"})").empty());
    CHECK(drift(R"({"emails":[{"value":"Ann@X.io","type":"work"}]})",
                R"({"emails":[{"value":"ann@x.io","type":"work"}]})")
              .empty());
    CHECK(drift(R"({"displayName":"Ann"})", R"({"displayName":"ann"})") == Names{"displayName"});
}

TEST_CASE("drift: multi-valued attributes match in any order, but not with an extra element") {
    CHECK(drift(R"({"emails":[{"value":"a@x.io","type":"work"},{"value":"a@home.io","type":"home"}]})",
                R"({"emails":[{"value":"a@home.io","type":"home"},{"value":"a@x.io","type":"work"}]})")
              .empty());
    CHECK(drift(R"({"emails":[{"value":"a@x.io","type":"work"}]})",
                R"({"emails":[{"value":"a@x.io","type":"work"},{"value":"b@x.io","type":"home"}]})") ==
          Names{"emails"});
    // Same length, one element the app does not hold.
    CHECK(drift(R"({"emails":[{"value":"a@x.io"},{"value":"c@x.io"}]})",
                R"({"emails":[{"value":"a@x.io"},{"value":"b@x.io"}]})") == Names{"emails"});
}

TEST_CASE("drift: the app may hold more sub-attributes than it was sent") {
    CHECK(drift(R"({"name":{"givenName":"Ann"},"emails":[{"value":"a@x.io"}]})",
                R"({"name":{"givenName":"Ann","familyName":"Lee","formatted":"Ann Lee"},)"
                R"("emails":[{"value":"a@x.io","primary":true,"type":"work"}]})")
              .empty());
    // A desired sub-attribute the app lacks is drift.
    CHECK(drift(R"({"name":{"givenName":"Ann","familyName":"Lee"}})", R"({"name":{"givenName":"Ann"}})") ==
          Names{"name"});
}

TEST_CASE("drift: a desired null matches an absent or null value, not a present one") {
    CHECK(drift(R"({"title":null,"nickName":null})", R"({"nickName":null})").empty());
    CHECK(drift(R"({"title":null})", R"({"title":"CTO"})") == Names{"title"});
}

TEST_CASE("drift: numbers compare by value (1 equals 1.0)") {
    CHECK(drift(R"({"level":1})", R"({"level":1.0})").empty());
    CHECK(drift(R"({"level":1.0})", R"({"level":1})").empty());
    CHECK(drift(R"({"level":1})", R"({"level":2})") == Names{"level"});
}

TEST_CASE("drift: schemas, meta, id, active, members and password are not compared") {
    CHECK(drift(R"({"schemas":["urn:a"],"meta":{"version":"1"},"id":"u1","active":true,)"
                R"("members":[{"value":"m1"}],"password":"secret","userName":"a@x.io"})",
                R"({"schemas":["urn:b"],"meta":{"version":"9"},"id":"r9","active":false,)"
                R"("members":[],"userName":"a@x.io"})")
              .empty());
}

// ---- HeldIndex --------------------------------------------------------------------------------

TEST_CASE("held index: claims by remote id, falls back to externalId, never twice") {
    HeldIndex index;
    index.add(held_user("r1", R"({"id":"r1"})", "e1"));
    index.add(held_user("r2", R"({"id":"r2"})", "e2"));
    index.add(held_user("r3", R"({"id":"r3"})"));
    CHECK(index.size() == 3);

    const HeldResource* by_remote = index.claim(std::string("r1"), std::string("e-other"));
    REQUIRE(by_remote != nullptr);
    CHECK(by_remote->remote_id == "r1");

    // An unknown remote id falls back to the externalId.
    const HeldResource* by_external = index.claim(std::string("r-unknown"), std::string("e2"));
    REQUIRE(by_external != nullptr);
    CHECK(by_external->remote_id == "r2");

    // Claimed already: neither by remote id nor by externalId.
    CHECK(index.claim(std::string("r1"), std::nullopt) == nullptr);
    CHECK(index.claim(std::nullopt, std::string("e2")) == nullptr);
    CHECK(index.claim(std::nullopt, std::nullopt) == nullptr);

    CHECK(remote_ids(index) == Names{"r3"});
}

// ---- judge_recorded ---------------------------------------------------------------------------

TEST_CASE("judge_recorded: a delivery in flight is not judged") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    u.payload["displayName"] = "Alice New";  // would be undelivered otherwise
    u.in_flight = true;
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kInFlight);
}

TEST_CASE("judge_recorded: a user in scope the app never got is undelivered") {
    DesiredUser u = alice();
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kUndelivered);
    u.facts.in_scope = false;
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kNone);
}

TEST_CASE("judge_recorded: an active account is undelivered only when its mapped payload changed") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kNone);
    u.payload["displayName"] = "Alice New";
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kUndelivered);
}

TEST_CASE("judge_recorded: a blocked account whose person is still inactive owes nothing") {
    DesiredUser u = alice();
    u.object = account(AccountState::kBlocked);
    u.object->state_before_block = AccountState::kActive;
    u.facts.active = false;
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kNone);
    // Reactivated at the IdP: the reactivation was never sent.
    u.facts.active = true;
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kUndelivered);
}

TEST_CASE("judge_recorded: an owed account event is undelivered only for apps that receive events") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    u.object->delivered_state = AccountState::kPending;  // the app never heard of the activation
    u.connector_receives_events = true;
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kUndelivered);
    u.connector_receives_events = false;  // SCIM: account.* events are not sent
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kNone);
}

TEST_CASE("judge_recorded: an account blocked by an admin stays blocked") {
    DesiredUser u = alice();
    u.object = account(AccountState::kBlocked);
    u.object->state_before_block = AccountState::kActive;
    u.object->blocked_by_admin = true;
    CHECK(judge_recorded(AppPolicies{}, u).drift == Drift::kNone);
}

// ---- judge_held_user and user_repair ------------------------------------------------------------

TEST_CASE("held user: an account the app lost is missing and recreated") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    HeldIndex held;
    held.add(held_user("r-bob", R"({"id":"r-bob","userName":"bob@example.com"})"));
    const Verdict v = judge_held_user(u, held);
    CHECK(v.drift == Drift::kMissing);
    CHECK(v.held == nullptr);
    const auto repair = user_repair(u, v);
    REQUIRE(repair.has_value());
    CHECK(repair->kind == Repair::Kind::kRecreate);
    CHECK(repair->id == "u-alice");
    CHECK(repair->version == 3);
    CHECK(repair->resource == ResourceKind::kUser);
    // Bob is nobody's: an orphan.
    CHECK(remote_ids(held) == Names{"r-bob"});
}

TEST_CASE("held user: other values are stale and the refresh records what the app holds") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    HeldIndex held;
    held.add(held_user("r-alice",
                       R"({"id":"r-alice","userName":"ALICE@example.com","displayName":"Alice Old",)"
                       R"("title":"not mapped"})"));
    const Verdict v = judge_held_user(u, held);
    CHECK(v.drift == Drift::kStale);
    CHECK(v.attributes == Names{"displayName"});
    REQUIRE(v.held != nullptr);
    CHECK(v.held->remote_id == "r-alice");
    const auto repair = user_repair(u, v);
    REQUIRE(repair.has_value());
    CHECK(repair->kind == Repair::Kind::kRefresh);
    REQUIRE(repair->payload.has_value());
    // The app's values of the mapped attributes (and only those).
    CHECK(*repair->payload == obj(R"({"userName":"ALICE@example.com","displayName":"Alice Old"})"));
    CHECK_FALSE(repair->delivered_state.has_value());
    CHECK(held.unclaimed().empty());
}

TEST_CASE("held user: a copy written after the read-back began is not judged from it") {
    // Delivered while the run read the app: the read-back may predate the app's copy.
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    u.written_since_read_back = true;
    HeldIndex absent;
    const Verdict lost = judge_held_user(u, absent);
    CHECK(lost.drift == Drift::kInFlight);
    CHECK_FALSE(user_repair(u, lost).has_value());
    HeldIndex older;
    older.add(held_user("r-alice", R"({"id":"r-alice","userName":"alice@example.com","displayName":"Alice Old"})"));
    const Verdict stale = judge_held_user(u, older);
    CHECK(stale.drift == Drift::kInFlight);
    CHECK(stale.attributes.empty());
    CHECK_FALSE(user_repair(u, stale).has_value());
    CHECK(older.unclaimed().empty());  // still the user's copy, never an orphan
    // Without the write since, the same read-back is drift.
    u.written_since_read_back = false;
    HeldIndex absent_again;
    CHECK(judge_held_user(u, absent_again).drift == Drift::kMissing);
}

TEST_CASE("held user: an inactive copy with equal attributes is stale in active only") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    HeldIndex held;
    held.add(held_user("r-alice",
                       R"({"id":"r-alice","userName":"alice@example.com","displayName":"Alice","active":false})",
                       std::nullopt, false));
    const Verdict v = judge_held_user(u, held);
    CHECK(v.drift == Drift::kStale);
    CHECK(v.attributes == Names{"active"});
    const auto repair = user_repair(u, v);
    REQUIRE(repair.has_value());
    CHECK(repair->kind == Repair::Kind::kRefresh);
    REQUIRE(repair->payload.has_value());
    // Nothing to record of the attributes: an empty record makes the worker send them all.
    CHECK(*repair->payload == json::object());
}

TEST_CASE("held user: a blocked account the app shows active is refreshed to its state before") {
    DesiredUser u = alice();
    u.object = account(AccountState::kBlocked);
    u.object->state_before_block = AccountState::kPending;
    u.facts.active = false;
    HeldIndex held;
    held.add(held_user("r-alice", R"({"id":"r-alice","userName":"alice@example.com","displayName":"Alice"})"));
    const Verdict v = judge_held_user(u, held);
    CHECK(v.drift == Drift::kStale);
    CHECK(v.attributes == Names{"active"});
    const auto repair = user_repair(u, v);
    REQUIRE(repair.has_value());
    CHECK(repair->kind == Repair::Kind::kRefresh);
    REQUIRE(repair->delivered_state.has_value());
    CHECK(*repair->delivered_state == AccountState::kPending);
    CHECK(*repair->delivered_state == restored_state(u.object->state_before_block));

    // The app shows it inactive already: nothing to do.
    HeldIndex inactive;
    inactive.add(held_user("r-alice", R"({"id":"r-alice","active":false})", std::nullopt, false));
    const Verdict ok = judge_held_user(u, inactive);
    CHECK(ok.drift == Drift::kNone);
    CHECK_FALSE(user_repair(u, ok).has_value());
}

TEST_CASE("held user: a blocked account the app no longer holds needs no repair") {
    DesiredUser u = alice();
    u.object = account(AccountState::kBlocked);
    u.object->state_before_block = AccountState::kActive;
    HeldIndex held;
    const Verdict v = judge_held_user(u, held);
    CHECK(v.drift == Drift::kNone);
    CHECK_FALSE(user_repair(u, v).has_value());
    // Even when judged missing, a blocked account is not recreated.
    Verdict missing;
    missing.drift = Drift::kMissing;
    CHECK_FALSE(user_repair(u, missing).has_value());
}

TEST_CASE("held user: without a remote id the copy is found by the mapped externalId") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    u.object->remote_id.reset();
    u.payload["externalId"] = "hr-42";
    u.object->payload["externalId"] = "hr-42";
    HeldIndex held;
    // Carries the canonical id as externalId: not this user's copy when the mapping sets one.
    held.add(held_user("r-canon", R"({"id":"r-canon"})", "u-alice"));
    held.add(held_user("r-hr",
                       R"({"id":"r-hr","externalId":"hr-42","userName":"alice@example.com","displayName":"Alice"})",
                       "hr-42"));
    const Verdict v = judge_held_user(u, held);
    REQUIRE(v.held != nullptr);
    CHECK(v.held->remote_id == "r-hr");
    CHECK(v.drift == Drift::kNone);
    CHECK(remote_ids(held) == Names{"r-canon"});
}

TEST_CASE("held user: without a remote id or mapped externalId the canonical id is the externalId") {
    DesiredUser u = alice();
    u.object = account(AccountState::kActive);
    u.object->remote_id.reset();
    HeldIndex held;
    held.add(held_user("r-other", R"({"id":"r-other"})", "u-bob"));
    held.add(held_user("r-alice", R"({"id":"r-alice","userName":"alice@example.com","displayName":"Alice"})",
                       "u-alice"));
    const Verdict v = judge_held_user(u, held);
    REQUIRE(v.held != nullptr);
    CHECK(v.held->remote_id == "r-alice");
    CHECK(v.drift == Drift::kNone);
}

TEST_CASE("held user: a user without an account claims the app's copy but has no drift") {
    DesiredUser u = alice();  // no app_object
    HeldIndex held;
    held.add(held_user("r-x", R"({"id":"r-x","displayName":"Someone else"})", "u-alice"));
    const Verdict v = judge_held_user(u, held);
    CHECK(v.drift == Drift::kNone);
    REQUIRE(v.held != nullptr);
    CHECK(v.held->remote_id == "r-x");
    CHECK(held.unclaimed().empty());  // adopted by the create, not an orphan
    CHECK_FALSE(user_repair(u, v).has_value());
}

TEST_CASE("user_repair: an undelivered change is a plain delivery") {
    DesiredUser u = alice();
    Verdict v;
    v.drift = Drift::kUndelivered;
    const auto repair = user_repair(u, v);
    REQUIRE(repair.has_value());
    CHECK(repair->kind == Repair::Kind::kDeliver);
    CHECK(repair->id == "u-alice");
    CHECK_FALSE(repair->payload.has_value());
    Verdict in_flight;
    in_flight.drift = Drift::kInFlight;
    CHECK_FALSE(user_repair(u, in_flight).has_value());
}

// ---- resync batches -----------------------------------------------------------------------------

TEST_CASE("resync batch body: type, run, batch number and the listed resources") {
    ResyncBatch b;
    b.tenant_id = "t1";
    b.app_id = "app1";
    b.app_name = "Wiki";
    b.run_id = "run7";
    b.number = 3;
    b.final = true;
    b.items.push_back(ResyncItem{ResourceKind::kUser, "u1", std::string("r1"), 4, AccountState::kActive});
    b.items.push_back(ResyncItem{ResourceKind::kGroup, "g1", std::nullopt, 2, std::nullopt});
    const json::object body = resync_batch_body(b, "2026-03-04T05:06:07Z");

    CHECK(body.at("id") == "rsy_run7_3");
    CHECK(body.at("type") == "resync.batch");
    CHECK(body.at("timestamp") == "2026-03-04T05:06:07Z");
    CHECK(body.at("tenant") == "t1");
    CHECK(body.at("app") == json::value(obj(R"({"id":"app1","name":"Wiki"})")));
    CHECK(body.at("resync") == json::value(obj(R"({"run":"run7","batch":3,"final":true})")));
    const json::array& resources = body.at("resources").as_array();
    REQUIRE(resources.size() == 2);
    CHECK(resources[0] ==
          json::value(obj(R"({"type":"User","id":"u1","version":4,"remote_id":"r1","state":"active"})")));
    CHECK(resources[1] == json::value(obj(R"({"type":"Group","id":"g1","version":2})")));
}

TEST_CASE("resync answer: missing, stale and extra lists are read") {
    const auto a = parse_resync_answer(status_reply(
        200, R"({"missing":["u1","u2"],"stale":["u3"],"extra":["r9",{"type":"Group","id":"g9"},{"id":"r8"}]})"));
    REQUIRE(a.has_value());
    CHECK(a->supported);
    CHECK(a->missing == Names{"u1", "u2"});
    CHECK(a->stale == Names{"u3"});
    REQUIRE(a->extra.size() == 3);
    CHECK(a->extra[0].kind == ResourceKind::kUser);
    CHECK(a->extra[0].id == "r9");
    CHECK(a->extra[1].kind == ResourceKind::kGroup);
    CHECK(a->extra[1].id == "g9");
    CHECK(a->extra[2].kind == ResourceKind::kUser);
    CHECK(a->extra[2].id == "r8");

    // Every list is optional.
    const auto empty = parse_resync_answer(status_reply(200, R"({})"));
    REQUIRE(empty.has_value());
    CHECK(empty->supported);
    CHECK(empty->missing.empty());
    CHECK(empty->extra.empty());
}

TEST_CASE("resync answer: a 2xx without JSON means the app does not reconcile") {
    for (const char* body : {"", "OK", "[\"u1\"]"}) {
        CAPTURE(body);
        const auto a = parse_resync_answer(status_reply(200, body));
        REQUIRE(a.has_value());
        CHECK_FALSE(a->supported);
    }
}

TEST_CASE("resync answer: malformed lists and truncated bodies are errors") {
    CHECK_FALSE(parse_resync_answer(status_reply(200, R"({"missing":[1,2]})")).has_value());
    CHECK_FALSE(parse_resync_answer(status_reply(200, R"({"stale":"u1"})")).has_value());
    CHECK_FALSE(parse_resync_answer(status_reply(200, R"({"missing":[""]})")).has_value());
    CHECK_FALSE(parse_resync_answer(status_reply(200, R"({"extra":[{"type":"Group"}]})")).has_value());
    CHECK_FALSE(parse_resync_answer(status_reply(200, R"({"extra":[{"type":"User","id":7}]})")).has_value());
    CHECK_FALSE(parse_resync_answer(status_reply(200, R"({"extra":{"id":"r1"}})")).has_value());
    HttpResponse truncated = status_reply(200, R"({"missing":["u1"]})");
    truncated.body_truncated = true;
    CHECK_FALSE(parse_resync_answer(truncated).has_value());
}

TEST_CASE("send resync batch: a signed POST whose webhook-id is the body's id") {
    WebhookConfig config;
    config.url = "https://hooks.example/resync";
    config.secrets = {generate_webhook_secret()};
    ResyncBatch b;
    b.tenant_id = "t1";
    b.app_id = "app1";
    b.app_name = "Wiki";
    b.run_id = "run7";
    b.number = 2;
    b.items.push_back(ResyncItem{ResourceKind::kUser, "u1", std::string("r1"), 4, AccountState::kActive});
    ScriptedTransport t;
    t.then_json(obj(R"({"missing":["u1"]})"));

    const auto answer = send_resync_batch(config, b, t, [] { return kNow; });
    REQUIRE(answer.has_value());
    CHECK(answer->missing == Names{"u1"});

    REQUIRE(t.requests.size() == 1);
    const HttpRequest& r = t.requests[0];
    CHECK(r.method == "POST");
    CHECK(r.url == "https://hooks.example/resync");
    const json::object body = obj(r.body);
    CHECK(body.at("id") == "rsy_run7_2");
    CHECK(body.at("timestamp") == "2026-03-04T05:06:07Z");
    CHECK(r.headers.at("webhook-id") == "rsy_run7_2");
    CHECK(r.headers.at("webhook-timestamp") == std::to_string(kNowUnix));
    CHECK(verify_webhook(config.secrets, r.headers.at("webhook-id"), r.headers.at("webhook-timestamp"),
                         r.headers.at("webhook-signature"), r.body, kNow));
    // Signed over exactly this body.
    CHECK_FALSE(verify_webhook(config.secrets, r.headers.at("webhook-id"), r.headers.at("webhook-timestamp"),
                               r.headers.at("webhook-signature"), r.body + " ", kNow));
}

TEST_CASE("send resync batch: an app answering 500 is an error") {
    WebhookConfig config;
    config.url = "https://hooks.example/resync";
    config.secrets = {generate_webhook_secret()};
    ResyncBatch b;
    b.run_id = "run1";
    ScriptedTransport t;
    t.then(status_reply(500, "boom"));
    CHECK_FALSE(send_resync_batch(config, b, t, [] { return kNow; }).has_value());
    CHECK(t.requests.size() == 1);
}

TEST_CASE("send resync batch: an invalid or missing secret sends nothing") {
    ResyncBatch b;
    b.run_id = "run1";
    WebhookConfig config;
    config.url = "https://hooks.example/resync";
    ScriptedTransport t;
    t.then_json(obj("{}"));
    CHECK_FALSE(send_resync_batch(config, b, t, [] { return kNow; }).has_value());
    config.secrets = {"whsec_!!not-base64!!"};
    CHECK_FALSE(send_resync_batch(config, b, t, [] { return kNow; }).has_value());
    // One good secret beside a bad one is still refused.
    config.secrets = {generate_webhook_secret(), "whsec_!!not-base64!!"};
    CHECK_FALSE(send_resync_batch(config, b, t, [] { return kNow; }).has_value());
    CHECK(t.requests.empty());
}

// ---- read_back --------------------------------------------------------------------------------

TEST_CASE("read_back: follows RFC 9865 cursors to the last page") {
    ScriptedTransport t;
    t.then_json(list_page({"r1", "r2"}, 5, "c2"))
        .then_json(list_page({"r3", "r4"}, 5, "c3"))
        .then_json(list_page({"r5"}, 5));
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_MESSAGE(rb.has_value(), (rb.has_value() ? "" : rb.error().detail));
    CHECK(rb->users.size() == 5);
    CHECK(rb->groups.size() == 0);
    CHECK(rb->requests == 3);
    CHECK(remote_ids(rb->users) == Names{"r1", "r2", "r3", "r4", "r5"});

    REQUIRE(t.requests.size() == 3);
    CHECK(t.requests[0].method == "GET");
    CHECK(t.requests[0].url.rfind("https://app.example/scim/v2/Users?", 0) == 0);
    CHECK(contains(t.requests[0].url, "count=2"));
    CHECK(contains(t.requests[0].url, "cursor="));
    CHECK(contains(t.requests[1].url, "cursor=c2"));
    CHECK(contains(t.requests[2].url, "cursor=c3"));
    for (const HttpRequest& r : t.requests) {
        CHECK_FALSE(contains(r.url, "startIndex"));
        CHECK(r.headers.at("Authorization") == "Bearer app-token-123");
    }
}

TEST_CASE("read_back: a server refusing cursor= pages by startIndex until totalResults") {
    ScriptedTransport t;
    t.then(status_reply(400, R"({"status":"400","detail":"unknown parameter cursor"})"))
        .then_json(list_page({"r1", "r2"}, 5))
        .then_json(list_page({"r3", "r4"}, 5))
        .then_json(list_page({"r5"}, 5));
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_MESSAGE(rb.has_value(), (rb.has_value() ? "" : rb.error().detail));
    CHECK(remote_ids(rb->users) == Names{"r1", "r2", "r3", "r4", "r5"});
    CHECK(rb->requests == 4);
    REQUIRE(t.requests.size() == 4);
    CHECK(contains(t.requests[0].url, "cursor="));
    CHECK(contains(t.requests[1].url, "startIndex=1"));
    CHECK(contains(t.requests[2].url, "startIndex=3"));
    CHECK(contains(t.requests[3].url, "startIndex=5"));
    for (std::size_t i = 1; i < t.requests.size(); ++i) {
        CHECK_FALSE(contains(t.requests[i].url, "cursor"));
    }
}

TEST_CASE("read_back: index paging stops at totalResults on a full last page") {
    ScriptedTransport t;
    t.then(status_reply(400))
        .then_json(list_page({"r1", "r2"}, 4))
        .then_json(list_page({"r3", "r4"}, 4));
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_MESSAGE(rb.has_value(), (rb.has_value() ? "" : rb.error().detail));
    CHECK(rb->users.size() == 4);
    CHECK(t.requests.size() == 3);  // no request for an empty fourth page
}

TEST_CASE("read_back: a server ignoring cursor= is read on by startIndex") {
    ScriptedTransport t;
    t.then_json(list_page({"r1", "r2"}, 5))  // no nextCursor though 5 exist
        .then_json(list_page({"r3", "r4"}, 5))
        .then_json(list_page({"r5"}, 5));
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_MESSAGE(rb.has_value(), (rb.has_value() ? "" : rb.error().detail));
    CHECK(remote_ids(rb->users) == Names{"r1", "r2", "r3", "r4", "r5"});
    REQUIRE(t.requests.size() == 3);
    CHECK(contains(t.requests[1].url, "startIndex=3"));
    CHECK_FALSE(contains(t.requests[1].url, "cursor"));
    CHECK(contains(t.requests[2].url, "startIndex=5"));
}

TEST_CASE("read_back: a server ignoring cursor= without totalResults is read on until an empty page") {
    ScriptedTransport t;
    json::object first = list_page({"r1", "r2"}, 0);
    first.erase("totalResults");
    json::object second = list_page({"r3"}, 0);  // fewer than asked: not the end without a total
    second.erase("totalResults");
    json::object third = list_page({}, 0);
    third.erase("totalResults");
    t.then_json(first).then_json(second).then_json(third);
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_MESSAGE(rb.has_value(), (rb.has_value() ? "" : rb.error().detail));
    CHECK(remote_ids(rb->users) == Names{"r1", "r2", "r3"});
    REQUIRE(t.requests.size() == 3);
    CHECK(contains(t.requests[1].url, "startIndex=3"));
    CHECK(contains(t.requests[2].url, "startIndex=4"));
}

TEST_CASE("read_back: an expired cursor mid-walk fails the read instead of restarting by index") {
    ScriptedTransport t;
    t.then_json(list_page({"r1", "r2"}, 5, "c2"))
        .then(status_reply(400, R"({"status":"400","scimType":"expiredCursor"})"));
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_FALSE(rb.has_value());
    CHECK(t.requests.size() == 2);
}

TEST_CASE("read_back: a resource listed twice fails the read") {
    ScriptedTransport t;
    t.then_json(list_page({"r1", "r2"}, 4, "c2")).then_json(list_page({"r2", "r3"}, 4));
    const auto rb = read_back(scim_app(), t, false, pages_of(2));
    REQUIRE_FALSE(rb.has_value());
    CHECK(contains(rb.error().detail, "r2"));
}

TEST_CASE("read_back: a failed page fails the whole read, never a partial list") {
    SUBCASE("500 on the second cursor page") {
        ScriptedTransport t;
        t.then_json(list_page({"r1", "r2"}, 4, "c2")).then(status_reply(500));
        CHECK_FALSE(read_back(scim_app(), t, false, pages_of(2)).has_value());
    }
    SUBCASE("401 on the first page") {
        ScriptedTransport t;
        t.then(status_reply(401, R"({"detail":"bad token"})"));
        const auto rb = read_back(scim_app(), t, false, pages_of(2));
        REQUIRE_FALSE(rb.has_value());
        CHECK(t.requests.size() == 1);  // not mistaken for a server without cursors
    }
    SUBCASE("500 on a startIndex page") {
        ScriptedTransport t;
        t.then(status_reply(400)).then_json(list_page({"r1", "r2"}, 4)).then(status_reply(500));
        CHECK_FALSE(read_back(scim_app(), t, false, pages_of(2)).has_value());
    }
    SUBCASE("the app unreachable") {
        ScriptedTransport t;  // nothing scripted: connection errors
        CHECK_FALSE(read_back(scim_app(), t, false, pages_of(2)).has_value());
    }
    SUBCASE("a short page before totalResults") {
        ScriptedTransport t;
        t.then(status_reply(400)).then_json(list_page({"r1", "r2"}, 5)).then_json(list_page({"r3"}, 5));
        CHECK_FALSE(read_back(scim_app(), t, false, pages_of(2)).has_value());
    }
    SUBCASE("not a list response") {
        ScriptedTransport t;
        t.then_json(obj(R"({"Resources":{"id":"r1"}})"));
        CHECK_FALSE(read_back(scim_app(), t, false, pages_of(2)).has_value());
    }
    SUBCASE("groups fail after users were read") {
        ScriptedTransport t;
        t.then_json(list_page({"r1"}, 1)).then(status_reply(503));
        CHECK_FALSE(read_back(scim_app(), t, true, pages_of(2)).has_value());
    }
}

TEST_CASE("read_back: groups with members, and the users' active and externalId") {
    ScriptedTransport t;
    t.then_json(obj(R"({"totalResults":2,"Resources":[)"
                    R"({"id":"r1","userName":"a@x.io","active":false,"externalId":"u-a"},)"
                    R"({"id":"r2","userName":"b@x.io"}]})"))
        .then_json(obj(R"({"totalResults":1,"Resources":[)"
                       R"({"id":"g1","displayName":"Staff","members":[{"value":"r1"},{"value":"r2","display":"B"}]}]})"));
    auto rb = read_back(scim_app(), t, true, pages_of(10));
    REQUIRE_MESSAGE(rb.has_value(), (rb.has_value() ? "" : rb.error().detail));
    CHECK(rb->requests == 2);
    REQUIRE(t.requests.size() == 2);
    CHECK(t.requests[1].url.rfind("https://app.example/scim/v2/Groups?", 0) == 0);
    CHECK(t.requests[1].headers.at("Authorization") == "Bearer app-token-123");

    const HeldResource* a = rb->users.claim(std::nullopt, std::string("u-a"));
    REQUIRE(a != nullptr);
    CHECK(a->remote_id == "r1");
    CHECK_FALSE(a->active);
    CHECK(a->resource.at("userName") == "a@x.io");
    const HeldResource* b = rb->users.claim(std::string("r2"), std::nullopt);
    REQUIRE(b != nullptr);
    CHECK(b->active);  // absent counts as active

    REQUIRE(rb->groups.size() == 1);
    const HeldResource* g = rb->groups.claim(std::string("g1"), std::nullopt);
    REQUIRE(g != nullptr);
    CHECK(g->member_remote_ids == Names{"r1", "r2"});
    // Users carry no member list.
    CHECK(a->member_remote_ids.empty());
}

}  // TEST_SUITE

// ---- three_way_diff -------------------------------------------------------------------------

TEST_CASE("three_way_diff: one line per person across the directory and every app") {
    const json::array directories{json::parse(R"({
        "key": "directory:d1", "id": 7, "dry_run": true, "state": "succeeded",
        "report": {"source": "d1", "create_users": 1, "update_users": 1, "delete_users": 1,
          "samples": {"create_users": [{"externalId": "src-new"}],
                      "update_users": [{"id": "c1", "externalId": "src-1", "attributes": ["title"]}],
                      "delete_users": [{"id": "c2", "externalId": "src-2"}]}}})")};
    const json::array apps{json::parse(R"({
        "key": "reconcile:a1", "id": 8, "dry_run": true, "state": "succeeded",
        "report": {"app": "a1", "name": "portal", "users": {"checked": 3, "missing": 1, "stale": 1,
          "samples": {"missing": [{"id": "c1"}], "stale": [{"id": "c3", "attributes": ["displayName"]}]}},
          "orphans": {"found": 2, "samples": [{"type": "User", "id": "r9", "externalId": "c2"},
                                               {"type": "User", "id": "r8", "externalId": "stranger"}]}}})")};
    const json::object diff = three_way_diff(directories, apps);
    REQUIRE(diff.at("directories").as_array().size() == 1);
    CHECK(diff.at("directories").at(0).at("update_users") == 1);
    REQUIRE(diff.at("apps").as_array().size() == 1);
    CHECK(diff.at("apps").at(0).at("users").at("missing") == 1);
    CHECK_FALSE(diff.at("apps").at(0).at("users").as_object().contains("samples"));  // people list them

    std::map<std::string, json::object> by_key;
    for (const json::value& p : diff.at("people").as_array()) {
        const json::object& o = p.as_object();
        by_key[o.contains("id") ? std::string(o.at("id").as_string()) : "ext:" + std::string(o.at("externalId").as_string())] = o;
    }
    CHECK(by_key.size() == 5);
    // c1: the directory changes a title, and the portal lacks the account.
    CHECK(by_key["c1"].at("directory").at("change") == "update");
    CHECK(by_key["c1"].at("externalId") == "src-1");
    CHECK(by_key["c1"].at("apps").at("portal").at("drift") == "missing");
    // c2: gone from the directory, and the portal still holds it (matched by externalId).
    CHECK(by_key["c2"].at("directory").at("change") == "delete");
    CHECK(by_key["c2"].at("apps").at("portal").at("drift") == "orphan");
    // c3: only the portal differs, with the attribute named.
    CHECK_FALSE(by_key["c3"].contains("directory"));
    CHECK(by_key["c3"].at("apps").at("portal").at("attributes").at(0) == "displayName");
    // Only in the directory, and only in the app.
    CHECK(by_key["ext:src-new"].at("directory").at("change") == "create");
    CHECK(by_key["ext:src-new"].at("apps").as_object().empty());
    CHECK(by_key["ext:stranger"].at("apps").at("portal").at("drift") == "orphan");
}
