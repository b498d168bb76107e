#include "scim/schema.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <string_view>

using namespace scimbridge::scim;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;

namespace {

const AttributeDef& user_attribute(std::string_view name) {
    const Schema* user = SchemaRegistry::core().schema(kUserSchema);
    REQUIRE(user != nullptr);
    const AttributeDef* a = user->attribute(name);
    REQUIRE(a != nullptr);
    return *a;
}

Result<Schema> parse(std::string_view text) { return parse_schema(json::parse(text).as_object()); }

constexpr const char* kAcmeSchema = R"({
  "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
  "name": "AcmeUser",
  "description": "Acme badge data",
  "attributes": [
    { "name": "badgeNumber", "type": "string", "mutability": "immutable", "uniqueness": "server" },
    { "name": "clearance", "type": "integer" },
    { "name": "site", "type": "complex", "subAttributes": [
        { "name": "code", "type": "string", "caseExact": true },
        { "name": "floor", "type": "integer" } ] }
  ]
})";

}  // namespace

TEST_SUITE("scim.schema") {
TEST_CASE("RFC 7643 8.7.1 the core registry holds User, enterprise User and Group") {
    const SchemaRegistry& core = SchemaRegistry::core();
    REQUIRE(core.schemas().size() == 3);
    const Schema* user = core.schema(kUserSchema);
    const Schema* enterprise = core.schema(kEnterpriseUserSchema);
    const Schema* group = core.schema(kGroupSchema);
    REQUIRE(user != nullptr);
    REQUIRE(enterprise != nullptr);
    REQUIRE(group != nullptr);
    CHECK(user->name == "User");
    CHECK(enterprise->name == "EnterpriseUser");
    CHECK(group->name == "Group");
    CHECK(user->attribute("userName") != nullptr);
    CHECK(enterprise->attribute("employeeNumber") != nullptr);
    CHECK(group->attribute("displayName") != nullptr);
    CHECK(core.schema("urn:ietf:params:scim:schemas:core:2.0:Device") == nullptr);
}

TEST_CASE("RFC 7643 2.1 schema URNs and attribute names are case-insensitive") {
    const SchemaRegistry& core = SchemaRegistry::core();
    const Schema* user = core.schema(kUserSchema);
    CHECK(core.schema("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER") == user);
    CHECK(core.schema("urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user") ==
          core.schema(kEnterpriseUserSchema));

    const AttributeDef* by_other_case = user->attribute("USERNAME");
    REQUIRE(by_other_case != nullptr);
    CHECK(by_other_case->name == "userName");  // the schema's own spelling

    const AttributeDef* name = user->attribute("Name");
    REQUIRE(name != nullptr);
    const AttributeDef* given = name->sub("GIVENNAME");
    REQUIRE(given != nullptr);
    CHECK(given->name == "givenName");
    CHECK(name->sub("nickName") == nullptr);

    CHECK(core.resource_type("user") == core.resource_type("User"));
    CHECK(core.resource_type("GROUP") == core.resource_type("Group"));
    CHECK(core.resource_type("Device") == nullptr);
}

TEST_CASE("RFC 7643 4.1 characteristics of the key User attributes") {
    SUBCASE("userName is required, case-insensitive and unique per server") {
        const AttributeDef& a = user_attribute("userName");
        CHECK(a.type == AttrType::kString);
        CHECK(a.required);
        CHECK_FALSE(a.case_exact);
        CHECK(a.uniqueness == Uniqueness::kServer);
        CHECK(a.mutability == Mutability::kReadWrite);
        CHECK_FALSE(a.multi_valued);
    }
    SUBCASE("password is writeOnly and never returned") {
        const AttributeDef& a = user_attribute("password");
        CHECK(a.mutability == Mutability::kWriteOnly);
        CHECK(a.returned == Returned::kNever);
        CHECK_FALSE(a.required);
    }
    SUBCASE("groups is readOnly, multi-valued and complex") {
        const AttributeDef& a = user_attribute("groups");
        CHECK(a.mutability == Mutability::kReadOnly);
        CHECK(a.multi_valued);
        CHECK(a.type == AttrType::kComplex);
        for (const AttributeDef& sub : a.sub_attributes) {
            CAPTURE(sub.name);
            CHECK(sub.mutability == Mutability::kReadOnly);
        }
    }
    SUBCASE("emails.type has the canonical values work, home and other") {
        const AttributeDef& emails = user_attribute("emails");
        CHECK(emails.multi_valued);
        const AttributeDef* type = emails.sub("type");
        REQUIRE(type != nullptr);
        CHECK(type->canonical_values == std::vector<std::string>{"work", "home", "other"});
        const AttributeDef* primary = emails.sub("primary");
        REQUIRE(primary != nullptr);
        CHECK(primary->type == AttrType::kBoolean);
    }
    SUBCASE("RFC 7643 2.3.6 x509Certificates.value is binary and case exact") {
        const AttributeDef* value = user_attribute("x509Certificates").sub("value");
        REQUIRE(value != nullptr);
        CHECK(value->type == AttrType::kBinary);
        CHECK(value->case_exact);
    }
    SUBCASE("active is a boolean") {
        CHECK(user_attribute("active").type == AttrType::kBoolean);
    }
    SUBCASE("enterprise manager.displayName is readOnly") {
        const Schema* ext = SchemaRegistry::core().schema(kEnterpriseUserSchema);
        REQUIRE(ext != nullptr);
        const AttributeDef* manager = ext->attribute("manager");
        REQUIRE(manager != nullptr);
        CHECK(manager->type == AttrType::kComplex);
        const AttributeDef* display = manager->sub("displayName");
        REQUIRE(display != nullptr);
        CHECK(display->mutability == Mutability::kReadOnly);
        const AttributeDef* ref = manager->sub("$ref");
        REQUIRE(ref != nullptr);
        CHECK(ref->type == AttrType::kReference);
        CHECK(ref->reference_types == std::vector<std::string>{"User"});
    }
}

TEST_CASE("RFC 7643 4.2 Group displayName and members") {
    const Schema* group = SchemaRegistry::core().schema(kGroupSchema);
    REQUIRE(group != nullptr);
    const AttributeDef* display = group->attribute("displayName");
    REQUIRE(display != nullptr);
    CHECK(display->required);

    const AttributeDef* members = group->attribute("members");
    REQUIRE(members != nullptr);
    CHECK(members->type == AttrType::kComplex);
    CHECK(members->multi_valued);
    for (const char* name : {"value", "$ref", "type", "display"}) {
        CAPTURE(name);
        const AttributeDef* sub = members->sub(name);
        CHECK(sub != nullptr);
        if (sub != nullptr) {
            CHECK(sub->mutability == Mutability::kImmutable);
        }
    }
    const AttributeDef* ref = members->sub("$ref");
    REQUIRE(ref != nullptr);
    CHECK(ref->type == AttrType::kReference);
    CHECK(ref->reference_types == std::vector<std::string>{"User", "Group"});
    const AttributeDef* type = members->sub("type");
    REQUIRE(type != nullptr);
    CHECK(type->canonical_values == std::vector<std::string>{"User", "Group"});
}

TEST_CASE("RFC 7643 6 resource types User (with the enterprise extension) and Group") {
    const SchemaRegistry& core = SchemaRegistry::core();
    REQUIRE(core.resource_types().size() == 2);

    const ResourceType* user = core.resource_type("User");
    REQUIRE(user != nullptr);
    CHECK(user->endpoint == "/Users");
    CHECK(user->schema == kUserSchema);
    REQUIRE(user->extensions.size() == 1);
    CHECK(user->extensions[0].schema == kEnterpriseUserSchema);
    CHECK_FALSE(user->extensions[0].required);

    const ResourceType* group = core.resource_type("Group");
    REQUIRE(group != nullptr);
    CHECK(group->endpoint == "/Groups");
    CHECK(group->schema == kGroupSchema);
    CHECK(group->extensions.empty());

    CHECK(json::value(to_json(*user)) == json::parse(R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
      "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
      "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
      "schemaExtensions": [
        {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}
      ]
    })"));
}

TEST_CASE("RFC 7643 7 to_json of every core schema round-trips through parse_schema") {
    for (const Schema& s : SchemaRegistry::core().schemas()) {
        CAPTURE(s.id);
        const json::object rendered = to_json(s);
        CHECK(rendered.at("id").as_string() == s.id);
        CHECK(rendered.at("schemas") ==
              json::array{"urn:ietf:params:scim:schemas:core:2.0:Schema"});
        const auto reparsed = parse_schema(rendered);
        CHECK(reparsed.has_value());
        if (reparsed.has_value()) {
            CHECK(reparsed->attributes.size() == s.attributes.size());
            CHECK(to_json(*reparsed) == rendered);
        }
    }
}

TEST_CASE("RFC 7643 7 a schema's attributes spell out every characteristic") {
    const json::object user = to_json(*SchemaRegistry::core().schema(kUserSchema));
    const json::object& user_name = user.at("attributes").as_array().at(0).as_object();
    CHECK(json::value(user_name) == json::parse(R"({
      "name": "userName", "type": "string", "multiValued": false,
      "description": "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.",
      "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default",
      "uniqueness": "server"
    })"));
}

TEST_CASE("RFC 7643 2.2 parse_schema applies the default characteristics") {
    const auto s = parse(R"({"id": "urn:example:x", "attributes": [{"name": "nick"}]})");
    REQUIRE(s.has_value());
    REQUIRE(s->attributes.size() == 1);
    const AttributeDef& a = s->attributes[0];
    CHECK(a.type == AttrType::kString);
    CHECK_FALSE(a.multi_valued);
    CHECK_FALSE(a.required);
    CHECK_FALSE(a.case_exact);
    CHECK(a.mutability == Mutability::kReadWrite);
    CHECK(a.returned == Returned::kDefault);
    CHECK(a.uniqueness == Uniqueness::kNone);
}

TEST_CASE("parse_schema rejects malformed schemas with 400 invalidValue") {
    struct Case {
        const char* what;
        const char* text;
        const char* detail_mentions;
    };
    const Case cases[] = {
        {"no id", R"({"attributes": []})", "URN"},
        {"an id that is not a URN", R"({"id": "AcmeUser", "attributes": []})", "URN"},
        {"no attributes", R"({"id": "urn:example:x"})", "attributes"},
        {"a complex attribute without subAttributes",
         R"({"id": "urn:example:x", "attributes": [{"name": "site", "type": "complex"}]})", "site"},
        {"a complex attribute with empty subAttributes",
         R"({"id": "urn:example:x", "attributes": [{"name": "site", "type": "complex", "subAttributes": []}]})",
         "site"},
        {"a complex attribute inside a complex one",
         R"({"id": "urn:example:x", "attributes": [{"name": "outer", "type": "complex",
             "subAttributes": [{"name": "inner", "type": "complex",
                                "subAttributes": [{"name": "leaf"}]}]}]})",
         "outer.inner"},
        {"duplicate attribute names",
         R"({"id": "urn:example:x", "attributes": [{"name": "badge"}, {"name": "badge"}]})",
         "badge"},
        {"duplicate attribute names differing in case",
         R"({"id": "urn:example:x", "attributes": [{"name": "badge"}, {"name": "BADGE"}]})",
         "BADGE"},
        {"duplicate sub-attribute names",
         R"({"id": "urn:example:x", "attributes": [{"name": "site", "type": "complex",
             "subAttributes": [{"name": "code"}, {"name": "Code"}]}]})",
         "site"},
        {"an unknown type", R"({"id": "urn:example:x", "attributes": [{"name": "badge", "type": "text"}]})",
         "badge"},
        {"an unknown mutability",
         R"({"id": "urn:example:x", "attributes": [{"name": "badge", "mutability": "sometimes"}]})",
         "badge"},
        {"an attribute without a name", R"({"id": "urn:example:x", "attributes": [{"type": "string"}]})",
         "name"},
        {"an attribute name that is not ATTRNAME",
         R"({"id": "urn:example:x", "attributes": [{"name": "badge number"}]})", "badge number"},
        {"canonicalValues that are not strings",
         R"({"id": "urn:example:x", "attributes": [{"name": "kind", "canonicalValues": [1, 2]}]})",
         "canonicalValues"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const auto s = parse(c.text);
        CHECK_FALSE(s.has_value());
        if (!s.has_value()) {
            CHECK(s.error().status == 400);
            CHECK(s.error().scim_type == ScimType::kInvalidValue);
            CAPTURE(s.error().detail);
            CHECK(s.error().detail.find(c.detail_mentions) != std::string::npos);
        }
    }
}

TEST_CASE("with_extension adds a custom extension to a resource type") {
    const auto acme = parse(kAcmeSchema);
    REQUIRE(acme.has_value());
    const SchemaRegistry& core = SchemaRegistry::core();

    const auto r = core.with_extension(*acme, "User");
    REQUIRE(r.has_value());
    CHECK(r->schemas().size() == 4);
    const Schema* added = r->schema("URN:EXAMPLE:PARAMS:SCIM:SCHEMAS:EXTENSION:ACME:2.0:USER");
    REQUIRE(added != nullptr);
    CHECK(added->attribute("badgeNumber")->mutability == Mutability::kImmutable);

    const ResourceType* user = r->resource_type("User");
    REQUIRE(user != nullptr);
    REQUIRE(user->extensions.size() == 2);
    CHECK(user->extensions[0].schema == kEnterpriseUserSchema);
    CHECK(user->extensions[1].schema == acme->id);
    CHECK_FALSE(user->extensions[1].required);
    CHECK(r->resource_type("Group")->extensions.empty());

    // The core registry itself is untouched.
    CHECK(core.schemas().size() == 3);
    CHECK(core.schema(acme->id) == nullptr);
    CHECK(core.resource_type("User")->extensions.size() == 1);

    // Resource type names are case-insensitive here as well.
    const auto on_group = core.with_extension(*acme, "group");
    REQUIRE(on_group.has_value());
    REQUIRE(on_group->resource_type("Group")->extensions.size() == 1);
    CHECK(on_group->resource_type("User")->extensions.size() == 1);
}

TEST_CASE("with_extension refuses a duplicate schema id and an unknown resource type") {
    const auto acme = parse(kAcmeSchema);
    REQUIRE(acme.has_value());
    const auto once = SchemaRegistry::core().with_extension(*acme, "User");
    REQUIRE(once.has_value());

    const auto twice = once->with_extension(*acme, "User");
    REQUIRE_FALSE(twice.has_value());
    CHECK(twice.error().status == 409);
    CHECK(twice.error().scim_type == ScimType::kUniqueness);

    Schema shouting = *acme;
    shouting.id = "URN:EXAMPLE:PARAMS:SCIM:SCHEMAS:EXTENSION:ACME:2.0:USER";
    CHECK_FALSE(once->with_extension(shouting, "Group").has_value());

    Schema enterprise = *SchemaRegistry::core().schema(kEnterpriseUserSchema);
    CHECK_FALSE(SchemaRegistry::core().with_extension(enterprise, "Group").has_value());
    Schema user = *SchemaRegistry::core().schema(kUserSchema);
    CHECK_FALSE(SchemaRegistry::core().with_extension(user, "User").has_value());

    const auto unknown = SchemaRegistry::core().with_extension(*acme, "Device");
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().status == 400);
    CHECK(unknown.error().scim_type == ScimType::kInvalidValue);
}

TEST_CASE("with_extension refuses an extension whose id is not a URN") {
    // BUG: schema.hpp says each extension "is validated: a URN id, no clash with an existing
    // schema", but with_extension only checks the clash; a hand-built Schema with id "acme"
    // (parse_schema would refuse it) is added to User.
    Schema s;
    s.id = "acme";
    s.name = "Acme";
    const auto r = SchemaRegistry::core().with_extension(s, "User");
    CHECK_FALSE(r.has_value());
}
}
