#include "tests/support/scripted_transport.hpp"
#include "mappers/connector.hpp"
#include "mappers/webhook_signature.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;
using Kind = DeliveryResult::Kind;
using std::chrono::seconds;

using scimbridge::tests::ScriptedTransport;
using scimbridge::tests::status_reply;

namespace {

const auto kNow = scimbridge::tests::kScriptNow;
constexpr std::int64_t kNowUnix = scimbridge::tests::kScriptNowUnix;

WallClock fixed_clock() {
    return [] { return kNow; };
}

HttpResponse transport_failure(HttpResponse::Outcome outcome) {
    HttpResponse r;
    r.outcome = outcome;
    r.error = "it broke";
    return r;
}

std::string list_response(const std::vector<std::pair<std::string, std::string>>& id_and_ext) {
    json::array resources;
    for (const auto& [id, ext] : id_and_ext) {
        resources.emplace_back(json::object{{"id", id}, {"externalId", ext}});
    }
    return json::serialize(
        json::object{{"schemas", json::array{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}},
                     {"totalResults", resources.size()},
                     {"Resources", resources}});
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(
                static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// The decoded filter of a GET .../Users?filter=... request.
std::string filter_of(const HttpRequest& r) {
    const auto q = r.url.find("?filter=");
    REQUIRE(q != std::string::npos);
    return percent_decode(std::string_view(r.url).substr(q + 8));
}

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kSecret2 = "whsec_bm90IGEgcmVhbCBzZWNyZXQsIGp1c3QgYSB0ZXN0";

OutboundEvent user_event(EventType type) {
    OutboundEvent e;
    e.id = "evt-1";
    e.type = type;
    e.tenant_id = "acme";
    e.app_id = "app-1";
    e.app_name = "Wiki";
    e.resource_id = "2819c223-7f76-453a-919d-413861904646";
    e.version = 7;
    e.occurred_at = "2026-03-04T05:06:00Z";
    e.data = json::object{{"userName", "bjensen@example.com"},
                          {"name", json::object{{"givenName", "Barbara"}}}};
    e.state = AccountState::kActive;
    e.previous_state = AccountState::kInvited;
    return e;
}

OutboundEvent group_event(EventType type, std::size_t added_members = 0) {
    OutboundEvent e;
    e.id = "evt-g";
    e.type = type;
    e.tenant_id = "acme";
    e.app_id = "app-1";
    e.app_name = "Wiki";
    e.resource_id = "e9e30dba-f08f-4109-8486-d5c6a331660a";
    e.version = 3;
    e.occurred_at = "2026-03-04T05:06:00Z";
    e.data = json::object{{"displayName", "Tour Guides"}};
    for (std::size_t i = 0; i < added_members; ++i) {
        e.members_added.push_back({"m" + std::to_string(i), "r" + std::to_string(i)});
    }
    return e;
}

ScimTargetConfig scim_config() {
    ScimTargetConfig c;
    c.base_url = "https://app.example.com/scim/v2/";  // the trailing slash must not double
    c.bearer_token = "tok-123";
    c.deadline = std::chrono::milliseconds{7000};
    return c;
}

std::size_t add_count(const json::object& patch) {
    const auto& ops = patch.at("Operations").as_array();
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].at("op") == "add");
    CHECK(ops[0].at("path") == "members");
    return ops[0].at("value").as_array().size();
}

}  // namespace

TEST_SUITE("mappers.connector") {
    TEST_CASE("connector classify: 2xx done, 400 410 413 422 permanent, the rest retries") {
        for (const int s : {200, 201, 202, 204, 299}) {
            CAPTURE(s);
            const DeliveryResult r = classify(status_reply(s), kNow);
            CHECK(r.kind == Kind::kDone);
            CHECK(r.status == s);
        }
        for (const int s : {400, 410, 413, 422}) {
            CAPTURE(s);
            CHECK(classify(status_reply(s), kNow).kind == Kind::kPermanent);
        }
        for (const int s :
             {301, 302, 307, 308, 401, 403, 404, 405, 408, 409, 429, 500, 502, 503, 504}) {
            CAPTURE(s);
            const DeliveryResult r = classify(status_reply(s), kNow);
            CHECK(r.kind == Kind::kRetry);
            CHECK(r.status == s);
        }
    }

    TEST_CASE("connector classify: transport failures retry, except a refused target") {
        using O = HttpResponse::Outcome;
        for (const O o : {O::kTimeout, O::kConnectError, O::kTlsError, O::kProtocolError}) {
            const DeliveryResult r = classify(transport_failure(o), kNow);
            CHECK(r.kind == Kind::kRetry);
            CHECK(r.status == 0);
            CHECK(r.detail.find("it broke") != std::string::npos);
        }
        for (const O o : {O::kBadUrl, O::kForbiddenTarget}) {
            CHECK(classify(transport_failure(o), kNow).kind == Kind::kPermanent);
        }
    }

    TEST_CASE("connector classify: RFC 9110 10.2.3 Retry-After") {
        const auto after = [](int status, std::string value) {
            return classify(status_reply(status, "", {{"retry-after", std::move(value)}}), kNow)
                .retry_after;
        };
        SUBCASE("delta-seconds on 429 and 503") {
            CHECK(after(429, "120") == seconds{120});
            CHECK(after(503, " 0 ") == seconds{0});
        }
        SUBCASE("IMF-fixdate relative to now, rounded up, the past is 0") {
            CHECK(after(429, "Wed, 04 Mar 2026 05:07:37 GMT") == seconds{90});
            CHECK(after(503, "Wed, 04 Mar 2026 05:00:00 GMT") == seconds{0});
            const auto half =
                classify(status_reply(429, "", {{"retry-after", "Wed, 04 Mar 2026 05:06:10 GMT"}}),
                         kNow + std::chrono::milliseconds{500})
                    .retry_after;
            CHECK(half == seconds{3});
        }
        SUBCASE("capped at one day") {
            CHECK(after(429, "99999999999999999999999") == seconds{86400});
            CHECK(after(429, "Fri, 01 Jan 2100 00:00:00 GMT") == seconds{86400});
        }
        SUBCASE("garbage is ignored") {
            CHECK_FALSE(after(429, "soon").has_value());
            CHECK_FALSE(after(429, "-5").has_value());
            CHECK_FALSE(after(429, "1.5").has_value());
            CHECK_FALSE(after(429, "").has_value());
            CHECK_FALSE(after(429, "Wed, 31 Feb 2026 05:07:37 GMT").has_value());
            CHECK_FALSE(after(429, "Wed, 04 Mar 2026 25:07:37 GMT").has_value());
            CHECK_FALSE(after(429, "Wed, 04 Mar 2026 05:07:37 UTC").has_value());
        }
        SUBCASE("only on 429 and 503") {
            CHECK_FALSE(after(500, "120").has_value());
            CHECK_FALSE(after(200, "120").has_value());
        }
    }

    TEST_CASE("connector classify: the detail is short, one line, and reads a SCIM error") {
        const std::string noisy = "line one\r\nline\ttwo\x01" + std::string(5000, 'x');
        const DeliveryResult r = classify(status_reply(500, noisy), kNow);
        CHECK(r.detail.size() < 260);
        CHECK(r.detail.find('\n') == std::string::npos);
        CHECK(r.detail.find('\x01') == std::string::npos);
        CHECK(r.detail.rfind("HTTP 500: line one line two", 0) == 0);

        const DeliveryResult scim_error =
            classify(status_reply(409,
                           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],)"
                           R"("status":"409","scimType":"uniqueness","detail":"userName taken"})"),
                     kNow);
        CHECK(scim_error.detail == "HTTP 409: userName taken");
    }

    TEST_CASE("connector event type names") {
        CHECK(to_string(EventType::kUserCreated) == "user.created");
        CHECK(to_string(EventType::kUserReactivated) == "user.reactivated");
        CHECK(to_string(EventType::kGroupDeleted) == "group.deleted");
        CHECK(is_user_event(EventType::kUserDeleted));
        CHECK_FALSE(is_user_event(EventType::kGroupUpdated));
    }

    TEST_CASE("webhook connector: the body of a user event") {
        OutboundEvent e = user_event(EventType::kUserUpdated);
        e.previous = json::object{{"userName", "babs@example.com"}};
        e.remote_id = "acct-9";
        const json::object b = webhook_body(e);
        CHECK(b.at("id") == "evt-1");
        CHECK(b.at("type") == "user.updated");
        CHECK(b.at("timestamp") == "2026-03-04T05:06:00Z");
        CHECK(b.at("tenant") == "acme");
        CHECK(b.at("app") == json::value(json::object{{"id", "app-1"}, {"name", "Wiki"}}));
        CHECK(b.at("resource") ==
              json::value(json::object{{"type", "User"}, {"id", e.resource_id}, {"version", 7}}));
        CHECK(b.at("data") == json::value(e.data));
        CHECK(b.at("previous") == json::value(e.previous));
        CHECK(b.at("account") ==
              json::value(json::object{{"state", "active"}, {"previous_state", "invited"}}));
        CHECK(b.at("remote_id") == "acct-9");
        CHECK_FALSE(b.contains("members_added"));
    }

    TEST_CASE("webhook connector: the body of a group event") {
        OutboundEvent e = group_event(EventType::kGroupUpdated, 1);
        e.members_removed.push_back({"m-x", std::nullopt});
        const json::object b = webhook_body(e);
        CHECK(b.at("type") == "group.updated");
        CHECK(b.at("resource").at("type") == "Group");
        CHECK_FALSE(b.contains("account"));
        CHECK_FALSE(b.contains("remote_id"));
        CHECK(b.at("members_added") ==
              json::value(json::array{json::object{{"id", "m0"}, {"remote_id", "r0"}}}));
        CHECK(b.at("members_removed") == json::value(json::array{json::object{{"id", "m-x"}}}));
    }

    TEST_CASE("webhook connector: Standard Webhooks POST whose signature verifies") {
        WebhookConfig config{
            "https://hooks.example.com/in?k=1", {kSecret}, std::chrono::seconds{9}};
        const auto connector = make_webhook_connector(config, fixed_clock());
        ScriptedTransport t;
        t.then(status_reply(204));
        const OutboundEvent e = user_event(EventType::kUserCreated);
        const DeliveryResult r = connector->deliver(e, t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.requests == 1);
        REQUIRE(t.requests.size() == 1);
        const HttpRequest& q = t.requests[0];
        CHECK(q.method == "POST");
        CHECK(q.url == config.url);
        CHECK(q.deadline == std::chrono::milliseconds{9000});
        CHECK(q.headers.at("Content-Type") == "application/json");
        CHECK(q.headers.at("webhook-id") == "evt-1");
        CHECK(q.headers.at("webhook-timestamp") == std::to_string(kNowUnix));
        CHECK(json::parse(q.body) == json::value(webhook_body(e)));
        const std::string& sig = q.headers.at("webhook-signature");
        CHECK(sig.rfind("v1,", 0) == 0);
        CHECK(verify_webhook({kSecret}, "evt-1", std::to_string(kNowUnix), sig, q.body, kNow));
        CHECK_FALSE(
            verify_webhook({kSecret}, "evt-1", std::to_string(kNowUnix), sig, q.body + " ", kNow));
    }

    TEST_CASE("webhook connector: two secrets while rotating give two signatures") {
        const auto connector = make_webhook_connector(
            WebhookConfig{"https://hooks.example.com/in", {kSecret, kSecret2}}, fixed_clock());
        ScriptedTransport t;
        t.then(status_reply(200));
        CHECK(connector->deliver(user_event(EventType::kUserUpdated), t).kind == Kind::kDone);
        REQUIRE(t.requests.size() == 1);
        const HttpRequest& q = t.requests[0];
        const std::string& sig = q.headers.at("webhook-signature");
        const auto space = sig.find(' ');
        REQUIRE(space != std::string::npos);
        CHECK(sig.find(' ', space + 1) == std::string::npos);
        const std::string ts = q.headers.at("webhook-timestamp");
        // A receiver that knows only one of the secrets accepts the delivery.
        CHECK(verify_webhook({kSecret}, "evt-1", ts, sig, q.body, kNow));
        CHECK(verify_webhook({kSecret2}, "evt-1", ts, sig, q.body, kNow));
        CHECK(verify_webhook({kSecret2}, "evt-1", ts, sig.substr(space + 1), q.body, kNow));
    }

    TEST_CASE("webhook connector: an account id in the answer becomes the remote id") {
        const auto connector = make_webhook_connector(
            WebhookConfig{"https://hooks.example.com/in", {kSecret}}, fixed_clock());
        const auto remote_of = [&connector](HttpResponse answer) {
            ScriptedTransport t;
            t.then(std::move(answer));
            return connector->deliver(user_event(EventType::kUserCreated), t).remote_id;
        };
        CHECK(remote_of(status_reply(200, R"({"account_id":"u-77"})")) == "u-77");
        CHECK(remote_of(status_reply(201, R"({"id":12345})")) == "12345");
        CHECK(remote_of(status_reply(200, R"({"remote_id":"r-1","other":true})")) == "r-1");
        CHECK_FALSE(remote_of(status_reply(200, "thanks!")).has_value());
        CHECK_FALSE(remote_of(status_reply(200, R"(["u-77"])")).has_value());
        HttpResponse truncated = status_reply(200, R"({"account_id":"u-77"})");
        truncated.body_truncated = true;
        CHECK_FALSE(remote_of(truncated).has_value());
        CHECK_FALSE(remote_of(status_reply(500, R"({"account_id":"u-77"})")).has_value());
    }

    TEST_CASE("webhook connector: 500 and 429 retry, 410 gives up") {
        const auto connector = make_webhook_connector(
            WebhookConfig{"https://hooks.example.com/in", {kSecret}}, fixed_clock());
        ScriptedTransport t;
        t.then(status_reply(500)).then(status_reply(429, "", {{"retry-after", "30"}})).then(status_reply(410));
        const OutboundEvent e = user_event(EventType::kUserUpdated);
        CHECK(connector->deliver(e, t).kind == Kind::kRetry);
        const DeliveryResult limited = connector->deliver(e, t);
        CHECK(limited.kind == Kind::kRetry);
        CHECK(limited.retry_after == seconds{30});
        const DeliveryResult gone = connector->deliver(e, t);
        CHECK(gone.kind == Kind::kPermanent);
        CHECK(gone.status == 410);
        // Retries are the same delivery: same webhook-id.
        CHECK(t.requests[0].headers.at("webhook-id") == t.requests[2].headers.at("webhook-id"));
    }

    TEST_CASE("webhook connector: an invalid secret keeps the event and sends nothing") {
        const auto connector = make_webhook_connector(
            WebhookConfig{"https://hooks.example.com/in", {"whsec_!!"}}, fixed_clock());
        ScriptedTransport t;
        const DeliveryResult r = connector->deliver(user_event(EventType::kUserUpdated), t);
        CHECK(r.kind == Kind::kRetry);
        CHECK(t.requests.empty());
        CHECK(r.detail.find("whsec") == std::string::npos);
    }

    TEST_CASE("scim connector: RFC 7644 3.3 user.created POSTs a User and learns its id") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        ScriptedTransport t;
        t.then(status_reply(201, R"({"id":"remote-1","userName":"bjensen@example.com"})"));
        const DeliveryResult r = connector->deliver(user_event(EventType::kUserCreated), t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.remote_id == "remote-1");
        CHECK(r.requests == 1);
        CHECK(r.status == 201);
        REQUIRE(t.requests.size() == 1);
        const HttpRequest& q = t.requests[0];
        CHECK(q.method == "POST");
        CHECK(q.url == "https://app.example.com/scim/v2/Users");
        CHECK(q.deadline == std::chrono::milliseconds{7000});
        CHECK(q.headers.at("Authorization") == "Bearer tok-123");
        CHECK(q.headers.at("Content-Type") == "application/scim+json");
        CHECK(q.headers.at("Accept") == "application/scim+json");
        const json::object b = t.body(0);
        CHECK(b.at("schemas") ==
              json::value(json::array{"urn:ietf:params:scim:schemas:core:2.0:User"}));
        CHECK(b.at("userName") == "bjensen@example.com");
        CHECK(b.at("name").at("givenName") == "Barbara");
        CHECK(b.at("externalId") == "2819c223-7f76-453a-919d-413861904646");
        CHECK(b.at("active") == true);
        CHECK_FALSE(b.contains("id"));
    }

    TEST_CASE("scim connector: a create answered without an id is looked up by externalId") {
    const auto connector = make_scim_connector(scim_config(), fixed_clock());
    const OutboundEvent e = user_event(EventType::kUserCreated);
    ScriptedTransport t;
    t.then(status_reply(201)).then(status_reply(200, list_response({{"remote-3", e.resource_id}})));
    const DeliveryResult r = connector->deliver(e, t);
    CHECK(r.kind == Kind::kDone);
    CHECK(r.remote_id == "remote-3");
    CHECK(r.requests == 2);
    REQUIRE(t.requests.size() == 2);
    CHECK(t.requests[1].method == "GET");
}

TEST_CASE("scim connector: a mapped externalId and extension schemas are kept") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = user_event(EventType::kUserCreated);
        e.data["externalId"] = "emp-42";
        e.data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
            json::object{{"employeeNumber", "42"}};
        e.data["active"] = false;
        ScriptedTransport t;
        t.then(status_reply(201, R"({"id":"remote-1"})"));
        CHECK(connector->deliver(e, t).kind == Kind::kDone);
        const json::object b = t.body(0);
        CHECK(b.at("externalId") == "emp-42");
        CHECK(b.at("active") == true);
        CHECK(
            b.at("schemas") ==
            json::value(json::array{"urn:ietf:params:scim:schemas:core:2.0:User",
                                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}));
    }

    TEST_CASE("scim connector: create 409 adopts the account found by externalId, then PUTs it") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        const OutboundEvent e = user_event(EventType::kUserCreated);
        ScriptedTransport t;
        t.then(status_reply(409, R"({"status":"409","scimType":"uniqueness"})"))
            .then(status_reply(200, list_response({{"remote-7", e.resource_id}})))
            .then(status_reply(200, R"({"id":"remote-7"})"));
        const DeliveryResult r = connector->deliver(e, t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.remote_id == "remote-7");
        CHECK(r.requests == 3);
        REQUIRE(t.requests.size() == 3);
        CHECK(t.requests[1].method == "GET");
        CHECK(t.requests[1].url.rfind("https://app.example.com/scim/v2/Users?filter=", 0) == 0);
        CHECK(t.requests[1].body.empty());
        CHECK(filter_of(t.requests[1]) ==
              R"(externalId eq "2819c223-7f76-453a-919d-413861904646")");
        CHECK(t.requests[2].method == "PUT");
        CHECK(t.requests[2].url == "https://app.example.com/scim/v2/Users/remote-7");
        const json::object put = t.body(2);
        CHECK(put.at("id") == "remote-7");
        CHECK(put.at("userName") == "bjensen@example.com");
        CHECK(put.at("active") == true);
    }

    TEST_CASE("scim connector: 409 falls back to userName when externalId finds nothing") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        ScriptedTransport t;
        t.then(status_reply(409))
            .then(status_reply(200, list_response({})))
            .then(status_reply(200, R"({"Resources":[{"id":"r-5","userName":"BJensen@example.com"}]})"))
            .then(status_reply(200));
        const DeliveryResult r = connector->deliver(user_event(EventType::kUserCreated), t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.remote_id == "r-5");
        REQUIRE(t.requests.size() == 4);
        CHECK(filter_of(t.requests[2]) == R"(userName eq "bjensen@example.com")");
        CHECK(t.requests[3].method == "PUT");
    }

    TEST_CASE("scim connector: 409 with no match retries, several matches give up") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        const OutboundEvent e = user_event(EventType::kUserCreated);
        SUBCASE("no match") {
            ScriptedTransport t;
            t.then(status_reply(409))
                .then(status_reply(200, list_response({})))
                .then(status_reply(200, list_response({})));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kRetry);
            CHECK_FALSE(r.remote_id.has_value());
            CHECK(r.requests == 3);
            CHECK(r.detail.find("no account matches") != std::string::npos);
        }
        SUBCASE("several") {
            ScriptedTransport t;
            t.then(status_reply(409))
                .then(status_reply(200, list_response({{"a", e.resource_id}, {"b", e.resource_id}})));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kPermanent);
            CHECK(r.requests == 2);
            CHECK(r.detail.find("2 accounts match") != std::string::npos);
        }
        SUBCASE("a server that ignores the filter is not believed") {
            ScriptedTransport t;
            t.then(status_reply(409))
                .then(status_reply(200, list_response({{"someone-else", "other-ext"}})))
                .then(status_reply(200, R"({"Resources":[{"id":"x","userName":"nobody@example.com"}]})"));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kRetry);
            CHECK_FALSE(r.remote_id.has_value());
        }
        SUBCASE("the lookup failing ends the attempt with its class") {
            ScriptedTransport t;
            t.then(status_reply(409)).then(status_reply(503, "", {{"retry-after", "60"}}));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kRetry);
            CHECK(r.status == 503);
            CHECK(r.retry_after == seconds{60});
            CHECK(r.detail.rfind("GET /Users: HTTP 503", 0) == 0);
        }
    }

    TEST_CASE("scim connector: filter literals escape quote and backslash") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = user_event(EventType::kUserCreated);
        e.data["externalId"] = R"(a"b\c d&e=f)";
        ScriptedTransport t;
        t.then(status_reply(409))
            .then(status_reply(200, list_response({{"r-1", R"(a"b\c d&e=f)"}})))
            .then(status_reply(200));
        CHECK(connector->deliver(e, t).remote_id == "r-1");
        REQUIRE(t.requests.size() >= 2);
        const std::string& url = t.requests[1].url;
        const std::string query = url.substr(url.find('?') + 1);
        // Nothing in the query may be read as a separator or a space by the server.
        CHECK(query.substr(7).find_first_of(" \"&=\\") == std::string::npos);
        CHECK(filter_of(t.requests[1]) == R"(externalId eq "a\"b\\c d&e=f")");
    }

    TEST_CASE(
        "scim connector: update with a remote id PUTs, and a vanished account is created again") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = user_event(EventType::kUserUpdated);
        e.remote_id = "remote/1";
        SUBCASE("PUT") {
            ScriptedTransport t;
            t.then(status_reply(200, R"({"id":"remote/1"})"));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kDone);
            CHECK(r.requests == 1);
            REQUIRE(t.requests.size() == 1);
            CHECK(t.requests[0].method == "PUT");
            CHECK(t.requests[0].url == "https://app.example.com/scim/v2/Users/remote%2F1");
            const json::object b = t.body(0);
            CHECK(b.at("id") == "remote/1");
            CHECK(b.at("externalId") == json::value(e.resource_id));
            CHECK(b.at("active") == true);
        }
        SUBCASE("404 then POST") {
            ScriptedTransport t;
            t.then(status_reply(404)).then(status_reply(201, R"({"id":"remote-2"})"));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kDone);
            CHECK(r.remote_id == "remote-2");
            CHECK(r.requests == 2);
            REQUIRE(t.requests.size() == 2);
            CHECK(t.requests[1].method == "POST");
            CHECK(t.requests[1].url == "https://app.example.com/scim/v2/Users");
            CHECK_FALSE(t.body(1).contains("id"));
        }
        SUBCASE("reactivation is a PUT with active true") {
            e.type = EventType::kUserReactivated;
            ScriptedTransport t;
            t.then(status_reply(200));
            CHECK(connector->deliver(e, t).kind == Kind::kDone);
            CHECK(t.body(0).at("active") == true);
        }
    }

    TEST_CASE("scim connector: deactivation PATCHes active false") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = user_event(EventType::kUserDeactivated);
        e.data = {};
        SUBCASE("PATCH") {
            e.remote_id = "r-1";
            ScriptedTransport t;
            t.then(status_reply(204));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kDone);
            REQUIRE(t.requests.size() == 1);
            CHECK(t.requests[0].method == "PATCH");
            CHECK(t.requests[0].url == "https://app.example.com/scim/v2/Users/r-1");
            CHECK(json::parse(t.requests[0].body) ==
                  json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],)"
                              R"("Operations":[{"op":"replace","path":"active","value":false}]})"));
        }
        SUBCASE("no remote account: nothing to do") {
            ScriptedTransport t;
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kDone);
            CHECK(r.requests == 0);
            CHECK(r.detail == "no remote account");
        }
        SUBCASE("404 is done") {
            e.remote_id = "r-1";
            ScriptedTransport t;
            t.then(status_reply(404));
            CHECK(connector->deliver(e, t).kind == Kind::kDone);
        }
        SUBCASE("401 retries") {
            e.remote_id = "r-1";
            ScriptedTransport t;
            t.then(status_reply(401));
            const DeliveryResult r = connector->deliver(e, t);
            CHECK(r.kind == Kind::kRetry);
            CHECK(r.detail.find("tok-123") == std::string::npos);
        }
    }

    TEST_CASE("scim connector: user.deleted DELETEs only when the app deletes users") {
        OutboundEvent e = user_event(EventType::kUserDeleted);
        e.data = {};
        e.remote_id = "r-1";
        SUBCASE("delete_users") {
            ScimTargetConfig c = scim_config();
            c.delete_users = true;
            const auto connector = make_scim_connector(c, fixed_clock());
            ScriptedTransport t;
            t.then(status_reply(204)).then(status_reply(404));
            CHECK(connector->deliver(e, t).kind == Kind::kDone);
            CHECK(connector->deliver(e, t).kind == Kind::kDone);  // already gone
            CHECK(t.requests[0].method == "DELETE");
            CHECK(t.requests[0].url == "https://app.example.com/scim/v2/Users/r-1");
            CHECK(t.requests[0].body.empty());
        }
        SUBCASE("deactivate instead") {
            const auto connector = make_scim_connector(scim_config(), fixed_clock());
            ScriptedTransport t;
            t.then(status_reply(200));
            CHECK(connector->deliver(e, t).kind == Kind::kDone);
            REQUIRE(t.requests.size() == 1);
            CHECK(t.requests[0].method == "PATCH");
            CHECK(t.body(0).at("Operations").at(0).at("value") == false);
        }
    }

    TEST_CASE("scim connector: group create with 2500 members sends 1 POST and 3 PATCH chunks") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = group_event(EventType::kGroupCreated, 2500);
        e.data["members"] = json::array{json::object{{"value", "m0"}}};  // never in the POST
        ScriptedTransport t;
        t.then(status_reply(201, R"({"id":"g-1"})")).then(status_reply(200)).then(status_reply(204)).then(status_reply(200));
        const DeliveryResult r = connector->deliver(e, t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.remote_id == "g-1");
        CHECK(r.requests == 4);
        REQUIRE(t.requests.size() == 4);
        CHECK(t.requests[0].method == "POST");
        CHECK(t.requests[0].url == "https://app.example.com/scim/v2/Groups");
        const json::object post = t.body(0);
        CHECK(post.at("schemas") ==
              json::value(json::array{"urn:ietf:params:scim:schemas:core:2.0:Group"}));
        CHECK(post.at("displayName") == "Tour Guides");
        CHECK(post.at("externalId") == json::value(e.resource_id));
        CHECK_FALSE(post.contains("members"));
        CHECK_FALSE(post.contains("active"));
        std::vector<std::size_t> sizes;
        for (std::size_t i = 1; i < 4; ++i) {
            CHECK(t.requests[i].method == "PATCH");
            CHECK(t.requests[i].url == "https://app.example.com/scim/v2/Groups/g-1");
            sizes.push_back(add_count(t.body(i)));
        }
        CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
        CHECK(t.body(3).at("Operations").at(0).at("value").at(499).at("value") == "r2499");
    }

    TEST_CASE("scim connector: group create 409 adopts by displayName and PATCHes, never PUTs") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        ScriptedTransport t;
        t.then(status_reply(409))
            .then(status_reply(400, R"({"scimType":"invalidFilter"})"))  // no externalId filter here
            .then(status_reply(200, R"({"Resources":[{"id":"g-9","displayName":"Tour Guides"}]})"))
            .then(status_reply(200))
            .then(status_reply(200));
        const DeliveryResult r = connector->deliver(group_event(EventType::kGroupCreated, 2), t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.remote_id == "g-9");
        REQUIRE(t.requests.size() == 5);
        CHECK(filter_of(t.requests[2]) == R"(displayName eq "Tour Guides")");
        CHECK(t.requests[3].method == "PATCH");
        const json::object attrs = t.body(3);
        CHECK(attrs.at("Operations").at(0) ==
              json::value(json::object{
                  {"op", "replace"}, {"path", "displayName"}, {"value", "Tour Guides"}}));
        CHECK(add_count(t.body(4)) == 2);
    }

    TEST_CASE(
        "scim connector: group update replaces changed attributes and removes by value filter") {
        ScimTargetConfig c = scim_config();
        c.member_chunk = 2;
        const auto connector = make_scim_connector(c, fixed_clock());
        OutboundEvent e = group_event(EventType::kGroupUpdated, 1);
        e.remote_id = "g-1";
        e.previous = json::object{{"displayName", "Guides"}};
        e.members_added.push_back({"m-new", std::nullopt});  // no remote id: skipped
        e.members_removed = {{"m-a", "r\"a"}, {"m-b", "rb"}, {"m-c", "rc"}};
        ScriptedTransport t;
        t.then(status_reply(200)).then(status_reply(200)).then(status_reply(200)).then(status_reply(200));
        const DeliveryResult r = connector->deliver(e, t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.requests == 4);
        CHECK(r.detail.find("1 members without a remote id skipped") != std::string::npos);
        REQUIRE(t.requests.size() == 4);
        CHECK(t.body(0).at("Operations") ==
              json::value(json::array{json::object{
                  {"op", "replace"}, {"path", "displayName"}, {"value", "Tour Guides"}}}));
        CHECK(add_count(t.body(1)) == 1);
        const json::object first_removes = t.body(2);
        CHECK(first_removes.at("Operations") ==
              json::value(json::array{
                  json::object{{"op", "remove"}, {"path", R"(members[value eq "r\"a"])"}},
                  json::object{{"op", "remove"}, {"path", R"(members[value eq "rb"])"}}}));
        CHECK(t.body(3).at("Operations").as_array().size() == 1);
    }

    TEST_CASE("scim connector: a failing member chunk stops the attempt with retry") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = group_event(EventType::kGroupUpdated, 2500);
        e.remote_id = "g-1";
        ScriptedTransport t;
        t.then(status_reply(200)).then(status_reply(502)).then(status_reply(200));
        const DeliveryResult r = connector->deliver(e, t);
        CHECK(r.kind == Kind::kRetry);
        CHECK(r.status == 502);
        CHECK(r.requests == 2);
        CHECK(t.requests.size() == 2);
        CHECK(r.detail.rfind("PATCH /Groups/g-1: HTTP 502", 0) == 0);
    }

    TEST_CASE(
        "scim connector: group update without a remote id creates the group with its members") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = group_event(EventType::kGroupUpdated, 3);
        e.members_removed = {{"m-z", "rz"}};
        ScriptedTransport t;
        t.then(status_reply(201, R"({"id":"g-2"})")).then(status_reply(200));
        const DeliveryResult r = connector->deliver(e, t);
        CHECK(r.kind == Kind::kDone);
        CHECK(r.remote_id == "g-2");
        REQUIRE(t.requests.size() == 2);
        CHECK(t.requests[0].method == "POST");
        CHECK(add_count(t.body(1)) == 3);
    }

    TEST_CASE("scim connector: group.deleted DELETEs, and 404 is done") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        OutboundEvent e = group_event(EventType::kGroupDeleted);
        e.data = {};
        e.remote_id = "g-1";
        ScriptedTransport t;
        t.then(status_reply(404)).then(status_reply(500));
        CHECK(connector->deliver(e, t).kind == Kind::kDone);
        CHECK(connector->deliver(e, t).kind == Kind::kRetry);
        CHECK(t.requests[0].method == "DELETE");
        CHECK(t.requests[0].url == "https://app.example.com/scim/v2/Groups/g-1");
    }

    TEST_CASE("scim connector: a transport failure is classified and named") {
        const auto connector = make_scim_connector(scim_config(), fixed_clock());
        ScriptedTransport t;
        t.then(transport_failure(HttpResponse::Outcome::kForbiddenTarget));
        const DeliveryResult r = connector->deliver(user_event(EventType::kUserCreated), t);
        CHECK(r.kind == Kind::kPermanent);
        CHECK(r.status == 0);
        CHECK(r.detail.rfind("POST /Users: target not allowed", 0) == 0);
    }
}
