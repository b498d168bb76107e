// Okta and Entra ID provisioning conversations replayed against the real server over TLS, in the
// shapes ../shared/reference/idp-dialects.md §2.1–2.2 records.
#include "tests/e2e/harness.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <future>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;
namespace json = boost::json;

namespace {

json::object json_of(const Response& res) { return json::parse(res.body()).as_object(); }

// A server with one tenant and an IdP token of the given source.
struct Idp {
    PgTestDatabase db;
    Env env{{"DATABASE_URL", db.dsn()}};
    std::string token;
    std::unique_ptr<ServerProcess> server;

    explicit Idp(const std::string& source) {
        REQUIRE(run_cli({"tenant", "create", "acme"}, env).exit_code == 0);
        const CliResult made = run_cli(
            {"token", "create", "--tenant", "acme", "--kind", "idp", "--source", source}, env);
        REQUIRE_MESSAGE(made.exit_code == 0, made.err);
        token = made.last_line();
        server = std::make_unique<ServerProcess>(std::vector<std::string>{}, env);
    }

    Response call(http::verb method, const std::string& target, const std::string& body = "",
                  std::map<std::string, std::string> headers = {}) {
        if (!body.empty() && headers.count("Content-Type") == 0) {
            headers["Content-Type"] = "application/scim+json";
        }
        return https_request(server->tls_port(),
                             {.method = method, .target = target, .token = token, .body = body,
                              .headers = headers});
    }
};

std::string encode(const std::string& s) {
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

}  // namespace

TEST_SUITE("e2e.idp") {
TEST_CASE("Okta: existence check, create, get, PUT profile, PUT deactivate, group push, delete") {
    Idp okta("okta");
    // 1. Existence check with paging parameters: zero results is 200 + empty ListResponse.
    Response check = okta.call(http::verb::get, "/scim/v2/Users?filter=" +
                                                    encode("userName eq \"test.user@okta.local\"") +
                                                    "&startIndex=1&count=100");
    REQUIRE(check.result_int() == 200);
    CHECK(check[http::field::content_type] == "application/scim+json");
    CHECK(json_of(check).at("totalResults") == 0);
    CHECK(json_of(check).at("Resources").as_array().empty());
    CHECK(json_of(check).at("schemas").as_array().at(0) == "urn:ietf:params:scim:api:messages:2.0:ListResponse");

    // 2. Create, as Okta sends it: password and an empty groups array included.
    Response created = okta.call(http::verb::post, "/scim/v2/Users", R"({
        "schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName":"test.user@okta.local",
        "name":{"givenName":"Test","familyName":"User"},
        "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
        "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7",
        "groups":[],"password":"1mz050nq","active":true})");
    REQUIRE(created.result_int() == 201);
    const json::object user = json_of(created);
    const std::string id(user.at("id").as_string());
    CHECK(created[http::field::location].ends_with("/scim/v2/Users/" + id));
    CHECK(created[http::field::etag] == "W/\"1\"");
    CHECK(user.if_contains("password") == nullptr);
    CHECK(created.body().find("1mz050nq") == std::string::npos);
    CHECK(user.at("active") == true);
    CHECK(user.at("meta").at("resourceType") == "User");
    CHECK(user.at("meta").at("location").as_string().starts_with("https://"));

    // A replayed create (Okta timed out and retried) is a clean 409 uniqueness.
    Response again = okta.call(http::verb::post, "/scim/v2/Users",
                               R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"TEST.USER@okta.local"})");
    CHECK(again.result_int() == 409);
    CHECK(json_of(again).at("scimType") == "uniqueness");

    // 3. GET by id, then PUT the full object with a changed profile.
    Response got = okta.call(http::verb::get, "/scim/v2/Users/" + id);
    REQUIRE(got.result_int() == 200);
    json::object profile = json_of(got);
    profile["name"].as_object()["familyName"] = "Renamed";
    Response put = okta.call(http::verb::put, "/scim/v2/Users/" + id, json::serialize(profile));
    REQUIRE(put.result_int() == 200);
    CHECK(json_of(put).at("name").at("familyName") == "Renamed");
    CHECK(put[http::field::etag] == "W/\"2\"");

    // 4. AIW apps deactivate with PUT active=false; the user stays readable.
    profile["active"] = false;
    REQUIRE(okta.call(http::verb::put, "/scim/v2/Users/" + id, json::serialize(profile)).result_int() == 200);
    Response disabled = okta.call(http::verb::get, "/scim/v2/Users/" + id);
    CHECK(json_of(disabled).at("active") == false);
    Response listed = okta.call(http::verb::get, "/scim/v2/Users?startIndex=1&count=100");
    CHECK(json_of(listed).at("totalResults") == 1);
    CHECK(json_of(listed).at("itemsPerPage") == 1);
    CHECK(json_of(listed).at("startIndex") == 1);

    // 5. Group push: create with empty members, then PUT the full member list.
    Response group = okta.call(http::verb::post, "/scim/v2/Groups",
                               R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","members":[]})");
    REQUIRE(group.result_int() == 201);
    const std::string gid(json_of(group).at("id").as_string());
    Response pushed = okta.call(http::verb::put, "/scim/v2/Groups/" + gid,
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":")" + gid +
                                    R"(","displayName":"Engineering","members":[{"value":")" + id +
                                    R"(","display":"Test User"}]})");
    REQUIRE(pushed.result_int() == 200);
    const json::array members = json_of(pushed).at("members").as_array();
    REQUIRE(members.size() == 1);
    CHECK(members[0].at("value").as_string() == id);
    CHECK(members[0].at("type") == "User");
    Response with_groups = okta.call(http::verb::get, "/scim/v2/Users/" + id + "?attributes=groups");
    CHECK(json_of(with_groups).at("groups").at(0).at("value").as_string() == gid);

    // 6. Unlinking the pushed group deletes it in the target.
    CHECK(okta.call(http::verb::delete_, "/scim/v2/Groups/" + gid).result_int() == 204);
    CHECK(okta.call(http::verb::get, "/scim/v2/Groups/" + gid).result_int() == 404);
    CHECK(json_of(okta.call(http::verb::get, "/scim/v2/Users/" + id)).if_contains("groups") == nullptr);
}

TEST_CASE("Entra ID: test connection, create with nulls, lookups, group without members, disable, delete") {
    Idp entra("entra");
    // Test connection: a random GUID on the matching attribute → 200 and an empty ListResponse.
    Response probe = entra.call(http::verb::get, "/scim/v2/Users?filter=" +
                                                     encode("userName eq \"7b1c6b1e-2d55-4f0a-9b43-0f1d58a3c2e7\""));
    REQUIRE(probe.result_int() == 200);
    CHECK(json_of(probe).at("totalResults") == 0);

    // Create in Entra's documented shape: enterprise extension, explicit nulls, a stray
    // top-level key and roles:[] (the entra source decodes leniently).
    Response created = entra.call(http::verb::post, "/scim/v2/Users", R"({
        "schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId":"jyoung","userName":"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active":true,
        "emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b@testuser.com"}],
        "meta":{"resourceType":"User"},
        "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},
        "nickName":null,"roles":[],"department":null,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Sales"}})");
    REQUIRE_MESSAGE(created.result_int() == 201, created.body());
    const json::object user = json_of(created);
    const std::string id(user.at("id").as_string());
    CHECK(user.at("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").at("department") == "Sales");
    CHECK(user.if_contains("nickName") == nullptr);

    // Lookups by the matching attributes; Entra's doc sample leaves the value unquoted.
    CHECK(json_of(entra.call(http::verb::get, "/scim/v2/Users?filter=" + encode("externalId eq jyoung")))
              .at("totalResults") == 1);
    CHECK(json_of(entra.call(http::verb::get,
                             "/scim/v2/Users?filter=" + encode("userName eq \"test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1\"")))
              .at("totalResults") == 1);

    // A group is created with no members, carrying Entra's own extra schema URN.
    Response group = entra.call(http::verb::post, "/scim/v2/Groups", R"({
        "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName",
        "meta":{"resourceType":"Group"},
        "schemas":["urn:ietf:params:scim:schemas:core:2.0:Group",
                   "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]})");
    REQUIRE_MESSAGE(group.result_int() == 201, group.body());
    const std::string gid(json_of(group).at("id").as_string());
    Response by_name = entra.call(http::verb::get, "/scim/v2/Groups?excludedAttributes=members&filter=" +
                                                       encode("displayName eq \"displayName\""));
    REQUIRE(by_name.result_int() == 200);
    const json::object found = json_of(by_name).at("Resources").at(0).as_object();
    CHECK(found.at("id").as_string() == gid);
    CHECK(found.if_contains("members") == nullptr);
    Response one = entra.call(http::verb::get, "/scim/v2/Groups/" + gid + "?excludedAttributes=members");
    CHECK(json_of(one).if_contains("members") == nullptr);

    // Disable (Entra sends PATCH, which arrives with the PATCH issue; a PUT does the same now).
    json::object disabled = user;
    disabled["active"] = false;
    Response put = entra.call(http::verb::put, "/scim/v2/Users/" + id, json::serialize(disabled));
    REQUIRE_MESSAGE(put.result_int() == 200, put.body());
    CHECK(json_of(entra.call(http::verb::get, "/scim/v2/Users/" + id)).at("active") == false);

    // Hard delete: 204, then 404 with a SCIM error body.
    CHECK(entra.call(http::verb::delete_, "/scim/v2/Users/" + id).result_int() == 204);
    Response gone = entra.call(http::verb::get, "/scim/v2/Users/" + id);
    CHECK(gone.result_int() == 404);
    CHECK(json_of(gone).at("status") == "404");
    CHECK(entra.call(http::verb::delete_, "/scim/v2/Groups/" + gid).result_int() == 204);
}

TEST_CASE("HTTP semantics: content types, ETags, lowercase paths, discovery") {
    Idp idp("generic");
    const std::string body = R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"h@example.com"})";
    CHECK(idp.call(http::verb::post, "/scim/v2/Users", body, {{"Content-Type", "text/plain"}}).result_int() == 415);
    CHECK(idp.call(http::verb::post, "/scim/v2/Users", body, {{"Accept", "text/html"}}).result_int() == 406);
    CHECK(idp.call(http::verb::post, "/scim/v2/Users", "{not json").result_int() == 400);
    Response strict = idp.call(http::verb::post, "/scim/v2/Users",
                               R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x","shoeSize":42})");
    CHECK(strict.result_int() == 400);
    CHECK(json_of(strict).at("scimType") == "invalidSyntax");

    Response created = idp.call(http::verb::post, "/scim/v2/users", body,
                                {{"Content-Type", "application/json"}});  // lowercase path, plain JSON
    REQUIRE(created.result_int() == 201);
    const std::string id(json_of(created).at("id").as_string());
    Response not_modified = idp.call(http::verb::get, "/scim/v2/Users/" + id, "", {{"If-None-Match", "W/\"1\""}});
    CHECK(not_modified.result_int() == 304);
    CHECK(not_modified.body().empty());
    CHECK(idp.call(http::verb::get, "/scim/v2/Users/" + id, "", {{"If-None-Match", "W/\"9\""}}).result_int() == 200);
    CHECK(idp.call(http::verb::put, "/scim/v2/Users/" + id, body, {{"If-Match", "W/\"9\""}}).result_int() == 412);
    CHECK(idp.call(http::verb::put, "/scim/v2/Users/" + id, body, {{"If-Match", "W/\"1\""}}).result_int() == 200);
    CHECK(idp.call(http::verb::delete_, "/scim/v2/Users/" + id, "", {{"If-Match", "W/\"1\""}}).result_int() == 412);
    CHECK(idp.call(http::verb::patch, "/scim/v2/Users/" + id, "{}").result_int() == 405);
    CHECK(idp.call(http::verb::get, "/scim/v2/Users?filter=" + encode("userName eq")).result_int() == 400);

    Response spc = idp.call(http::verb::get, "/scim/v2/ServiceProviderConfig");
    REQUIRE(spc.result_int() == 200);
    CHECK(json_of(spc).at("etag").at("supported") == true);
    CHECK(json_of(spc).at("authenticationSchemes").at(0).at("type") == "oauthbearertoken");
    Response types = idp.call(http::verb::get, "/scim/v2/ResourceTypes");
    CHECK(json_of(types).at("totalResults") == 2);
    CHECK(idp.call(http::verb::get, "/scim/v2/ResourceTypes/User").result_int() == 200);
    Response schemas = idp.call(http::verb::get, "/scim/v2/Schemas");
    CHECK(json_of(schemas).at("totalResults") == 3);
    Response user_schema = idp.call(http::verb::get, "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User");
    REQUIRE(user_schema.result_int() == 200);
    CHECK(json_of(user_schema).at("attributes").as_array().size() > 15);
    CHECK(idp.call(http::verb::get, "/scim/v2/Schemas/urn:nope").result_int() == 404);
}
TEST_CASE("custom extension schemas: loaded per tenant from JSON, advertised and validated like the core") {
    Idp idp("generic");
    TempDir dir;
    const std::string file = dir.path() + "/acme.json";
    {
        std::ofstream out(file);
        out << R"({"id":"urn:acme:params:scim:schemas:extension:badge:2.0:User","name":"Badge",
                   "description":"Door badges","attributes":[
                   {"name":"badgeNumber","type":"string","multiValued":false,"required":true,
                    "caseExact":true,"mutability":"immutable","returned":"default","uniqueness":"none"},
                   {"name":"clearance","type":"integer","multiValued":false,"required":false,
                    "caseExact":false,"mutability":"readWrite","returned":"default","uniqueness":"none"}]})";
    }
    // Loaded while the server runs: the change reaches it at once (NOTIFY).
    const CliResult added = run_cli({"schema", "add", "--tenant", "acme", "--resource-type", "User", file}, idp.env);
    REQUIRE_MESSAGE(added.exit_code == 0, added.err);
    const CliResult again = run_cli({"schema", "add", "--tenant", "acme", file}, idp.env);
    CHECK(again.exit_code != 0);
    CHECK(again.err.find("already defined") != std::string::npos);
    {
        std::ofstream bad(dir.path() + "/bad.json");
        bad << R"({"id":"not-a-urn","attributes":[]})";
    }
    CHECK(run_cli({"schema", "add", "--tenant", "acme", dir.path() + "/bad.json"}, idp.env).exit_code != 0);

    const std::string urn = "urn:acme:params:scim:schemas:extension:badge:2.0:User";
    const auto schemas_listed = [&] {
        return json_of(idp.call(http::verb::get, "/scim/v2/Schemas")).at("totalResults").to_number<int>();
    };
    const auto started = std::chrono::steady_clock::now();
    while (schemas_listed() != 4 && std::chrono::steady_clock::now() - started < std::chrono::seconds(3)) {
    }
    CHECK(schemas_listed() == 4);
    Response type = idp.call(http::verb::get, "/scim/v2/ResourceTypes/User");
    bool advertised = false;
    const json::object type_json = json_of(type);  // must outlive the loop
    for (const json::value& e : type_json.at("schemaExtensions").as_array()) {
        advertised = advertised || e.at("schema").as_string() == urn;
    }
    CHECK(advertised);

    Response created = idp.call(http::verb::post, "/scim/v2/Users",
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",")" + urn +
                                    R"("],"userName":"badge@example.com",")" + urn +
                                    R"(":{"badgeNumber":"B-7","clearance":3}})");
    REQUIRE_MESSAGE(created.result_int() == 201, created.body());
    const std::string id(json_of(created).at("id").as_string());
    CHECK(json_of(created).at(urn).at("clearance") == 3);

    Response wrong_type = idp.call(http::verb::post, "/scim/v2/Users",
                                   R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",")" + urn +
                                       R"("],"userName":"b2@example.com",")" + urn + R"(":{"badgeNumber":"B-8","clearance":"high"}})");
    CHECK(wrong_type.result_int() == 400);
    CHECK(json_of(wrong_type).at("scimType") == "invalidValue");
    Response unknown = idp.call(http::verb::post, "/scim/v2/Users",
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",")" + urn +
                                    R"("],"userName":"b3@example.com",")" + urn + R"(":{"badgeNumber":"B-9","colour":"red"}})");
    CHECK(unknown.result_int() == 400);
    CHECK(json_of(unknown).at("scimType") == "invalidSyntax");
    Response missing = idp.call(http::verb::post, "/scim/v2/Users",
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",")" + urn +
                                    R"("],"userName":"b4@example.com",")" + urn + R"(":{"clearance":1}})");
    CHECK(missing.result_int() == 400);  // badgeNumber is required within the extension

    Response found = idp.call(http::verb::get, "/scim/v2/Users?filter=" + encode(urn + ":badgeNumber eq \"B-7\""));
    REQUIRE(found.result_int() == 200);
    CHECK(json_of(found).at("totalResults") == 1);
    // Immutable in the extension: a PUT that changes it is refused.
    Response changed = idp.call(http::verb::put, "/scim/v2/Users/" + id,
                                R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",")" + urn +
                                    R"("],"userName":"badge@example.com",")" + urn + R"(":{"badgeNumber":"B-0"}})");
    CHECK(changed.result_int() == 400);
    CHECK(json_of(changed).at("scimType") == "mutability");
    CHECK(run_cli({"schema", "list", "--tenant", "acme"}, idp.env).out.find(urn) != std::string::npos);
}
TEST_CASE("32 concurrent creates of one userName over TLS: exactly one 201, the rest 409") {
    Idp idp("okta");
    std::vector<std::future<unsigned>> calls;
    for (int i = 0; i < 32; ++i) {
        calls.push_back(std::async(std::launch::async, [&idp, i] {
            const std::string name = i % 2 == 0 ? "same@example.com" : "SAME@example.com";
            return idp.call(http::verb::post, "/scim/v2/Users",
                            R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" + name + "\"}")
                .result_int();
        }));
    }
    int created = 0;
    int conflicts = 0;
    for (auto& c : calls) {
        const unsigned status = c.get();
        created += status == 201 ? 1 : 0;
        conflicts += status == 409 ? 1 : 0;
    }
    CHECK(created == 1);
    CHECK(conflicts == 31);
}
}
