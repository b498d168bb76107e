// The PATCH engine (RFC 7644 §3.5.2) and the dialect normaliser: table-driven, named after the
// RFC's examples and the IdPs' documented bodies (reference/idp-dialects.md).
#include "scim/patch.hpp"

#include "scim/resource_service.hpp"
#include "tests/support/in_memory_resource_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <algorithm>

using namespace scimbridge::scim;
namespace json = boost::json;

namespace {

constexpr const char* kUserId = "2819c223-7f76-453a-919d-413861904646";

// RFC 7643 §8.2-like user with the enterprise extension.
constexpr const char* kUser = R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "userName": "bjensen", "externalId": "bj",
  "name": {"givenName": "Barbara", "familyName": "Jensen"},
  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
             {"value": "babs@jensen.org", "type": "home"}],
  "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}],
  "active": true,
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
})";

constexpr const char* kGroup = R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides"})";

const SchemaRegistry& registry() { return SchemaRegistry::core(); }
const ResourceType& type_of(std::string_view kind) { return *registry().resource_type(kind); }

StoredResource stored(std::string_view kind, std::string_view body) {
    auto n = normalize_resource(registry(), type_of(kind), json::parse(body), Leniency::kStrict);
    REQUIRE(n.has_value());
    StoredResource r;
    r.id = kUserId;
    r.document = n->document;
    r.external_id = n->external_id;
    r.schemas = n->schemas;
    r.version = 1;
    return r;
}

struct Outcome {
    Result<PatchOutcome> result;
    RewriteLog log;
};

Outcome run(std::string_view kind, std::string_view before, std::string_view patch,
            std::string_view source = "generic", bool strict = false) {
    const Dialect dialect = dialect_for(source, strict);
    RewriteLog log;
    const StoredResource current = stored(kind, before);
    auto request = decode_patch(json::parse(patch), dialect, log);
    if (!request) {
        return {request.error(), log};
    }
    const Leniency leniency = strict ? Leniency::kStrict : Leniency::kCoerce;
    auto out = apply_patch(registry(), type_of(kind), current, *request, dialect, leniency, log);
    return {std::move(out), log};
}

std::string ops(std::string_view operations) {
    return R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": )" +
           std::string(operations) + "}";
}

struct Case {
    const char* name;
    const char* operations;  // the Operations array
    // Expected top-level changes: attribute → new value (null: gone); the rest unchanged.
    // Empty: an error is expected.
    const char* changes;
    int status = 200;
    ScimType scim_type = ScimType::kNone;
    std::vector<std::string> rewrites{};
    const char* source = "generic";
    bool strict = false;
};

void check_case(const Case& c) {
    const std::string name = c.name;
    CAPTURE(name);
    const Outcome o = run("User", kUser, ops(c.operations), c.source, c.strict);
    if (std::string_view(c.changes).empty()) {
        REQUIRE_FALSE(o.result.has_value());
        CHECK(o.result.error().status == c.status);
        CHECK(o.result.error().scim_type == c.scim_type);
        return;
    }
    REQUIRE_MESSAGE(o.result.has_value(), o.result.error().detail);
    json::object expected = stored("User", kUser).document;
    std::optional<std::string> external_id = "bj";
    const json::value changes = json::parse(c.changes);  // outlives the loop
    for (const auto& kv : changes.as_object()) {
        if (kv.key() == "externalId") {
            external_id = kv.value().is_null() ? std::nullopt
                                               : std::optional<std::string>(kv.value().as_string());
        } else if (kv.value().is_null()) {
            expected.erase(kv.key());
        } else {
            expected[kv.key()] = kv.value();
        }
    }
    CHECK_MESSAGE(o.result->document == expected, json::serialize(o.result->document));
    CHECK(o.result->external_id == external_id);
    std::vector<std::string> got = o.log.names();
    std::vector<std::string> want = c.rewrites;
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
}

constexpr const char* kEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

}  // namespace

TEST_CASE("RFC 7644 3.5.2.1 add") {
    const Case cases[] = {
        {"add without path: attributes merge, multi-valued values are appended",
         R"([{"op": "add", "value": {"emails": [{"value": "babs@example.org", "type": "other"}], "nickName": "Babs"}}])",
         R"({"nickName": "Babs", "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
             {"value": "babs@jensen.org", "type": "home"}, {"value": "babs@example.org", "type": "other"}]})"},
        {"add of a value already there updates it instead of duplicating it",
         R"([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home", "display": "Home"}]}])",
         R"({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
             {"value": "babs@jensen.org", "type": "home", "display": "Home"}]})"},
        {"add of a primary value makes the others non-primary",
         R"([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}])",
         R"({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": false},
             {"value": "babs@jensen.org", "type": "home"},
             {"value": "new@example.com", "type": "other", "primary": true}]})"},
        {"add to a complex attribute merges sub-attributes",
         R"([{"op": "add", "path": "name", "value": {"middleName": "Jane"}}])",
         R"({"name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}})"},
        {"add a sub-attribute",
         R"([{"op": "add", "path": "name.honorificPrefix", "value": "Ms."}])",
         R"({"name": {"givenName": "Barbara", "familyName": "Jensen", "honorificPrefix": "Ms."}})"},
        {"add on a single-valued attribute replaces it",
         R"([{"op": "add", "path": "title", "value": "Tour Guide"}, {"op": "add", "path": "title", "value": "Guide"}])",
         R"({"title": "Guide"})"},
        {"add with a filter that matches nothing creates the value",
         R"([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}])",
         R"({"phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}]})"},
        {"add a URN-qualified extension attribute",
         R"([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tour Operations"}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984",
             "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}, "department": "Tour Operations"}})"},
        {"add to the extension itself",
         R"([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "4130"}}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984",
             "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}, "costCenter": "4130"}})"},
        {"add externalId",
         R"([{"op": "add", "path": "externalId", "value": "bj-2"}])", R"({"externalId": "bj-2"})"},
        {"add without a value", R"([{"op": "add", "path": "title"}])", "", 400, ScimType::kInvalidValue},
        {"add of the wrong type", R"([{"op": "add", "path": "active", "value": "maybe"}])", "", 400,
         ScimType::kInvalidValue},
        {"add two primary values at once", R"([{"op": "add", "path": "emails", "value": [
             {"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}]}])",
         "", 400, ScimType::kInvalidValue},
    };
    for (const Case& c : cases) {
        check_case(c);
    }
}

TEST_CASE("RFC 7644 3.5.2.2 remove") {
    const Case cases[] = {
        {"remove a single-valued attribute", R"([{"op": "remove", "path": "active"}])", R"({"active": null})"},
        {"remove an attribute that has no value is a no-op", R"([{"op": "remove", "path": "title"}])", "{}"},
        {"remove a multi-valued attribute entirely", R"([{"op": "remove", "path": "emails"}])", R"({"emails": null})"},
        {"remove values selected by a filter",
         R"([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}])",
         R"({"emails": [{"value": "babs@jensen.org", "type": "home"}]})"},
        {"remove a sub-attribute of the values a filter selects",
         R"([{"op": "remove", "path": "addresses[type eq \"work\"].locality"}])",
         R"({"addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza"}]})"},
        {"remove a sub-attribute of a complex attribute", R"([{"op": "remove", "path": "name.givenName"}])",
         R"({"name": {"familyName": "Jensen"}})"},
        {"remove an extension attribute by URN path",
         R"([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}})"},
        {"remove the whole extension",
         R"([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": null})"},
        {"remove externalId", R"([{"op": "remove", "path": "externalId"}])", R"({"externalId": null})"},
        {"remove with a filter that matches nothing is noTarget",
         R"([{"op": "remove", "path": "emails[type eq \"other\"]"}])", "", 400, ScimType::kNoTarget},
        {"remove without a path is noTarget", R"([{"op": "remove"}])", "", 400, ScimType::kNoTarget},
        {"remove a required attribute is mutability", R"([{"op": "remove", "path": "userName"}])", "", 400,
         ScimType::kMutability},
        {"remove a readOnly attribute is mutability", R"([{"op": "remove", "path": "id"}])", "", 400,
         ScimType::kMutability},
    };
    for (const Case& c : cases) {
        check_case(c);
    }
}

TEST_CASE("RFC 7644 3.5.2.3 replace") {
    const Case cases[] = {
        {"replace without path replaces each attribute given",
         R"([{"op": "replace", "value": {"emails": [{"value": "bjensen@example.com", "type": "work"}], "nickName": "Babs"}}])",
         R"({"nickName": "Babs", "emails": [{"value": "bjensen@example.com", "type": "work"}]})"},
        {"replace a multi-valued attribute with a new list",
         R"([{"op": "replace", "path": "emails", "value": [{"value": "x@example.com"}]}])",
         R"({"emails": [{"value": "x@example.com"}]})"},
        {"replace the values a filter selects",
         R"([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work", "streetAddress": "911 Universal City Plaza"}}])",
         R"({"addresses": [{"type": "work", "streetAddress": "911 Universal City Plaza"}]})"},
        {"replace a sub-attribute of the values a filter selects",
         R"([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"}])",
         R"({"emails": [{"value": "barbara@example.com", "type": "work", "primary": true},
             {"value": "babs@jensen.org", "type": "home"}]})"},
        {"replace a complex attribute keeps sub-attributes not named",
         R"([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}])",
         R"({"name": {"givenName": "Babs", "familyName": "Jensen"}})"},
        {"replace an attribute that has no value adds it",
         R"([{"op": "replace", "path": "displayName", "value": "Babs Jensen"}])", R"({"displayName": "Babs Jensen"})"},
        {"replace a URN-qualified sub-attribute",
         R"([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10"}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984",
             "manager": {"value": "b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10"}}})"},
        {"several operations apply in order",
         R"([{"op": "replace", "path": "title", "value": "a"}, {"op": "remove", "path": "title"},
             {"op": "add", "path": "title", "value": "b"}])",
         R"({"title": "b"})"},
        {"replace with a filter that matches nothing is noTarget",
         R"([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@example.com"}])", "", 400,
         ScimType::kNoTarget},
        {"replace id is mutability", R"([{"op": "replace", "path": "id", "value": "x"}])", "", 400, ScimType::kMutability},
        {"replace groups is mutability", R"([{"op": "replace", "path": "groups", "value": []}])", "", 400,
         ScimType::kMutability},
        {"replace meta is mutability", R"([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}])",
         "", 400, ScimType::kMutability},
        {"an unknown attribute is invalidPath", R"([{"op": "replace", "path": "shoeSize", "value": 42}])", "", 400,
         ScimType::kInvalidPath},
        {"an unknown sub-attribute is invalidPath", R"([{"op": "replace", "path": "name.nickname", "value": "x"}])",
         "", 400, ScimType::kInvalidPath},
        {"a malformed filter is invalidPath",
         R"([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])", "", 400, ScimType::kInvalidPath},
        {"a filter on an unknown sub-attribute is invalidPath",
         R"([{"op": "replace", "path": "emails[kind eq \"work\"].value", "value": "x"}])", "", 400, ScimType::kInvalidPath},
        {"a sub-attribute of a multi-valued attribute needs a filter",
         R"([{"op": "replace", "path": "emails.value", "value": "x"}])", "", 400, ScimType::kInvalidPath},
        {"replace userName with null is mutability", R"([{"op": "replace", "path": "userName", "value": null}])", "",
         400, ScimType::kMutability},
        {"a bad op", R"([{"op": "move", "path": "title", "value": "x"}])", "", 400, ScimType::kInvalidSyntax},
        {"no operations", R"([])", "", 400, ScimType::kInvalidSyntax},
        {"password is accepted and never stored", R"([{"op": "replace", "path": "password", "value": "s3cret!"}])", "{}"},
    };
    for (const Case& c : cases) {
        check_case(c);
    }
}

TEST_CASE("RFC 7644 3.5.2 a PATCH is all or nothing and changes report what changed") {
    const Outcome bad = run("User", kUser, ops(R"([{"op": "replace", "path": "title", "value": "x"},
        {"op": "replace", "path": "active", "value": "perhaps"}])"));
    REQUIRE_FALSE(bad.result.has_value());
    const Outcome good = run("User", kUser, ops(R"([{"op": "replace", "path": "title", "value": "x"},
        {"op": "replace", "path": "externalId", "value": "bj-9"}])"));
    REQUIRE(good.result.has_value());
    CHECK(good.result->attributes_changed);
    CHECK(good.result->changed == std::vector<std::string>{"title", "externalId"});
    const Outcome same = run("User", kUser, ops(R"([{"op": "replace", "path": "active", "value": true}])"));
    REQUIRE(same.result.has_value());
    CHECK_FALSE(same.result->attributes_changed);
}

TEST_CASE("RFC 7644 3.5.2 group members become set-based steps") {
    const auto steps = [](std::string_view operations) {
        const Outcome o = run("Group", kGroup, ops(operations));
        REQUIRE_MESSAGE(o.result.has_value(), o.result.error().detail);
        return o.result->member_steps;
    };
    SUBCASE("RFC 7644 3.5.2.1 add members") {
        const auto s = steps(R"([{"op": "add", "path": "members", "value": [{"display": "Babs Jensen",
            "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            "value": "2819c223-7f76-453a-919d-413861904646"}]}])");
        REQUIRE(s.size() == 1);
        CHECK(s[0].kind == MemberStep::Kind::kAdd);
        REQUIRE(s[0].members.size() == 1);
        CHECK(s[0].members[0].value == "2819c223-7f76-453a-919d-413861904646");
    }
    SUBCASE("RFC 7644 3.5.2.2 remove one member by filter") {
        const auto s = steps(R"([{"op": "remove", "path": "members[value eq \"2819C223-7F76-453A-919D-413861904646\"]"}])");
        REQUIRE(s.size() == 1);
        CHECK(s[0].kind == MemberStep::Kind::kRemove);
        CHECK(s[0].ids == std::vector<std::string>{"2819c223-7f76-453a-919d-413861904646"});
    }
    SUBCASE("RFC 7644 3.5.2.2 remove all members") {
        const auto s = steps(R"([{"op": "remove", "path": "members"}])");
        REQUIRE(s.size() == 1);
        CHECK(s[0].kind == MemberStep::Kind::kRemoveAll);
    }
    SUBCASE("RFC 7644 3.5.2.2 remove members by another filter") {
        const auto s = steps(R"([{"op": "remove", "path": "members[type eq \"Group\"]"}])");
        REQUIRE(s.size() == 1);
        CHECK(s[0].kind == MemberStep::Kind::kRemoveMatching);
    }
    SUBCASE("RFC 7644 3.5.2.3 replace all members") {
        const auto s = steps(R"([{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}])");
        REQUIRE(s.size() == 1);
        CHECK(s[0].kind == MemberStep::Kind::kReplace);
        CHECK(s[0].members.size() == 2);
    }
    SUBCASE("RFC 7644 3.5.2.2 remove and add in one request keep their order") {
        const auto s = steps(R"([{"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "add", "path": "members", "value": [{"value": "b"}]}, {"op": "replace", "path": "displayName", "value": "Guides"}])");
        REQUIRE(s.size() == 2);
        CHECK(s[0].kind == MemberStep::Kind::kRemove);
        CHECK(s[1].kind == MemberStep::Kind::kAdd);
    }
    SUBCASE("member sub-attributes are immutable") {
        const Outcome o = run("Group", kGroup, ops(R"([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}])"));
        REQUIRE_FALSE(o.result.has_value());
        CHECK(o.result.error().scim_type == ScimType::kMutability);
    }
    SUBCASE("a member without a value is invalidValue") {
        const Outcome o = run("Group", kGroup, ops(R"([{"op": "add", "path": "members", "value": [{"display": "x"}]}])"));
        REQUIRE_FALSE(o.result.has_value());
        CHECK(o.result.error().scim_type == ScimType::kInvalidValue);
    }
}

TEST_CASE("member steps on an in-memory list: the reference semantics of the store") {
    const std::string a = "00000000-0000-4000-8000-00000000000a";
    const std::string b = "00000000-0000-4000-8000-00000000000b";
    const std::string g = "00000000-0000-4000-8000-0000000000ff";
    const auto type_of_id = [&](const std::string& id) -> std::optional<std::string> {
        if (id == a || id == b) {
            return "User";
        }
        if (id == "00000000-0000-4000-8000-00000000000c") {
            return "Group";
        }
        return std::nullopt;
    };
    std::vector<MemberRef> members;
    const auto apply = [&](std::vector<MemberStep> steps) {
        return apply_member_steps(members, steps, g, type_of_id, registry(), type_of("Group"));
    };
    REQUIRE((apply({MemberStep{MemberStep::Kind::kAdd, {{b, "", ""}, {a, "", ""}, {a, "", ""}}, {}, nullptr}})).has_value());
    REQUIRE(members.size() == 2);
    CHECK(members[0].value == a);
    CHECK(members[0].type == "User");
    // An unknown id fails the whole list and changes nothing.
    const auto unknown = apply({MemberStep{MemberStep::Kind::kRemoveAll, {}, {}, nullptr},
                                MemberStep{MemberStep::Kind::kAdd, {{"00000000-0000-4000-8000-000000000999", "", ""}}, {}, nullptr}});
    REQUIRE_FALSE((unknown).has_value());
    CHECK(unknown.error().scim_type == ScimType::kInvalidValue);
    CHECK(members.size() == 2);
    CHECK_FALSE((apply({MemberStep{MemberStep::Kind::kAdd, {{g, "", ""}}, {}, nullptr}})).has_value());
    REQUIRE((apply({MemberStep{MemberStep::Kind::kReplace, {{"00000000-0000-4000-8000-00000000000c", "", ""}, {b, "", ""}}, {}, nullptr}})).has_value());
    REQUIRE(members.size() == 2);
    CHECK(members[0].value == b);
    CHECK(members[1].type == "Group");
    auto filter = parse_filter("type eq \"group\"");
    REQUIRE((filter).has_value());
    REQUIRE((apply({MemberStep{MemberStep::Kind::kRemoveMatching, {}, {}, std::shared_ptr<const Filter>(std::move(*filter))}})).has_value());
    REQUIRE(members.size() == 1);
    CHECK(members[0].value == b);
}

// ---- Dialects: each rewrite with the IdP's documented body. ----

TEST_CASE("Entra disables a user with a capitalised op and a string boolean") {
    const std::string body = R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})";
    const Outcome o = run("User", kUser, body, "entra");
    REQUIRE(o.result.has_value());
    CHECK(o.result->document.at("active") == false);
    CHECK(o.log.names() == std::vector<std::string>{"op_case", "bool_string"});
    const Outcome strict = run("User", kUser, body, "entra", true);
    REQUIRE_FALSE(strict.result.has_value());
    CHECK(strict.result.error().scim_type == ScimType::kInvalidSyntax);
    CHECK(strict.result.error().detail.find("lower-case") != std::string::npos);
}

TEST_CASE("Entra replaces a filtered value that is not there: it is created") {
    const Case cases[] = {
        {"entra: created", R"([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0101"}])",
         R"({"phoneNumbers": [{"type": "work", "value": "+1 555 0101"}]})", 200, ScimType::kNone,
         {"op_case", "replace_missing_filtered_creates"}, "entra"},
        {"generic token, Entra's capitalised ops: Entra's semantics",
         R"([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0101"}])",
         R"({"phoneNumbers": [{"type": "work", "value": "+1 555 0101"}]})", 200, ScimType::kNone,
         {"op_case", "replace_missing_filtered_creates"}, "generic"},
        {"RFC client: noTarget", R"([{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0101"}])",
         "", 400, ScimType::kNoTarget, {}, "okta"},
    };
    for (const Case& c : cases) {
        check_case(c);
    }
}

TEST_CASE("Entra sets and removes the manager in its shapes") {
    const Case cases[] = {
        {"manager as [{$ref, value}] on the unqualified path",
         R"([{"op": "Add", "path": "manager", "value": [{"$ref": "https://x/Users/b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10", "value": "b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10"}]}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984",
             "manager": {"value": "b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10", "$ref": "https://x/Users/b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10"}}})",
         200, ScimType::kNone, {"op_case", "unqualified_extension_attribute", "complex_as_array"}, "entra"},
        {"manager as a bare string",
         R"([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10"}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984",
             "manager": {"value": "b2f7d84c-5e49-4dc8-a6b0-3a2d1b6a2f10"}}})",
         200, ScimType::kNone, {"complex_as_string"}, "entra"},
        {"manager removed with a value filter on the single-valued attribute",
         R"([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"26118915-6090-4610-87e4-49d8ca9f808d\"]"}])",
         R"({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}})",
         200, ScimType::kNone, {"op_case", "filter_on_single_valued"}, "entra"},
        {"strict: a filter on a single-valued attribute is invalidPath",
         R"([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"x\"]"}])",
         "", 400, ScimType::kInvalidPath, {}, "entra", true},
        {"strict: a bare string for a complex attribute is invalidValue",
         R"([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "x"}])",
         "", 400, ScimType::kInvalidValue, {}, "entra", true},
    };
    for (const Case& c : cases) {
        check_case(c);
    }
}

TEST_CASE("Entra's no-path replace with dotted and URN keys (aadOptscim062020)") {
    const Case cases[] = {
        {"dotted and URN keys become paths",
         R"([{"op": "replace", "value": {"name.givenName": "Babs", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42", "displayName": "Babs"}}])",
         R"({"name": {"givenName": "Babs", "familyName": "Jensen"}, "displayName": "Babs",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42",
             "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}})",
         200, ScimType::kNone, {"dotted_key", "urn_key"}, "entra"},
        {"strict: refused with the key named",
         R"([{"op": "replace", "value": {"name.givenName": "Babs"}}])", "", 400, ScimType::kInvalidSyntax, {}, "entra", true},
        {"a simple value wrapped as [{$ref: null, value}]",
         R"([{"op": "Replace", "path": "displayName", "value": [{"$ref": null, "value": "Babs"}]}])",
         R"({"displayName": "Babs"})", 200, ScimType::kNone, {"op_case", "wrapped_simple_value"}, "entra"},
        {"emails removed by listing them",
         R"([{"op": "Remove", "path": "emails", "value": [{"value": "babs@jensen.org"}]}])",
         R"({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]})", 200, ScimType::kNone,
         {"op_case", "remove_by_value"}, "entra"},
    };
    for (const Case& c : cases) {
        check_case(c);
    }
}

TEST_CASE("Entra and JumpCloud remove members by value list") {
    const std::string body = R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "0000000A-0000-4000-8000-000000000000"}]}]})";
    const Outcome o = run("Group", kGroup, body, "entra");
    REQUIRE(o.result.has_value());
    REQUIRE(o.result->member_steps.size() == 1);
    CHECK(o.result->member_steps[0].kind == MemberStep::Kind::kRemove);
    CHECK(o.result->member_steps[0].ids == std::vector<std::string>{"0000000a-0000-4000-8000-000000000000"});
    CHECK(o.log.names() == std::vector<std::string>{"op_case", "remove_by_value"});
    const Outcome strict = run("Group", kGroup,
                               R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members", "value": [{"value": "x"}]}]})", "jumpcloud", true);
    REQUIRE_FALSE(strict.result.has_value());
    CHECK(strict.result.error().scim_type == ScimType::kInvalidValue);
}

TEST_CASE("Okta renames a group with its id in the value, and deactivates without a path") {
    const std::string rename = R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": "2819c223-7f76-453a-919d-413861904646", "displayName": "Guides"}}]})";
    const Outcome o = run("Group", kGroup, rename, "okta");
    REQUIRE(o.result.has_value());
    CHECK(o.result->document.at("displayName") == "Guides");
    CHECK(o.log.names() == std::vector<std::string>{"id_in_value"});
    const Outcome other_id = run("Group", kGroup, R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": "someone-else", "displayName": "Guides"}}]})", "okta");
    REQUIRE_FALSE(other_id.result.has_value());
    CHECK(other_id.result.error().scim_type == ScimType::kMutability);
    const Outcome strict = run("Group", kGroup, rename, "okta", true);
    REQUIRE_FALSE(strict.result.has_value());
    CHECK(strict.result.error().scim_type == ScimType::kMutability);

    const Outcome deactivate = run("User", kUser, R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]})", "okta", true);
    REQUIRE(deactivate.result.has_value());
    CHECK(deactivate.result->document.at("active") == false);
    CHECK(deactivate.log.empty());
}

TEST_CASE("OneLogin templates quote booleans: coerced unless strict") {
    const std::string body = R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "mpepper", "active": "true", "id": null})";
    RewriteLog log;
    const auto coerced = normalize_resource(registry(), type_of("User"), json::parse(body), Leniency::kCoerce, &log);
    REQUIRE(coerced.has_value());
    CHECK(coerced->document.at("active") == true);
    CHECK(log.names() == std::vector<std::string>{"bool_string"});
    CHECK_FALSE(normalize_resource(registry(), type_of("User"), json::parse(body), Leniency::kStrict).has_value());
}

TEST_CASE("the PATCH body itself: schemas, Operations and their members") {
    RewriteLog log;
    const Dialect strict = dialect_for("generic", true);
    const Dialect tolerant = dialect_for("generic", false);
    const auto decode = [&](std::string_view body, const Dialect& d) { return decode_patch(json::parse(body), d, log); };
    CHECK_FALSE((decode(R"([])", tolerant)).has_value());
    CHECK_FALSE((decode(R"({"Operations": [{"op": "add", "path": "title", "value": "x"}]})", strict)).has_value());
    CHECK((decode(R"({"Operations": [{"op": "add", "path": "title", "value": "x"}]})", tolerant)).has_value());
    CHECK(log.names() == std::vector<std::string>{"schemas_missing"});
    CHECK_FALSE((decode(ops(R"([{"op": "add", "path": 7, "value": "x"}])"), tolerant)).has_value());
    CHECK_FALSE((decode(ops(R"([{"op": "add", "path": "title", "value": "x", "extra": 1}])"), strict)).has_value());
    CHECK_FALSE((decode(ops(R"(["add"])"), tolerant)).has_value());
    std::string many = "[";
    for (int i = 0; i < 1001; ++i) {
        many += std::string(i > 0 ? "," : "") + R"({"op": "add", "path": "title", "value": "x"})";
    }
    const auto too_many = decode(ops(many + "]"), tolerant);
    REQUIRE_FALSE((too_many).has_value());
    CHECK(too_many.error().scim_type == ScimType::kTooMany);
}

TEST_CASE("RFC 7644 3.5.2 PATCH path grammar: one parser for paths and filters") {
    auto p = parse_patch_path("emails[type eq \"work\" and value ew \"]x\"].value");
    REQUIRE((p).has_value());
    CHECK(p->attr.attr == "emails");
    REQUIRE(p->filter);
    CHECK(to_string(*p->filter) == "((type eq \"work\") and (value ew \"]x\"))");
    CHECK(p->filter_sub == "value");
    auto urn = parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    REQUIRE((urn).has_value());
    CHECK(urn->attr.urn == kEnterprise);
    CHECK(urn->attr.attr == "manager");
    CHECK(urn->attr.sub == "value");
    for (const char* bad : {"", "emails[", "emails[type eq \"work\"]value", "emails[type eq]", "name.given.x",
                            "emails[type eq \"work\"].", "1abc"}) {
        CAPTURE(bad);
        const auto r = parse_patch_path(bad);
        REQUIRE_FALSE((r).has_value());
        CHECK(r.error().scim_type == ScimType::kInvalidPath);
    }
}

TEST_CASE("RFC 7644 3.5.2 the service writes one version per PATCH and nothing for a no-op") {
    scimbridge::tests::InMemoryResourceStore store;
    struct : Clock {
        std::string now_rfc3339() const override { return "2026-11-22T10:00:00.000Z"; }
    } clock;
    struct : IdGenerator {
        int n = 0;
        std::string next_id() override { return "00000000-0000-4000-8000-" + std::string(11, '0') + std::to_string(++n); }
    } ids;
    ResourceService service(store, clock, ids);
    CallContext ctx{"t", &registry(), Leniency::kCoerce, dialect_for("generic", false)};
    auto user = service.create(ctx, ResourceKind::kUser, json::parse(kUser));
    REQUIRE((user).has_value());
    const std::size_t writes = store.writes.size();
    auto patched = service.patch(ctx, ResourceKind::kUser, user->id, json::parse(ops(
        R"([{"op": "replace", "path": "title", "value": "a"}, {"op": "replace", "path": "nickName", "value": "b"}])")),
        "", {});
    REQUIRE((patched).has_value());
    CHECK(patched->version == user->version + 1);
    CHECK(store.writes.size() == writes + 1);
    CHECK(store.writes.back().event.operation == "patch");
    auto again = service.patch(ctx, ResourceKind::kUser, user->id, json::parse(ops(
        R"([{"op": "replace", "path": "title", "value": "a"}])")), "", {});
    REQUIRE((again).has_value());
    CHECK(again->version == patched->version);
    CHECK(store.writes.size() == writes + 1);
    auto stale = service.patch(ctx, ResourceKind::kUser, user->id, json::parse(ops(
        R"([{"op": "replace", "path": "title", "value": "c"}])")), "W/\"1\"", {});
    REQUIRE_FALSE((stale).has_value());
    CHECK(stale.error().status == 412);
    auto failing = service.patch(ctx, ResourceKind::kUser, user->id, json::parse(ops(
        R"([{"op": "replace", "path": "title", "value": "z"}, {"op": "remove", "path": "userName"}])")), "", {});
    REQUIRE_FALSE((failing).has_value());
    CHECK(store.find("t", ResourceKind::kUser, user->id, {})->document.at("title") == "a");
    CHECK(service.patch(ctx, ResourceKind::kUser, "00000000-0000-4000-8000-000000000999",
                        json::parse(ops(R"([{"op": "remove", "path": "title"}])")), "", {}).error().status == 404);
}
