// PATCH and Bulk against the real server over TLS: Entra's and Okta's group push conversations in
// their own shapes (reference/idp-dialects.md), the rewrites they needed visible to the admin,
// a strict token refusing them, Bulk with bulkId references, and a property test: random PATCHes
// applied by the in-memory engine equal the same PATCHes sent to the server followed by GET.
#include "scim/patch.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <random>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;
namespace json = boost::json;
namespace scim = scimbridge::scim;

namespace {

json::object json_of(const Response& res) { return json::parse(res.body()).as_object(); }

constexpr const char* kPatchOp = R"("schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"])";

std::string patch_body(const std::string& operations) {
    return std::string("{") + kPatchOp + R"(,"Operations":)" + operations + "}";
}

struct Bridge {
    PgTestDatabase db;
    Env env{{"DATABASE_URL", db.dsn()}};
    std::string admin;
    std::unique_ptr<ServerProcess> server;

    explicit Bridge(std::vector<std::string> args = {}) {
        REQUIRE(run_cli({"tenant", "create", "acme"}, env).exit_code == 0);
        admin = token("admin", "generic");
        server = std::make_unique<ServerProcess>(std::move(args), env);
    }

    std::string token(const std::string& kind, const std::string& source, bool strict = false) {
        const CliResult made = run_cli({"token", "create", "--tenant", "acme", "--kind", kind, "--source",
                                        source, "--strict", strict ? "true" : "false"},
                                       env);
        REQUIRE_MESSAGE(made.exit_code == 0, made.err);
        return made.last_line();
    }

    Response call(const std::string& token, http::verb method, const std::string& target,
                  const std::string& body = "") {
        std::map<std::string, std::string> headers;
        if (!body.empty()) {
            headers["Content-Type"] = "application/scim+json";
        }
        return https_request(server->tls_port(),
                             {.method = method, .target = target, .token = token, .body = body, .headers = headers});
    }

    std::string create_user(const std::string& token, const std::string& user_name) {
        const Response r = call(token, http::verb::post, "/scim/v2/Users",
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" +
                                    user_name + R"(","displayName":")" + user_name + R"(","active":true})");
        REQUIRE(r.result_int() == 201);
        return std::string(json_of(r).at("id").as_string());
    }

    std::vector<std::string> member_ids(const std::string& token, const std::string& group) {
        const Response r = call(token, http::verb::get, "/scim/v2/Groups/" + group + "?attributes=members");
        REQUIRE(r.result_int() == 200);
        std::vector<std::string> out;
        const json::object group_json = json_of(r);  // outlives the loop
        if (const json::value* m = group_json.if_contains("members")) {
            for (const json::value& v : m->as_array()) {
                out.emplace_back(v.at("value").as_string());
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::string refs(const std::vector<std::string>& ids, bool entra_ref = false) {
    json::array a;
    for (const std::string& id : ids) {
        json::object o{{"value", id}};
        if (entra_ref) {
            o["$ref"] = nullptr;
        }
        a.push_back(std::move(o));
    }
    return json::serialize(a);
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_SUITE("e2e.patch") {
TEST_CASE("Entra group push: empty group, members in batches, remove one, rename, disable a user, delete") {
    Bridge bridge;
    const std::string entra = bridge.token("idp", "entra");
    std::vector<std::string> users;
    for (int i = 0; i < 12; ++i) {
        users.push_back(bridge.create_user(entra, "entra.user" + std::to_string(i) + "@contoso.com"));
    }
    // Entra creates groups empty, with its own schema URN next to the core one.
    const Response created = bridge.call(entra, http::verb::post, "/scim/v2/Groups", R"({
        "schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Group1DisplayName","meta":{"resourceType":"Group"}})");
    REQUIRE(created.result_int() == 201);
    const std::string group(json_of(created).at("id").as_string());

    // Members in batches, as Entra sends them: capitalised op, {"$ref": null, "value"} items. 204.
    for (std::size_t start = 0; start < users.size(); start += 5) {
        const std::vector<std::string> batch(users.begin() + static_cast<long>(start),
                                             users.begin() + static_cast<long>(std::min(start + 5, users.size())));
        const Response added = bridge.call(entra, http::verb::patch, "/scim/v2/Groups/" + group,
                                           patch_body(R"([{"op":"Add","path":"members","value":)" + refs(batch, true) + "}]"));
        CHECK(added.result_int() == 204);
        CHECK(added.body().empty());
    }
    CHECK(bridge.member_ids(entra, group) == sorted(users));

    // Remove one member by value list.
    const Response removed = bridge.call(entra, http::verb::patch, "/scim/v2/Groups/" + group,
                                         patch_body(R"([{"op":"Remove","path":"members","value":)" + refs({users[3]}, true) + "}]"));
    CHECK(removed.result_int() == 204);
    std::vector<std::string> expected = users;
    expected.erase(expected.begin() + 3);
    CHECK(bridge.member_ids(entra, group) == sorted(expected));

    // Rename; Entra reads groups back without members.
    CHECK(bridge.call(entra, http::verb::patch, "/scim/v2/Groups/" + group,
                      patch_body(R"([{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}])"))
              .result_int() == 204);
    const Response renamed = bridge.call(entra, http::verb::get, "/scim/v2/Groups/" + group + "?excludedAttributes=members");
    REQUIRE(renamed.result_int() == 200);
    CHECK(json_of(renamed).at("displayName") == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName");
    CHECK_FALSE(json_of(renamed).contains("members"));

    // Disable a user the way Entra's default job does: 200 with the user.
    const Response disabled = bridge.call(entra, http::verb::patch, "/scim/v2/Users/" + users[0],
                                          patch_body(R"([{"op":"Replace","path":"active","value":"False"}])"));
    REQUIRE(disabled.result_int() == 200);
    CHECK(json_of(disabled).at("active") == false);
    CHECK(disabled[http::field::etag] == "W/\"2\"");
    // Entra's filtered replace of a missing work email creates it.
    const Response email = bridge.call(entra, http::verb::patch, "/scim/v2/Users/" + users[1],
                                       patch_body(R"([{"op":"Replace","path":"emails[type eq \"work\"].value","value":"u1@contoso.com"}])"));
    REQUIRE(email.result_int() == 200);
    CHECK(json_of(email).at("emails").at(0).at("value") == "u1@contoso.com");

    // The admin can see what Entra's dialect needed, and so can Prometheus.
    const Response rewrites = bridge.call(bridge.admin, http::verb::get, "/admin/v1/dialect-rewrites");
    REQUIRE(rewrites.result_int() == 200);
    std::map<std::string, std::int64_t> counts;
    const json::object rewrites_json = json_of(rewrites);  // outlives the loop
    for (const json::value& r : rewrites_json.at("rewrites").as_array()) {
        CHECK(r.at("source") == "entra");
        counts[std::string(r.at("rewrite").as_string())] = r.at("requests").as_int64();
    }
    CHECK(counts["op_case"] == 7);  // 3 batches, remove, rename, disable, email
    CHECK(counts["remove_by_value"] == 1);
    CHECK(counts["bool_string"] == 1);
    CHECK(counts["replace_missing_filtered_creates"] == 1);
    CHECK(counts["unknown_schema_ignored"] == 1);
    CHECK(bridge.call(entra, http::verb::get, "/admin/v1/dialect-rewrites").result_int() == 403);
    const Response metrics = https_request(bridge.server->tls_port(), {.target = "/metrics"});
    CHECK(metrics.body().find(R"(scim_bridge_dialect_rewrites_total{tenant="acme",source="entra",rewrite="op_case"} 7)") !=
          std::string::npos);

    CHECK(bridge.call(entra, http::verb::delete_, "/scim/v2/Groups/" + group).result_int() == 204);
    CHECK(bridge.call(entra, http::verb::get, "/scim/v2/Groups/" + group).result_int() == 404);
}

TEST_CASE("Okta group push: rename with id, remove and add, full replace, PUT with members, delete") {
    Bridge bridge;
    const std::string okta = bridge.token("idp", "okta");
    std::vector<std::string> users;
    for (int i = 0; i < 6; ++i) {
        users.push_back(bridge.create_user(okta, "okta.user" + std::to_string(i) + "@example.com"));
    }
    const Response created = bridge.call(okta, http::verb::post, "/scim/v2/Groups",
                                         R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]})");
    REQUIRE(created.result_int() == 201);
    const std::string group(json_of(created).at("id").as_string());
    const auto patch = [&](const std::string& operations, const std::string& query = "") {
        return bridge.call(okta, http::verb::patch, "/scim/v2/Groups/" + group + query, patch_body(operations));
    };
    // Every membership update starts with a rename carrying the group's id.
    CHECK(patch(R"([{"op":"replace","value":{"id":")" + group + R"(","displayName":"Test SCIMv2"}}])").result_int() == 204);
    CHECK(patch(R"([{"op":"add","path":"members","value":[{"value":")" + users[0] + R"(","display":"okta.user0"}]}])").result_int() == 204);
    CHECK(patch(R"([{"op":"remove","path":"members[value eq \")" + users[0] + R"(\"]"},{"op":"add","path":"members","value":)" +
                refs({users[1], users[2]}) + "}]")
              .result_int() == 204);
    CHECK(bridge.member_ids(okta, group) == sorted({users[1], users[2]}));
    // A full push replaces the list; with attributes asked for, the answer is the group.
    const Response full = patch(R"([{"op":"replace","path":"members","value":)" + refs({users[2], users[3], users[4]}) + "}]",
                                "?attributes=members,displayName");
    REQUIRE(full.result_int() == 200);
    CHECK(json_of(full).at("members").as_array().size() == 3);
    // AIW apps PUT the whole group, members included.
    const Response put = bridge.call(okta, http::verb::put, "/scim/v2/Groups/" + group,
                                     R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Renamed","members":)" +
                                         refs({users[4], users[5]}) + "}");
    REQUIRE(put.result_int() == 200);
    CHECK(bridge.member_ids(okta, group) == sorted({users[4], users[5]}));
    // Deactivation without a path: 200 with the user.
    const Response off = bridge.call(okta, http::verb::patch, "/scim/v2/Users/" + users[5],
                                     patch_body(R"([{"op":"replace","value":{"active":false}}])"));
    REQUIRE(off.result_int() == 200);
    CHECK(json_of(off).at("active") == false);
    // Bad PATCHes: clear errors, nothing changed.
    const Response bad = patch(R"([{"op":"add","path":"members","value":[{"value":"00000000-0000-4000-8000-000000000000"}]}])");
    CHECK(bad.result_int() == 400);
    CHECK(json_of(bad).at("scimType") == "invalidValue");
    CHECK(patch(R"([{"op":"replace","path":"displayName[","value":"x"}])").result_int() == 400);
    CHECK(bridge.member_ids(okta, group) == sorted({users[4], users[5]}));
    CHECK(bridge.call(okta, http::verb::delete_, "/scim/v2/Groups/" + group).result_int() == 204);
}

TEST_CASE("a strict token gets a clear 400 for each non-RFC shape and RFC PATCHes work") {
    Bridge bridge;
    const std::string strict = bridge.token("idp", "entra", true);
    const std::string user = bridge.create_user(strict, "strict@example.com");
    const Response capital = bridge.call(strict, http::verb::patch, "/scim/v2/Users/" + user,
                                         patch_body(R"([{"op":"Replace","path":"active","value":false}])"));
    CHECK(capital.result_int() == 400);
    CHECK(json_of(capital).at("scimType") == "invalidSyntax");
    CHECK(json_of(capital).at("detail").as_string().find("lower-case") != std::string::npos);
    const Response text_bool = bridge.call(strict, http::verb::patch, "/scim/v2/Users/" + user,
                                           patch_body(R"([{"op":"replace","path":"active","value":"False"}])"));
    CHECK(text_bool.result_int() == 400);
    const Response ok = bridge.call(strict, http::verb::patch, "/scim/v2/Users/" + user,
                                    patch_body(R"([{"op":"replace","path":"active","value":false}])"));
    CHECK(ok.result_int() == 200);
    const Response rewrites = bridge.call(bridge.admin, http::verb::get, "/admin/v1/dialect-rewrites");
    CHECK(json_of(rewrites).at("rewrites").as_array().empty());
}

TEST_CASE("RFC 7644 3.7 Bulk: forward bulkId references, circular ones, failOnErrors, maxOperations") {
    Bridge bridge({"--bulk-max-operations", "6"});
    const std::string token = bridge.token("idp", "generic");
    // The group names a user created later in the same request.
    const std::string bulk = R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
        {"method":"POST","path":"/Groups","bulkId":"g1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName":"Tour Guides","members":[{"type":"User","value":"bulkId:u1"}]}},
        {"method":"POST","path":"/Users","bulkId":"u1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}},
        {"method":"PATCH","path":"/Users/bulkId:u1","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"replace","path":"title","value":"Guide"}]}},
        {"method":"POST","path":"/Groups","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName":"A","members":[{"value":"bulkId:b"}]}},
        {"method":"POST","path":"/Groups","bulkId":"b","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName":"B","members":[{"value":"bulkId:a"}]}}]})";
    const Response r = bridge.call(token, http::verb::post, "/scim/v2/Bulk", bulk);
    REQUIRE(r.result_int() == 200);
    const json::object body = json_of(r);
    CHECK(body.at("schemas").at(0) == "urn:ietf:params:scim:api:messages:2.0:BulkResponse");
    const json::array& ops = body.at("Operations").as_array();
    REQUIRE(ops.size() == 5);
    CHECK(ops[0].at("status") == "201");
    CHECK(ops[1].at("status") == "201");
    CHECK(ops[2].at("status") == "200");
    CHECK(ops[3].at("status") == "409");
    CHECK(ops[4].at("status") == "409");
    CHECK(ops[3].at("response").at("status") == "409");
    const std::string group = std::string(ops[0].at("location").as_string()).substr(ops[0].at("location").as_string().rfind('/') + 1);
    const std::string user = std::string(ops[1].at("location").as_string()).substr(ops[1].at("location").as_string().rfind('/') + 1);
    CHECK(bridge.member_ids(token, group) == std::vector<std::string>{user});
    CHECK(json_of(bridge.call(token, http::verb::get, "/scim/v2/Users/" + user)).at("title") == "Guide");
    CHECK(ops[2].at("version") == "W/\"2\"");

    // failOnErrors: 1 stops after the first failure; what follows does not run.
    const Response stopped = bridge.call(token, http::verb::post, "/scim/v2/Bulk", R"({
        "schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":[
        {"method":"POST","path":"/Users","bulkId":"x","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}},
        {"method":"POST","path":"/Users","bulkId":"y","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol"}}]})");
    REQUIRE(stopped.result_int() == 200);
    REQUIRE(json_of(stopped).at("Operations").as_array().size() == 1);
    CHECK(json_of(stopped).at("Operations").at(0).at("status") == "409");
    CHECK(json_of(bridge.call(token, http::verb::get, "/scim/v2/Users?filter=userName%20eq%20%22carol%22")).at("totalResults") == 0);

    // More operations than maxOperations: 413, nothing runs; advertised in ServiceProviderConfig.
    std::string many = R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[)";
    for (int i = 0; i < 7; ++i) {
        many += std::string(i ? "," : "") + R"({"method":"DELETE","path":"/Users/)" + user + "\"}";
    }
    const Response too_many = bridge.call(token, http::verb::post, "/scim/v2/Bulk", many + "]}");
    CHECK(too_many.result_int() == 413);
    CHECK(json_of(too_many).at("schemas").at(0) == "urn:ietf:params:scim:api:messages:2.0:Error");
    CHECK(bridge.call(token, http::verb::get, "/scim/v2/Users/" + user).result_int() == 200);
    const json::object spc = json_of(bridge.call(token, http::verb::get, "/scim/v2/ServiceProviderConfig"));
    CHECK(spc.at("bulk").at("supported") == true);
    CHECK(spc.at("bulk").at("maxOperations") == 6);
    CHECK(spc.at("patch").at("supported") == true);
    CHECK(bridge.call(token, http::verb::post, "/scim/v2/Bulk", "{\"Operations\": 3}").result_int() == 400);
}

TEST_CASE("property: a random PATCH applied in memory equals the server's answer after GET") {
    Bridge bridge;
    const std::string token = bridge.token("idp", "generic");
    const scim::Dialect dialect = scim::dialect_for("generic", false);
    const Response created = bridge.call(token, http::verb::post, "/scim/v2/Users", R"({
        "schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName":"prop","name":{"givenName":"P"},"emails":[{"value":"p@example.com","type":"work","primary":true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1"}})");
    REQUIRE(created.result_int() == 201);
    const std::string id(json_of(created).at("id").as_string());
    std::mt19937 rng(7);
    const auto any = [&](std::initializer_list<const char*> options) {
        return std::string(*(options.begin() + static_cast<long>(rng() % options.size())));
    };
    const auto one_op = [&]() -> std::string {
        const std::string word = any({"\"a\"", "\"b\"", "\"Zed\"", "\"True\"", "7", "true", "null", "\"\""});
        switch (rng() % 12) {
            case 0: return R"({"op":")" + any({"add", "replace", "Replace"}) + R"(","path":")" +
                           any({"title", "nickName", "displayName", "active", "name.givenName", "name.familyName"}) +
                           R"(","value":)" + word + "}";
            case 1: return R"({"op":"remove","path":")" + any({"title", "nickName", "name", "name.givenName", "emails", "active"}) + "\"}";
            case 2: return R"({"op":"add","path":"emails","value":[{"value":")" + any({"p@example.com", "q@example.com", "r@x.org"}) +
                           R"(","type":")" + any({"work", "home", "other"}) + R"(","primary":)" + any({"true", "false"}) + "}]}";
            case 3: return R"({"op":")" + any({"replace", "Replace", "add"}) + R"(","path":"emails[type eq \")" +
                           any({"work", "home"}) + R"(\"].value","value":")" + any({"x@example.com", "y@example.com"}) + "\"}";
            case 4: return R"({"op":"remove","path":"emails[type eq \")" + any({"work", "home", "other"}) + R"(\"]"})";
            case 5: return R"({"op":"replace","value":{")" + any({"title", "name.middleName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}) +
                           R"(":)" + word + "}}";
            case 6: return R"({"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:)" +
                           any({"employeeNumber", "costCenter", "manager"}) + R"(","value":)" + word + "}";
            case 7: return R"({"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:)" +
                           any({"employeeNumber", "department"}) + "\"}";
            case 8: return R"({"op":"replace","path":"emails","value":[{"value":"only@example.com"}]})";
            case 9: return R"({"op":"add","path":"externalId","value":)" + any({"\"ext-1\"", "\"ext-2\"", "3"}) + "}";
            case 10: return R"({"op":"remove","path":")" + any({"userName", "id", "groups", "nosuch", "emails[type eq]"}) + "\"}";
            default: return R"({"op":"replace","path":"name","value":{"givenName":)" + word + "}}";
        }
    };
    int applied = 0;
    int refused = 0;
    for (int round = 0; round < 120; ++round) {
        std::string operations = "[";
        const int n = 1 + static_cast<int>(rng() % 3);
        for (int i = 0; i < n; ++i) {
            operations += (i ? "," : "") + one_op();
        }
        operations += "]";
        CAPTURE(operations);
        const Response before = bridge.call(token, http::verb::get, "/scim/v2/Users/" + id);
        REQUIRE(before.result_int() == 200);
        // The in-memory engine on what the server returned.
        const json::object b = json_of(before);
        scim::StoredResource current;
        current.id = id;
        for (const auto& kv : b) {
            if (kv.key() == "externalId") {
                current.external_id = std::string(kv.value().as_string());
            } else if (kv.key() != "id" && kv.key() != "meta" && kv.key() != "schemas" && kv.key() != "groups") {
                current.document[kv.key()] = kv.value();
            }
        }
        scim::RewriteLog log;
        const json::value body = json::parse(patch_body(operations));
        auto request = scim::decode_patch(body, dialect, log);
        scim::Result<scim::PatchOutcome> expected = request.has_value()
            ? scim::apply_patch(scim::SchemaRegistry::core(), *scim::SchemaRegistry::core().resource_type("User"),
                                current, *request, dialect, scim::Leniency::kCoerce, log)
            : scim::Result<scim::PatchOutcome>(request.error());

        const Response patched = bridge.call(token, http::verb::patch, "/scim/v2/Users/" + id, patch_body(operations));
        const Response after = bridge.call(token, http::verb::get, "/scim/v2/Users/" + id);
        const json::object a = json_of(after);
        if (!expected) {
            ++refused;
            CHECK(patched.result_int() == static_cast<unsigned>(expected.error().status));
            CHECK(after.body() == before.body());
            continue;
        }
        ++applied;
        REQUIRE_MESSAGE(patched.result_int() == 200, patched.body());
        json::object got;
        std::optional<std::string> got_external;
        for (const auto& kv : a) {
            if (kv.key() == "externalId") {
                got_external = std::string(kv.value().as_string());
            } else if (kv.key() != "id" && kv.key() != "meta" && kv.key() != "schemas" && kv.key() != "groups") {
                got[kv.key()] = kv.value();
            }
        }
        CHECK_MESSAGE(got == expected->document, (json::serialize(got) + " vs " + json::serialize(expected->document)));
        CHECK(got_external == expected->external_id);
        const std::int64_t version_before = std::stoll(std::string(b.at("meta").at("version").as_string()).substr(3));
        const std::int64_t version_after = std::stoll(std::string(a.at("meta").at("version").as_string()).substr(3));
        CHECK(version_after == version_before + (expected->attributes_changed ? 1 : 0));
    }
    CHECK(applied > 40);
    CHECK(refused > 10);
}
}
