#include "scim/filter_eval.hpp"

#include "scim/filter.hpp"
#include "scim/resource_service.hpp"

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace scimbridge::scim;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;

namespace {

// Prefixes for extension paths: kAcme + "clearance" is "urn:...:acme:2.0:User:clearance".
const std::string kEnt = std::string(kEnterpriseUserSchema) + ":";
const std::string kAcme = "urn:example:params:scim:schemas:extension:acme:2.0:User:";

// A tenant extension with the types the core User lacks: integer, decimal, dateTime, a
// caseExact string, singular binary, a multi-valued string, complex with and without "value".
constexpr const char* kAcmeSchema = R"({
  "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
  "name": "AcmeUser",
  "attributes": [
    { "name": "badgeNumber", "type": "string", "caseExact": true },
    { "name": "clearance", "type": "integer" },
    { "name": "score", "type": "decimal" },
    { "name": "hired", "type": "dateTime" },
    { "name": "verified", "type": "boolean" },
    { "name": "token", "type": "binary", "caseExact": true },
    { "name": "tags", "type": "string", "multiValued": true },
    { "name": "site", "type": "complex", "subAttributes": [
        { "name": "code", "type": "string", "caseExact": true },
        { "name": "floor", "type": "integer" } ] },
    { "name": "badges", "type": "complex", "multiValued": true, "subAttributes": [
        { "name": "serial", "type": "string" },
        { "name": "issued", "type": "dateTime" } ] }
  ]
})";

const SchemaRegistry& registry() {
    static const SchemaRegistry r = [] {
        auto built = build_registry({TenantSchema{"User", json::parse(kAcmeSchema).as_object()}});
        if (!built) {
            throw std::runtime_error(built.error().detail);
        }
        return std::move(*built);
    }();
    return r;
}

const ResourceType& user_type() { return *registry().resource_type("User"); }
const ResourceType& group_type() { return *registry().resource_type("Group"); }

struct Named {
    const char* name;
    StoredResource resource;
};

// RFC 7643 §8.2 Barbara Jensen, with the enterprise and acme extensions.
constexpr const char* kBjensen = R"({
  "userName": "bjensen@example.com",
  "name": { "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
            "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III" },
  "displayName": "Babs Jensen",
  "nickName": "Babs",
  "profileUrl": "https://login.example.com/bjensen",
  "emails": [ { "value": "bjensen@example.com", "type": "work", "primary": true },
              { "value": "babs@jensen.org", "type": "home" } ],
  "addresses": [ { "type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                   "region": "CA", "postalCode": "91608", "country": "USA", "primary": true } ],
  "phoneNumbers": [ { "value": "555-555-5555", "type": "work" }, { "value": "555-555-4444", "type": "mobile" } ],
  "ims": [ { "value": "someaimhandle", "type": "aim" } ],
  "photos": [ { "value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo" } ],
  "userType": "Employee",
  "title": "Tour Guide",
  "preferredLanguage": "en-US",
  "locale": "en-US",
  "timezone": "America/Los_Angeles",
  "active": true,
  "x509Certificates": [ { "value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw" } ],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
    "division": "Theme Park", "department": "Tour Operations",
    "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                 "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith" } },
  "urn:example:params:scim:schemas:extension:acme:2.0:User": {
    "badgeNumber": "AB-17", "clearance": 3, "score": 4.5, "hired": "2011-05-13T04:42:34-07:00",
    "verified": true, "token": "QUJD", "tags": ["Blue", "green"], "site": { "code": "HQ", "floor": 12 },
    "badges": [ { "serial": "S-1", "issued": "2012-01-01T00:00:00Z" } ] }
})";

// Non-ASCII and hostile text, empty strings and nulls, a uint64 beyond int64, no externalId.
constexpr const char* kZoe = R"({
  "userName": "ZOË",
  "name": { "givenName": "", "familyName": null },
  "displayName": "He said \"hi\" \\ 100% _x_",
  "nickName": "ΣΑΣ",
  "title": "",
  "active": false,
  "emails": [ { "value": "Zoe@Example.ORG", "type": "work" },
              { "value": "zoë@home.example", "type": "home", "primary": true },
              { "type": "other" } ],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "%_" },
  "urn:example:params:scim:schemas:extension:acme:2.0:User": {
    "clearance": 18446744073709551615, "score": -0.5, "hired": "2011-05-13T11:00:00Z",
    "verified": false, "token": "qujd", "tags": [], "site": { "code": "", "floor": null },
    "badges": [ { "serial": "S-2" } ] }
})";

StoredResource user(std::string id, std::optional<std::string> external_id, std::string created,
                    std::string last_modified, const char* document) {
    StoredResource r;
    r.id = std::move(id);
    r.external_id = std::move(external_id);
    r.created = std::move(created);
    r.last_modified = std::move(last_modified);
    r.document = json::parse(document).as_object();
    return r;
}

const std::vector<Named>& users() {
    static const std::vector<Named> all = {
        {"bjensen", user("2819c223-7f76-453a-919d-413861904646", "Bjensen-701984",
                         "2010-01-23T04:56:22Z", "2011-05-13T04:42:34Z", kBjensen)},
        // Hand-built timestamps: a fraction beyond microseconds and an offset.
        {"zoe", user("c3a26dd3-27a0-4dec-a2ac-ce211e105f97", std::nullopt,
                     "2012-02-02T00:00:00.123456789Z", "2011-05-13T04:42:34-07:00", kZoe)},
        {"min", user("0a9e2d3c-0000-4000-8000-000000000003", "", "2013-03-03T03:03:03Z",
                     "2013-03-03T03:03:03Z", R"({"userName": "min"})")},
    };
    return all;
}

const std::vector<Named>& groups() {
    static const std::vector<Named> all = [] {
        std::vector<Named> g(3);
        g[0].name = "guides";
        g[0].resource.id = "e9e30dba-f08f-4109-8486-d5c6a331660a";
        g[0].resource.document = json::parse(R"({"displayName": "Tour Guides"})").as_object();
        g[0].resource.members = std::vector<MemberRef>{
            {"2819c223-7f76-453a-919d-413861904646", "User", "Babs Jensen"}};
        g[1].name = "unloaded";  // members not loaded: nothing to match
        g[1].resource.id = "fc348aa8-3835-40eb-a20b-c726e15c55b5";
        g[1].resource.document = json::parse(R"({"displayName": "Unloaded"})").as_object();
        g[2].name = "empty";
        g[2].resource.id = "7a1c6b7e-3f57-4a5e-9e2e-1e2d3c4b5a69";
        g[2].resource.document = json::parse(R"({"displayName": "Empty"})").as_object();
        g[2].resource.members.emplace();
        return g;
    }();
    return all;
}

// The names of the resources `filter` matches, space-separated, or why it was refused.
std::string matching(const std::string& filter, const std::vector<Named>& resources,
                     const ResourceType& type) {
    auto f = parse_filter(filter);
    if (!f) {
        return "parse error: " + f.error().detail;
    }
    if (auto known = check_filter_attributes(registry(), type, **f); !known) {
        return "check_filter_attributes: " + known.error().detail;
    }
    if (auto ok = check_filter_semantics(**f, registry(), type); !ok) {
        return "check_filter_semantics: " + ok.error().detail;
    }
    std::string out;
    for (const Named& r : resources) {
        if (matches(**f, r.resource, registry(), type)) {
            out += out.empty() ? "" : " ";
            out += r.name;
        }
    }
    return out;
}

struct Case {
    std::string filter;
    const char* expected;  // the users it matches, in the order bjensen zoe min
};

void check_users(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        CAPTURE(c.filter);
        CHECK(matching(c.filter, users(), user_type()) == c.expected);
    }
}

// Every filter here passes check_filter_attributes: the refusal is check_filter_semantics's.
void check_refused(const std::vector<std::string>& filters, const ResourceType& type) {
    for (const std::string& text : filters) {
        CAPTURE(text);
        auto f = parse_filter(text);
        REQUIRE(f.has_value());
        CHECK(check_filter_attributes(registry(), type, **f).has_value());
        const auto r = check_filter_semantics(**f, registry(), type);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 400);
        CHECK(r.error().scim_type == ScimType::kInvalidFilter);
        CHECK_FALSE(r.error().detail.empty());
    }
}

}  // namespace

TEST_SUITE("scim.filter_eval") {
TEST_CASE("RFC 7644 3.4.2.2 attribute paths: core, URN-qualified, extensions, case-insensitive names") {
    check_users({
        {R"(userName eq "bjensen@example.com")", "bjensen"},
        {R"(USERNAME eq "BJENSEN@EXAMPLE.COM")", "bjensen"},
        {R"(urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com")", "bjensen"},
        {R"(URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName eq "min")", "min"},
        {R"(name.familyName eq "jensen")", "bjensen"},
        {R"(NAME.GIVENNAME sw "barb")", "bjensen"},
        {kEnt + R"(employeeNumber eq "701984")", "bjensen"},
        {kEnt + R"(manager.value eq "26118915-6090-4610-87E4-49D8CA9F808D")", "bjensen"},
        {"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:MANAGER.DISPLAYNAME eq \"john smith\"",
         "bjensen"},
        {kAcme + R"(site.floor eq 12)", "bjensen"},
        {R"(photos sw "HTTPS://photos.example.com/")", "bjensen"},  // reference, caseExact false
    });
}

TEST_CASE("RFC 7643 3.1 common attributes: id, externalId (caseExact), meta.created, meta.lastModified") {
    check_users({
        {R"(id eq "2819c223-7f76-453a-919d-413861904646")", "bjensen"},
        {R"(id eq "2819C223-7F76-453A-919D-413861904646")", "bjensen"},
        {R"(urn:ietf:params:scim:schemas:core:2.0:User:id sw "c3a2")", "zoe"},
        {R"(id pr)", "bjensen zoe min"},
        {R"(externalId eq "Bjensen-701984")", "bjensen"},
        {R"(externalId eq "bjensen-701984")", ""},
        {R"(externalId gt "B")", "bjensen"},
        {R"(externalId lt "a")", "bjensen min"},  // "" is a value, just not a present one
        {R"(externalId pr)", "bjensen"},
        {R"(meta.created eq "2010-01-23T04:56:22Z")", "bjensen"},
        {R"(META.CREATED pr)", "bjensen zoe min"},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 multi-valued attributes: any value matches, no value never does") {
    check_users({
        {R"(emails eq "babs@jensen.org")", "bjensen"},  // emails means emails.value
        {R"(emails.value eq "babs@jensen.org")", "bjensen"},
        {R"(emails.type eq "home")", "bjensen zoe"},
        {R"(emails.value ew ".ORG")", "bjensen zoe"},
        {R"(phoneNumbers eq "555-555-4444")", "bjensen"},
        {R"(emails.primary eq true)", "bjensen zoe"},
        {R"(emails.primary eq false)", ""},  // absent is not false
        {R"(emails.display co "")", ""},
        {kAcme + R"(tags eq "BLUE")", "bjensen"},
        {kAcme + R"(tags sw "gr")", "bjensen"},
        {kAcme + R"(badges.serial ew "2")", "zoe"},
        {R"(emails.type ne "work")", "min"},
        {R"(emails ne "babs@jensen.org")", "zoe min"},
        // The conditions hold on different elements: a value filter (below) ties them to one.
        {R"(emails.type eq "home" and emails.value ew "example.com")", "bjensen"},
    });
}

TEST_CASE("RFC 7643 2.3.1 strings: Unicode lower-casing per code point, code-point order") {
    check_users({
        {R"(userName eq "zoë")", "zoe"},
        {R"(userName co "ë")", "zoe"},
        {R"(userName co "Ë")", "zoe"},
        {R"(userName eq "ZOE")", ""},
        {R"(emails co "ZOË@HOME")", "zoe"},
        // Like PostgreSQL lower(): each code point alone, so no final sigma.
        {R"(nickName eq "σασ")", "zoe"},
        {R"(nickName eq "σας")", ""},
        {R"(userName sw "")", "bjensen zoe min"},
        {R"(title co "")", "bjensen zoe"},  // "" contains "": a value, even if not a present one
        {R"(nickName ew "")", "bjensen zoe"},
        {R"(userName gt "zoe")", "zoe"},  // ë (C3 AB) sorts after e
        {R"(userName ge "ZOË")", "zoe"},
        {R"(userName gt "ZOË")", ""},
        {R"(userName lt "c")", "bjensen"},
        {R"(userName ge "min")", "zoe min"},
        {R"(userName le "MIN")", "bjensen min"},
        {R"(nickName gt "z")", "zoe"},  // σ is U+03C3: code-point order, no collation
        {R"(nickName lt "BABT")", "bjensen"},
        // caseExact: no lower-casing, so "AB-17" sorts before "a".
        {kAcme + R"(badgeNumber eq "AB-17")", "bjensen"},
        {kAcme + R"(badgeNumber eq "ab-17")", ""},
        {kAcme + R"(badgeNumber gt "a")", ""},
        {kAcme + R"(badgeNumber lt "a")", "bjensen"},
        {kAcme + R"(site.code co "Q")", "bjensen"},
        {kAcme + R"(site.code co "q")", ""},
        // Binary is caseExact in the core schema and here.
        {R"(x509Certificates eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw")", "bjensen"},
        {R"(x509Certificates eq "miidqzccaqygawibagiceaawdqyjkozihvcnaqefbqaw")", ""},
        {kAcme + R"(token eq "qujd")", "zoe"},
        {kAcme + R"(token ne "qujd")", "bjensen min"},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 hostile literals: quotes, backslashes, % and _ are ordinary characters") {
    check_users({
        {R"(displayName eq "He said \"hi\" \\ 100% _x_")", "zoe"},
        {R"(displayName co "\"hi\"")", "zoe"},
        {R"(displayName co "\\")", "zoe"},
        {R"(displayName co "100%")", "zoe"},
        {R"(displayName co "%")", "zoe"},
        {R"(displayName co "_")", "zoe"},
        {R"(displayName ew "_x_")", "zoe"},
        {R"(displayName co "100%_")", ""},
        {R"(displayName sw "%")", ""},
        {R"(displayName sw "B_bs")", ""},
        {R"(displayName co "b%s")", ""},
        {R"(displayName eq "Babs Jensen' OR '1'='1")", ""},
        {kEnt + R"(employeeNumber eq "%_")", "zoe"},
        {kEnt + R"(employeeNumber co "%")", "zoe"},
    });
}

TEST_CASE("RFC 7643 2.3.2 booleans: eq and ne") {
    check_users({
        {R"(active eq true)", "bjensen"},
        {R"(active eq false)", "zoe"},
        {R"(active ne true)", "zoe min"},
        {R"(active ne false)", "bjensen min"},
        {R"(active pr)", "bjensen zoe"},  // false is a value
        {kAcme + R"(verified eq false)", "zoe"},
    });
}

TEST_CASE("RFC 7643 2.3.3 2.3.4 integers and decimals compare as doubles") {
    check_users({
        {kAcme + R"(clearance eq 3)", "bjensen"},
        {kAcme + R"(clearance eq 3.0)", "bjensen"},
        {kAcme + R"(clearance gt 2.5)", "bjensen zoe"},
        {kAcme + R"(clearance ge 18446744073709551615)", "zoe"},
        // Both sides are doubles: uint64 neighbours near 2^64 are equal.
        {kAcme + R"(clearance eq 18446744073709551614)", "zoe"},
        {kAcme + R"(clearance lt 0)", ""},
        {kAcme + R"(clearance ne 3)", "zoe min"},
        {kAcme + R"(score eq 4.5)", "bjensen"},
        {kAcme + R"(score lt 0)", "zoe"},
        {kAcme + R"(score ge -0.5)", "bjensen zoe"},
        {kAcme + R"(score gt -1e3)", "bjensen zoe"},
        {kAcme + R"(site.floor le 12)", "bjensen"},
    });
}

TEST_CASE("RFC 7643 2.3.5 dateTime compares instants across offsets") {
    check_users({
        // zoe: 04:42:34-07:00 is 11:42:34Z.
        {R"(meta.lastModified gt "2011-05-13T11:00:00Z")", "zoe min"},
        {R"(meta.lastModified eq "2011-05-13T11:42:34Z")", "zoe"},
        {R"(meta.lastModified eq "2011-05-13T13:12:34+01:30")", "zoe"},
        {R"(meta.lastModified le "2011-05-13T04:42:34Z")", "bjensen"},
        {R"(meta.lastModified lt "2011-05-13T04:42:34Z")", ""},
        {R"(meta.lastModified lt "2011-05-13T04:42:34.000001Z")", "bjensen"},
        {R"(meta.lastModified ne "2011-05-13T11:42:34Z")", "bjensen min"},
        // Fractions are truncated to microseconds on both sides.
        {R"(meta.created eq "2012-02-02T00:00:00.123456Z")", "zoe"},
        {R"(meta.created lt "2012-02-02T00:00:00.1234569Z")", "bjensen"},
        {R"(meta.created gt "2012-02-29T23:59:59Z")", "min"},
        {kAcme + R"(hired gt "2011-05-13T11:00:00Z")", "bjensen"},
        {kAcme + R"(hired eq "2011-05-13T04:00:00-07:00")", "zoe"},
        {kAcme + R"(badges.issued lt "2012-01-01T00:00:00.000001Z")", "bjensen"},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 null: eq null is not pr, ne null is pr") {
    check_users({
        {R"(title eq null)", "zoe min"},
        {R"(title ne null)", "bjensen"},
        {R"(externalId eq null)", "zoe min"},
        {R"(name eq null)", "zoe min"},
        {R"(name ne null)", "bjensen"},
        {R"(emails eq null)", "min"},
        {kAcme + R"(tags eq null)", "zoe min"},
        {kEnt + R"(manager eq null)", "zoe min"},
        {R"(active eq null)", "min"},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 ne and not are true when the attribute is absent") {
    check_users({
        {R"(nickName ne "babs")", "zoe min"},
        {R"(userType ne "Employee")", "zoe min"},
        {R"(externalId ne "x")", "bjensen zoe min"},
        {R"(not (nickName eq "babs"))", "zoe min"},
        {R"(not (title pr))", "zoe min"},
        {R"(not (emails.type eq "work") and userName pr)", "min"},
        {R"(not (not (active eq true)))", "bjensen"},
        {R"(userName sw "b" and active eq true)", "bjensen"},
        {R"(userName eq "min" or active eq false)", "zoe min"},
        {R"((title pr or nickName pr) and not (active eq true))", "zoe"},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 pr: a value that is neither null nor empty") {
    check_users({
        {R"(title pr)", "bjensen"},
        {R"(name pr)", "bjensen"},  // zoe's name holds only "" and null
        {R"(name.givenName pr)", "bjensen"},
        {R"(name.familyName pr)", "bjensen"},
        {R"(emails pr)", "bjensen zoe"},
        {R"(emails.value pr)", "bjensen zoe"},
        {R"(emails.display pr)", ""},
        {R"(phoneNumbers pr)", "bjensen"},
        {kAcme + R"(tags pr)", "bjensen"},  // zoe's is []
        {kAcme + R"(site pr)", "bjensen"},
        {kAcme + R"(site.code pr)", "bjensen"},
        {kAcme + R"(badges pr)", "bjensen zoe"},
        {kAcme + R"(badges.issued pr)", "bjensen"},
        {kEnt + R"(manager pr)", "bjensen"},
        {kEnt + R"(employeeNumber pr)", "bjensen zoe"},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 value filters: one element satisfies the whole inner filter") {
    check_users({
        {R"(emails[type eq "work" and value co "example.com"])", "bjensen"},
        {R"(emails[type eq "work" and value ew ".org"])", "zoe"},
        {R"(emails[type eq "home" and value ew "example.com"])", ""},
        {R"(emails[primary eq true and type eq "home"])", "zoe"},
        {R"(emails[not (value pr)])", "zoe"},
        {R"(emails[value eq null])", "zoe"},
        {R"(emails[display pr])", ""},
        {R"(emails[type ne "work"])", "bjensen zoe"},
        {R"(not (emails[type eq "work"]))", "min"},
        {R"(EMAILS[TYPE eq "WORK"])", "bjensen zoe"},
        {R"(urn:ietf:params:scim:schemas:core:2.0:User:addresses[locality eq "hollywood" and primary eq true])",
         "bjensen"},
        {R"(x509Certificates[value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"])", "bjensen"},
        {kAcme + R"(badges[serial eq "s-2"])", "zoe"},
        {kAcme + R"(badges[issued pr])", "bjensen"},
        {kAcme + R"(badges[issued gt "2011-12-31T23:00:00-01:00"])", ""},
    });
}

TEST_CASE("RFC 7644 3.4.2.2 Group members eq an id, case-insensitively, when loaded") {
    const std::vector<std::pair<std::string, const char*>> cases = {
        {R"(members eq "2819C223-7F76-453A-919D-413861904646")", "guides"},
        {R"(members.value eq "2819c223-7f76-453a-919d-413861904646")", "guides"},
        {R"(urn:ietf:params:scim:schemas:core:2.0:Group:members.VALUE eq "2819c223-7f76-453a-919d-413861904646")",
         "guides"},
        {R"(members eq "c3a26dd3-27a0-4dec-a2ac-ce211e105f97")", ""},
        {R"(not (members eq "2819c223-7f76-453a-919d-413861904646"))", "unloaded empty"},
        {R"(displayName eq "tour guides")", "guides"},
    };
    for (const auto& [filter, expected] : cases) {
        CAPTURE(filter);
        CHECK(matching(filter, groups(), group_type()) == std::string(expected));
    }
}

TEST_CASE("check_filter_semantics refuses literals of the wrong type: 400 invalidFilter") {
    check_refused({
        R"(userName eq 42)",
        R"(userName eq true)",
        R"(userName gt 1)",
        R"(emails co false)",
        R"(id eq 5)",
        R"(externalId gt 3)",
        R"(x509Certificates eq 12)",
        R"(active eq "true")",
        R"(active eq 1)",
        R"(emails.primary ne "false")",
        kAcme + R"(clearance eq "3")",
        kAcme + R"(clearance gt true)",
        kAcme + R"(score ne "4.5")",
        R"(meta.created gt 2011)",
        R"(meta.created eq true)",
        // dateTime literals must be full xsd:dateTime with a zone, and real instants.
        R"(meta.created gt "yesterday")",
        R"(meta.created gt "2011-05-13")",
        R"(meta.created gt "2011-05-13T04:42:34")",
        R"(meta.created gt "2011-05-13 04:42:34Z")",
        R"(meta.created gt "2011-02-30T00:00:00Z")",
        R"(meta.created gt "2011-05-13T24:00:00Z")",
        R"(meta.created gt "2011-05-13T04:42:34.Z")",
        R"(meta.lastModified lt "2011-05-13T04:42:34+15:00")",
        kAcme + R"(hired eq "2011-05-13T04:42:34z")",
        R"(emails[type eq 1])",
    }, user_type());
}

TEST_CASE("check_filter_semantics refuses operators the type does not have: 400 invalidFilter") {
    std::vector<std::string> filters;
    for (const char* op : {"co", "sw", "ew", "gt", "ge", "lt", "le"}) {
        filters.push_back(std::string("x509Certificates.value ") + op + " \"MII\"");
        filters.push_back(kAcme + "token " + op + " \"QUJD\"");
        filters.push_back(std::string("active ") + op + " true");
        filters.push_back(std::string("emails[primary ") + op + " false]");
        filters.push_back(std::string("userName ") + op + " null");
    }
    for (const char* op : {"co", "sw", "ew"}) {
        filters.push_back(kAcme + "clearance " + op + " 3");
        filters.push_back(kAcme + "score " + op + " 4.5");
        filters.push_back(std::string("meta.created ") + op + " \"2011-05-13T04:42:34Z\"");
        filters.push_back(std::string("meta.lastModified ") + op + " \"2011\"");
        filters.push_back(kAcme + "hired " + op + " \"2011-05-13T04:42:34Z\"");
    }
    check_refused(filters, user_type());
}

TEST_CASE("check_filter_semantics refuses complex attributes without a sub-attribute: 400 invalidFilter") {
    check_refused({
        R"(name eq "Barbara")",
        R"(name co "B")",
        kEnt + R"(manager eq "26118915-6090-4610-87e4-49d8ca9f808d")",
        kAcme + R"(site gt 1)",
        kAcme + R"(badges eq "S-1")",  // multi-valued, but no "value" sub-attribute
        // Refusals anywhere in the tree refuse the filter.
        R"(userName pr and name eq "x")",
        R"(not (name sw "B"))",
        R"(emails[type eq "work"] or name ew "a")",
    }, user_type());
}

TEST_CASE("check_filter_semantics refuses value filters on what is not multi-valued complex: 400 invalidFilter") {
    check_refused({
        R"(name[givenName eq "Barbara"])",
        kEnt + R"(manager[value eq "x"])",
        kAcme + R"(site[code eq "HQ"])",
        // Inner paths are bare sub-attribute names.
        R"(emails[value.x eq "y"])",
        R"(emails[urn:ietf:params:scim:schemas:core:2.0:User:value eq "x"])",
    }, user_type());
}

TEST_CASE("check_filter_semantics refuses id and externalId sub-attributes and other meta attributes") {
    check_refused({
        R"(id.value eq "x")",
        R"(externalId.x eq "x")",
        R"(externalId.x pr)",
        R"(meta.resourceType eq "User")",
        R"(meta.location sw "https://")",
        R"(meta.version eq "W/\"1\"")",
    }, user_type());
}

TEST_CASE("check_filter_semantics refuses User groups and Group members beyond members eq an id") {
    check_refused({
        R"(groups eq "e9e30dba-f08f-4109-8486-d5c6a331660a")",
        R"(groups.value eq "e9e30dba-f08f-4109-8486-d5c6a331660a")",
        R"(groups pr)",
        R"(groups eq null)",
        R"(groups.display co "Tour")",
        R"(groups[value eq "x"])",
    }, user_type());
    check_refused({
        R"(members ne "2819c223-7f76-453a-919d-413861904646")",
        R"(members co "2819")",
        R"(members gt "2819")",
        R"(members pr)",
        R"(members eq null)",
        R"(members eq 1)",
        R"(members.display eq "Babs Jensen")",
        R"(members.type eq "User")",
        R"(members[value eq "2819c223-7f76-453a-919d-413861904646"])",
        R"(not (members.value pr))",
    }, group_type());
}
}
