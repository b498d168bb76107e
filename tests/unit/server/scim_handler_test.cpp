// The /scim/v2 surface through the real route table and dispatcher: discovery documents, URLs the
// responses name, content negotiation, ETags, list parameters and projection. No sockets: requests
// are built by hand and handed to Dispatcher::handle.
#include "server/handlers/scim_handler.hpp"

#include "scim/resource_service.hpp"
#include "scim/schema.hpp"
#include "server/dispatcher.hpp"
#include "server/handlers/health_handler.hpp"
#include "server/routes.hpp"
#include "server/tenant_registries.hpp"
#include "tests/support/in_memory_resource_store.hpp"
#include "tests/support/in_memory_tenancy_store.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity
namespace scim = scimbridge::scim;
namespace json = boost::json;

namespace {

constexpr const char* kBase = "https://scim.example.com/scim/v2";
constexpr const char* kListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
constexpr const char* kErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";
constexpr const char* kAcmeUrn = "urn:example:params:scim:schemas:extension:acme:2.0:User";

constexpr const char* kAcmeSchema = R"({
  "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
  "name": "AcmeUser",
  "description": "Acme badge data",
  "attributes": [
    { "name": "badgeNumber", "type": "string" },
    { "name": "clearance", "type": "integer" }
  ]
})";

constexpr const char* kBjensen = R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "displayName": "Babs Jensen",
  "active": true
})";

class FixedClock final : public scim::Clock {
public:
    std::string now_rfc3339() const override { return "2026-01-02T03:04:05.000Z"; }
};

class SequentialIds final : public scim::IdGenerator {
public:
    int issued = 0;
    std::string next_id() override {
        const std::string n = std::to_string(++issued);
        return "00000000-0000-0000-0000-" + std::string(12 - n.size(), '0') + n;
    }
};

// Tenants' extension schemas, kept in memory.
class InMemorySchemaStore final : public scim::SchemaStore {
public:
    std::vector<scim::TenantSchema> list_schemas(const std::string& tenant_id) override {
        const auto it = schemas_.find(tenant_id);
        return it == schemas_.end() ? std::vector<scim::TenantSchema>{} : it->second;
    }
    scim::Result<std::string> add_schema(const std::string& tenant_id,
                                         const scim::TenantSchema& schema) override {
        const json::value* id = schema.definition.if_contains("id");
        if (id == nullptr || !id->is_string()) {
            return scim::Error::invalid_value("id");
        }
        std::vector<scim::TenantSchema>& mine = schemas_[tenant_id];
        for (const scim::TenantSchema& s : mine) {
            if (scim::iequals(s.definition.at("id").as_string(), id->as_string())) {
                return scim::Error::uniqueness("schema exists");
            }
        }
        mine.push_back(schema);
        return std::string(id->as_string());
    }

private:
    std::map<std::string, std::vector<scim::TenantSchema>> schemas_;
};

json::object body_of(const Response& res) { return json::parse(res.body()).as_object(); }

// A JSON string as std::string, to compare with built strings.
std::string text(const json::value& v) { return std::string(v.as_string()); }

const json::object* find_by_id(const json::array& resources, std::string_view id) {
    for (const json::value& r : resources) {
        if (r.as_object().at("id").as_string() == id) {
            return &r.as_object();
        }
    }
    return nullptr;
}

void check_scim_error(const Response& res, int status, std::string_view scim_type = "") {
    CHECK(res.result_int() == static_cast<unsigned>(status));
    CHECK(res[http::field::content_type] == "application/scim+json");
    const json::object body = body_of(res);
    CHECK(body.at("schemas").as_array().at(0) == kErrorSchema);
    CHECK(text(body.at("status")) == std::to_string(status));
    if (scim_type.empty()) {
        CHECK_FALSE(body.contains("scimType"));
    } else {
        CHECK(text(body.at("scimType")) == scim_type);
    }
}

struct Fixture {
    scimbridge::tests::InMemoryTenancyStore tenancy;
    Credentials credentials{tenancy};
    Metrics metrics;
    scimbridge::tests::InMemoryResourceStore resources;
    FixedClock clock;
    SequentialIds ids;
    scim::ResourceService service{resources, clock, ids};
    InMemorySchemaStore schema_store;
    TenantRegistries registries{schema_store, std::chrono::minutes(1)};
    HealthHandler health{[] { return true; }, metrics};
    ScimHandler scim_handler;
    Router router;
    Dispatcher dispatcher{router, credentials, metrics};
    scim::Tenant tenant;
    std::string token;

    explicit Fixture(std::string public_base_url = "")
        : scim_handler(service, registries, std::move(public_base_url)),
          router(make_routes(Handlers{health, scim_handler})) {
        tenant = *tenancy.create_tenant("acme");
        token = token_for(tenant);
    }

    std::string token_for(const scim::Tenant& t) {
        return credentials.create(t, scim::TokenKind::kIdp, "okta")->token;
    }

    Request request(http::verb method, const std::string& target,
                    const std::string& body = "") const {
        Request req{method, target, 11};
        req.set(http::field::host, "scim.example.com");
        req.set(http::field::authorization, "Bearer " + token);
        if (!body.empty()) {
            req.set(http::field::content_type, "application/scim+json");
            req.body() = body;
            req.prepare_payload();
        }
        return req;
    }

    Response send(Request req, bool secure = true) {
        return dispatcher.handle(std::move(req), secure);
    }
    Response get(const std::string& target) { return send(request(http::verb::get, target)); }

    // Creates a resource through POST and returns its id.
    std::string post(const std::string& endpoint, const std::string& body) {
        const Response res = send(request(http::verb::post, "/scim/v2/" + endpoint, body));
        REQUIRE(res.result_int() == 201);
        return std::string(body_of(res).at("id").as_string());
    }
    std::string post_group_with(const std::string& member_id) {
        return post("Groups", R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                  "displayName": "Engineering",
                                  "members": [{"value": ")" + member_id + R"("}]})");
    }
};

}  // namespace

TEST_SUITE("server.scim_handler") {
TEST_CASE("RFC 7644 4 ServiceProviderConfig advertises what the server supports") {
    Fixture f;
    const Response res = f.get("/scim/v2/ServiceProviderConfig");
    REQUIRE(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "application/scim+json");
    const json::object body = body_of(res);
    CHECK(body.at("schemas").as_array() ==
          json::array{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"});
    CHECK(body.at("patch").at("supported") == true);
    CHECK(body.at("bulk").at("supported") == true);
    CHECK(body.at("bulk").at("maxOperations") == 1000);
    CHECK(body.at("bulk").at("maxPayloadSize") == 1048576);
    CHECK(body.at("filter").at("supported") == true);
    CHECK(body.at("filter").at("maxResults") == f.service.limits().max_count);
    CHECK(body.at("sort").at("supported") == true);
    // RFC 9865: cursor and index paging both offered.
    CHECK(body.at("pagination").at("cursor") == true);
    CHECK(body.at("pagination").at("index") == true);
    CHECK(body.at("pagination").at("defaultPaginationMethod") == "index");
    CHECK(body.at("pagination").at("cursorTimeout") == 3600);
    CHECK(body.at("etag").at("supported") == true);
    CHECK(body.at("changePassword").at("supported") == false);
    const json::array& schemes = body.at("authenticationSchemes").as_array();
    REQUIRE_FALSE(schemes.empty());
    CHECK(schemes.at(0).at("type") == "oauthbearertoken");
    CHECK(body.at("meta").at("resourceType") == "ServiceProviderConfig");
    CHECK(text(body.at("meta").at("location")) == std::string(kBase) + "/ServiceProviderConfig");
}

TEST_CASE("RFC 7644 4 ResourceTypes is a ListResponse of User and Group") {
    Fixture f;
    const Response res = f.get("/scim/v2/ResourceTypes");
    REQUIRE(res.result_int() == 200);
    const json::object body = body_of(res);
    CHECK(body.at("schemas").as_array() == json::array{kListResponse});
    CHECK(body.at("totalResults") == 2);
    CHECK(body.at("itemsPerPage") == 2);
    CHECK(body.at("startIndex") == 1);
    const json::array& types = body.at("Resources").as_array();
    REQUIRE(types.size() == 2);

    const json::object* user = find_by_id(types, "User");
    REQUIRE(user != nullptr);
    CHECK(user->at("schemas").as_array() ==
          json::array{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"});
    CHECK(user->at("name") == "User");
    CHECK(user->at("endpoint") == "/Users");
    CHECK(text(user->at("schema")) == scim::kUserSchema);
    const json::array& extensions = user->at("schemaExtensions").as_array();
    REQUIRE(extensions.size() == 1);
    CHECK(text(extensions.at(0).at("schema")) == scim::kEnterpriseUserSchema);
    CHECK(extensions.at(0).at("required") == false);
    CHECK(user->at("meta").at("resourceType") == "ResourceType");
    CHECK(text(user->at("meta").at("location")) == std::string(kBase) + "/ResourceTypes/User");

    const json::object* group = find_by_id(types, "Group");
    REQUIRE(group != nullptr);
    CHECK(group->at("endpoint") == "/Groups");
    CHECK(text(group->at("schema")) == scim::kGroupSchema);
}

TEST_CASE("RFC 7644 4 ResourceTypes/Group returns that resource type") {
    Fixture f;
    const Response res = f.get("/scim/v2/ResourceTypes/Group");
    REQUIRE(res.result_int() == 200);
    const json::object body = body_of(res);
    CHECK(body.at("id") == "Group");
    CHECK(body.at("name") == "Group");
    CHECK(body.at("endpoint") == "/Groups");
    CHECK(text(body.at("schema")) == scim::kGroupSchema);
    CHECK(body.at("meta").at("resourceType") == "ResourceType");
    CHECK(text(body.at("meta").at("location")) == std::string(kBase) + "/ResourceTypes/Group");
}

TEST_CASE("RFC 7644 4 Schemas lists the three core schemas and serves each by its URN") {
    Fixture f;
    const Response res = f.get("/scim/v2/Schemas");
    REQUIRE(res.result_int() == 200);
    const json::object body = body_of(res);
    CHECK(body.at("schemas").as_array() == json::array{kListResponse});
    CHECK(body.at("totalResults") == 3);
    const json::array& schemas = body.at("Resources").as_array();
    REQUIRE(schemas.size() == 3);
    for (const std::string_view urn :
         {scim::kUserSchema, scim::kEnterpriseUserSchema, scim::kGroupSchema}) {
        CAPTURE(urn);
        const json::object* listed = find_by_id(schemas, urn);
        REQUIRE(listed != nullptr);
        CHECK(listed->at("meta").at("resourceType") == "Schema");
        CHECK(text(listed->at("meta").at("location")) ==
              std::string(kBase) + "/Schemas/" + std::string(urn));

        const Response one = f.get("/scim/v2/Schemas/" + std::string(urn));
        REQUIRE(one.result_int() == 200);
        const json::object schema = body_of(one);
        CHECK(text(schema.at("id")) == urn);
        CHECK(schema.at("schemas").as_array() ==
              json::array{"urn:ietf:params:scim:schemas:core:2.0:Schema"});
        CHECK_FALSE(schema.at("attributes").as_array().empty());
        CHECK(schema.at("meta").at("resourceType") == "Schema");
    }
}

TEST_CASE("RFC 7644 4 an unknown schema or resource type is a 404 SCIM error") {
    Fixture f;
    check_scim_error(f.get("/scim/v2/Schemas/urn:example:nope"), 404);
    check_scim_error(f.get("/scim/v2/ResourceTypes/Device"), 404);
}

TEST_CASE("RFC 7643 7 a tenant extension schema is discoverable by that tenant only") {
    Fixture f;
    const scim::TenantSchema extension{"User", json::parse(kAcmeSchema).as_object()};
    REQUIRE(f.schema_store.add_schema(f.tenant.id, extension).has_value());
    const scim::Tenant other = *f.tenancy.create_tenant("globex");
    const std::string other_token = f.token_for(other);

    SUBCASE("the owning tenant sees four schemas and two User extensions") {
        const json::object schemas = body_of(f.get("/scim/v2/Schemas"));
        CHECK(schemas.at("totalResults") == 4);
        const json::array& listed = schemas.at("Resources").as_array();
        REQUIRE(listed.size() == 4);
        const json::object* acme = find_by_id(listed, kAcmeUrn);
        REQUIRE(acme != nullptr);
        CHECK(text(acme->at("meta").at("location")) == std::string(kBase) + "/Schemas/" + kAcmeUrn);

        const Response one = f.get(std::string("/scim/v2/Schemas/") + kAcmeUrn);
        REQUIRE(one.result_int() == 200);
        CHECK(body_of(one).at("name") == "AcmeUser");

        const Response user = f.get("/scim/v2/ResourceTypes/User");
        REQUIRE(user.result_int() == 200);
        const json::object type = body_of(user);
        const json::array& extensions = type.at("schemaExtensions").as_array();
        REQUIRE(extensions.size() == 2);
        bool found = false;
        for (const json::value& e : extensions) {
            found = found || e.at("schema") == kAcmeUrn;
        }
        CHECK(found);
    }
    SUBCASE("another tenant still sees the three core schemas") {
        f.token = other_token;
        const json::object schemas = body_of(f.get("/scim/v2/Schemas"));
        CHECK(schemas.at("totalResults") == 3);
        CHECK(schemas.at("Resources").as_array().size() == 3);
        check_scim_error(f.get(std::string("/scim/v2/Schemas/") + kAcmeUrn), 404);
        const json::object user = body_of(f.get("/scim/v2/ResourceTypes/User"));
        CHECK(user.at("schemaExtensions").as_array().size() == 1);
    }
}

TEST_CASE("RFC 7644 3.1 meta.location and member $ref are built from Host and scheme") {
    SUBCASE("Host over TLS: https") {
        Fixture f;
        const std::string user = f.post("Users", kBjensen);
        const std::string group = f.post_group_with(user);
        const json::object u = body_of(f.get("/scim/v2/Users/" + user));
        const std::string base = "https://scim.example.com/scim/v2";
        CHECK(text(u.at("meta").at("location")) == base + "/Users/" + user);
        const json::object g = body_of(f.get("/scim/v2/Groups/" + group));
        CHECK(text(g.at("meta").at("location")) == base + "/Groups/" + group);
        CHECK(text(g.at("members").at(0).at("$ref")) == base + "/Users/" + user);
    }
    SUBCASE("Host over plain HTTP: http") {
        Fixture f;
        const std::string user = f.post("Users", kBjensen);
        const std::string group = f.post_group_with(user);
        const Response res = f.send(f.request(http::verb::get, "/scim/v2/Groups/" + group), false);
        REQUIRE(res.result_int() == 200);
        const json::object g = body_of(res);
        const std::string base = "http://scim.example.com/scim/v2";
        CHECK(text(g.at("meta").at("location")) == base + "/Groups/" + group);
        CHECK(text(g.at("members").at(0).at("$ref")) == base + "/Users/" + user);
        const json::object config = body_of(
            f.send(f.request(http::verb::get, "/scim/v2/ServiceProviderConfig"), false));
        CHECK(config.at("meta").at("location") ==
              "http://scim.example.com/scim/v2/ServiceProviderConfig");
    }
    SUBCASE("a hostile Host is never echoed: localhost") {
        Fixture f;
        const std::string user = f.post("Users", kBjensen);
        Request req = f.request(http::verb::get, "/scim/v2/Users/" + user);
        req.set(http::field::host, "evil.com/<x>");
        const Response res = f.send(std::move(req));
        REQUIRE(res.result_int() == 200);
        CHECK(text(body_of(res).at("meta").at("location")) ==
              "https://localhost/scim/v2/Users/" + user);
        CHECK(res.body().find("evil.com") == std::string::npos);
    }
    SUBCASE("public_base_url wins over Host and scheme") {
        Fixture f("https://idp-facing.example.org");
        const std::string user = f.post("Users", kBjensen);
        const std::string group = f.post_group_with(user);
        const Response res = f.send(f.request(http::verb::get, "/scim/v2/Groups/" + group), false);
        REQUIRE(res.result_int() == 200);
        const json::object g = body_of(res);
        CHECK(text(g.at("meta").at("location")) ==
              "https://idp-facing.example.org/scim/v2/Groups/" + group);
        CHECK(text(g.at("members").at(0).at("$ref")) ==
              "https://idp-facing.example.org/scim/v2/Users/" + user);
        const json::object schemas = body_of(f.get("/scim/v2/Schemas"));
        CHECK(schemas.at("Resources").at(0).at("meta").at("location").as_string().starts_with(
            "https://idp-facing.example.org/scim/v2/Schemas/"));
    }
}

TEST_CASE("RFC 7644 3.1 a body that is not SCIM JSON is refused with 415") {
    Fixture f;
    Request req = f.request(http::verb::post, "/scim/v2/Users", kBjensen);
    req.set(http::field::content_type, "text/plain");
    check_scim_error(f.send(std::move(req)), 415);
    CHECK(f.resources.writes.empty());
}

TEST_CASE("RFC 7644 3.1 a client that accepts no JSON gets 406") {
    Fixture f;
    Request req = f.request(http::verb::get, "/scim/v2/Users");
    req.set(http::field::accept, "text/html");
    check_scim_error(f.send(std::move(req)), 406);

    Request post = f.request(http::verb::post, "/scim/v2/Users", kBjensen);
    post.set(http::field::accept, "text/html");
    check_scim_error(f.send(std::move(post)), 406);
    CHECK(f.resources.writes.empty());
}

TEST_CASE("RFC 7644 3.1 application/scim+json with a charset parameter is accepted") {
    Fixture f;
    Request req = f.request(http::verb::post, "/scim/v2/Users", kBjensen);
    req.set(http::field::content_type, "application/scim+json; charset=utf-8");
    req.set(http::field::accept, "application/scim+json");
    const Response res = f.send(std::move(req));
    CHECK(res.result_int() == 201);
    CHECK(res[http::field::content_type] == "application/scim+json");
}

TEST_CASE("RFC 7644 3.3 201 Created carries Location, ETag W/1 and the SCIM content type") {
    Fixture f;
    const Response res = f.send(f.request(http::verb::post, "/scim/v2/Users", kBjensen));
    REQUIRE(res.result_int() == 201);
    CHECK(res[http::field::content_type] == "application/scim+json");
    const json::object body = body_of(res);
    const std::string id(body.at("id").as_string());
    CHECK(res[http::field::location] == std::string(kBase) + "/Users/" + id);
    CHECK(res[http::field::etag] == "W/\"1\"");
    CHECK(body.at("userName") == "bjensen@example.com");
    CHECK(body.at("meta").at("resourceType") == "User");
    CHECK(body.at("meta").at("location") == res[http::field::location]);
    CHECK(body.at("meta").at("version") == "W/\"1\"");

    const Response got = f.get("/scim/v2/Users/" + id);
    CHECK(got.result_int() == 200);
    CHECK(got[http::field::content_type] == "application/scim+json");
    CHECK(got[http::field::etag] == "W/\"1\"");
}

TEST_CASE("RFC 7644 3.14 If-None-Match with the current version is 304 with the ETag and no body") {
    Fixture f;
    const std::string id = f.post("Users", kBjensen);

    Request same = f.request(http::verb::get, "/scim/v2/Users/" + id);
    same.set(http::field::if_none_match, "W/\"1\"");
    const Response res = f.send(std::move(same));
    CHECK(res.result_int() == 304);
    CHECK(res[http::field::etag] == "W/\"1\"");
    CHECK(res.body().empty());

    Request other = f.request(http::verb::get, "/scim/v2/Users/" + id);
    other.set(http::field::if_none_match, "W/\"7\"");
    const Response fresh = f.send(std::move(other));
    CHECK(fresh.result_int() == 200);
    CHECK(text(body_of(fresh).at("id")) == id);
}

TEST_CASE("RFC 7644 3.14 PUT with a stale If-Match is 412 and changes nothing") {
    Fixture f;
    const std::string id = f.post("Users", kBjensen);
    const std::string renamed = R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                    "userName": "bjensen@example.com",
                                    "displayName": "Barbara Jensen"})";

    Request first = f.request(http::verb::put, "/scim/v2/Users/" + id, renamed);
    first.set(http::field::if_match, "W/\"1\"");
    const Response ok = f.send(std::move(first));
    REQUIRE(ok.result_int() == 200);
    CHECK(ok[http::field::etag] == "W/\"2\"");

    Request stale = f.request(http::verb::put, "/scim/v2/Users/" + id, kBjensen);
    stale.set(http::field::if_match, "W/\"1\"");
    check_scim_error(f.send(std::move(stale)), 412);
    const json::object now = body_of(f.get("/scim/v2/Users/" + id));
    CHECK(now.at("displayName") == "Barbara Jensen");
    CHECK(now.at("meta").at("version") == "W/\"2\"");
}

TEST_CASE("RFC 7644 3.4.2 a list is a ListResponse") {
    Fixture f;
    const std::string id = f.post("Users", kBjensen);
    const Response res = f.get("/scim/v2/Users");
    REQUIRE(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "application/scim+json");
    const json::object body = body_of(res);
    CHECK(body.at("schemas").as_array() == json::array{kListResponse});
    CHECK(body.at("totalResults") == 1);
    CHECK(body.at("startIndex") == 1);
    CHECK(body.at("itemsPerPage") == 1);
    const json::array& listed = body.at("Resources").as_array();
    REQUIRE(listed.size() == 1);
    CHECK(text(listed.at(0).at("id")) == id);
    CHECK(text(listed.at(0).at("meta").at("location")) == std::string(kBase) + "/Users/" + id);
}

TEST_CASE("RFC 7644 3.4.2.4 startIndex below 1 is read as 1") {
    Fixture f;
    f.post("Users", kBjensen);
    const Response res = f.get("/scim/v2/Users?startIndex=0");
    REQUIRE(res.result_int() == 200);
    const json::object body = body_of(res);
    CHECK(body.at("startIndex") == 1);
    CHECK(body.at("Resources").as_array().size() == 1);
}

TEST_CASE("RFC 7644 3.4.2.4 a count that is not an integer is 400 invalidValue") {
    Fixture f;
    check_scim_error(f.get("/scim/v2/Users?count=abc"), 400, "invalidValue");
    check_scim_error(f.get("/scim/v2/Users?startIndex=1x"), 400, "invalidValue");
    CHECK(f.resources.lists.empty());
}

TEST_CASE("RFC 7644 3.4.2 a malformed percent-escape in the query is 400") {
    Fixture f;
    check_scim_error(f.get("/scim/v2/Users?filter=userName%zzeq"), 400);
    check_scim_error(f.get("/scim/v2/Users?filter=%4"), 400);
    CHECK(f.resources.lists.empty());
}

TEST_CASE("RFC 7644 3.4.2.2 an invalid filter is 400 invalidFilter") {
    Fixture f;
    check_scim_error(f.get("/scim/v2/Users?filter=userName%20eq"), 400, "invalidFilter");
    check_scim_error(f.get("/scim/v2/Users?filter=shoeSize%20eq%20%2242%22"), 400, "invalidFilter");
    CHECK(f.resources.lists.empty());
}

TEST_CASE("RFC 7644 3.2 lowercase /scim/v2/users reaches Users") {
    Fixture f;
    const std::string id = f.post("Users", kBjensen);
    const Response listed = f.get("/scim/v2/users");
    REQUIRE(listed.result_int() == 200);
    CHECK(body_of(listed).at("totalResults") == 1);
    const Response one = f.get("/scim/v2/users/" + id);
    REQUIRE(one.result_int() == 200);
    CHECK(body_of(one).at("userName") == "bjensen@example.com");
}

TEST_CASE("RFC 7644 3.5.2 PATCH with no operations is a 400, POST on a resource is a 405") {
    Fixture f;
    const std::string id = f.post("Users", kBjensen);
    const Response res = f.send(f.request(
        http::verb::patch, "/scim/v2/Users/" + id,
        R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []})"));
    check_scim_error(res, 400, "invalidSyntax");
    const Response post = f.send(f.request(http::verb::post, "/scim/v2/Users/" + id, kBjensen));
    check_scim_error(post, 405);
    CHECK(post[http::field::allow] == "GET, PUT, PATCH, DELETE");
}

TEST_CASE("RFC 7644 3.4.2.5 attributes=userName returns id, schemas and userName only") {
    Fixture f;
    const std::string id = f.post("Users", kBjensen);
    const Response res = f.get("/scim/v2/Users/" + id + "?attributes=userName");
    REQUIRE(res.result_int() == 200);
    const json::object body = body_of(res);
    CHECK(body.size() == 3);
    CHECK(text(body.at("id")) == id);
    CHECK(body.at("schemas").as_array() == json::array{scim::kUserSchema});
    CHECK(body.at("userName") == "bjensen@example.com");

    const json::object listed = body_of(f.get("/scim/v2/Users?attributes=userName"));
    const json::object& first = listed.at("Resources").at(0).as_object();
    CHECK(first.size() == 3);
    CHECK(first.contains("id"));
    CHECK(first.contains("schemas"));
    CHECK(first.contains("userName"));
}

TEST_CASE("RFC 7644 3.4.2.5 excludedAttributes=members leaves members out of a group") {
    Fixture f;
    const std::string user = f.post("Users", kBjensen);
    const std::string group = f.post_group_with(user);
    const json::object full = body_of(f.get("/scim/v2/Groups/" + group));
    CHECK(full.at("members").as_array().size() == 1);

    const Response res = f.get("/scim/v2/Groups/" + group + "?excludedAttributes=members");
    REQUIRE(res.result_int() == 200);
    const json::object body = body_of(res);
    CHECK_FALSE(body.contains("members"));
    CHECK(body.at("displayName") == "Engineering");
    CHECK(text(body.at("id")) == group);

    const json::object listed = body_of(f.get("/scim/v2/Groups?excludedAttributes=members"));
    CHECK_FALSE(listed.at("Resources").at(0).as_object().contains("members"));
}
}
