#include "scim/resource_service.hpp"

#include "tests/support/in_memory_resource_store.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

using namespace scimbridge::scim;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;

namespace {

class FixedClock final : public Clock {
public:
    std::string now = "2026-01-02T03:04:05.000Z";
    std::string now_rfc3339() const override { return now; }
};

class SequentialIds final : public IdGenerator {
public:
    int issued = 0;
    std::string next_id() override {
        const std::string n = std::to_string(++issued);
        return "00000000-0000-0000-0000-" + std::string(12 - n.size(), '0') + n;
    }
};

constexpr const char* kFirstId = "00000000-0000-0000-0000-000000000001";
constexpr const char* kSecondId = "00000000-0000-0000-0000-000000000002";

constexpr const char* kBjensen = R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "displayName": "Babs Jensen",
  "password": "t1meMa$heen"
})";

constexpr const char* kBarbara = R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "displayName": "Barbara Jensen"
})";

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

struct Fixture {
    scimbridge::tests::InMemoryResourceStore store;
    FixedClock clock;
    SequentialIds ids;
    ResourceService service{store, clock, ids};
    CallContext ctx{"tenant-a", &SchemaRegistry::core(), Leniency::kStrict};

    StoredResource create(ResourceKind kind, std::string_view body) {
        auto r = service.create(ctx, kind, json::parse(body));
        REQUIRE(r.has_value());
        return std::move(*r);
    }
    Result<StoredResource> replace(const std::string& id, std::string_view body,
                                   std::string_view if_match,
                                   ResourceKind kind = ResourceKind::kUser, LoadOptions load = {}) {
        return service.replace(ctx, kind, id, json::parse(body), if_match, load);
    }
    std::int64_t stored_version(const std::string& id) {
        const auto r = store.find(ctx.tenant_id, ResourceKind::kUser, id, {});
        REQUIRE(r.has_value());
        return r->version;
    }
};

const ResourceType& user_type() { return *SchemaRegistry::core().resource_type("User"); }
const ResourceType& group_type() { return *SchemaRegistry::core().resource_type("Group"); }

Result<void> check_filter(const ResourceType& type, std::string_view text) {
    auto f = parse_filter(text);
    REQUIRE(f.has_value());
    return check_filter_attributes(SchemaRegistry::core(), type, **f);
}

}  // namespace

TEST_SUITE("scim.resource_service") {
TEST_CASE("RFC 7644 3.3 create: id from the generator, version 1, meta times from the clock") {
    Fixture fx;
    const StoredResource r = fx.create(ResourceKind::kUser, kBjensen);
    CHECK(r.id == kFirstId);
    CHECK(r.version == 1);
    CHECK(r.created == "2026-01-02T03:04:05.000Z");
    CHECK(r.last_modified == "2026-01-02T03:04:05.000Z");
    CHECK(r.external_id == std::optional<std::string>("701984"));
    CHECK(r.document == json::parse(R"({"userName": "bjensen@example.com", "displayName": "Babs Jensen"})"));
    CHECK(r.schemas == std::vector<std::string>{std::string(kUserSchema)});

    REQUIRE(fx.store.writes.size() == 1);
    const WriteRequest& w = fx.store.writes[0];
    CHECK(w.timestamp == fx.clock.now);
    CHECK_FALSE(w.expected_version.has_value());
    CHECK(w.event.operation == "create");
    CHECK(contains(w.event.changed, "userName"));
    CHECK(contains(w.event.changed, "displayName"));
    CHECK(contains(w.event.changed, "externalId"));
    CHECK_FALSE(contains(w.event.changed, "password"));

    fx.clock.now = "2026-01-02T03:04:06.000Z";
    const StoredResource second =
        fx.create(ResourceKind::kUser, R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mpepperidge"})");
    CHECK(second.id == kSecondId);
    CHECK(second.version == 1);
    CHECK(second.created == "2026-01-02T03:04:06.000Z");
}

TEST_CASE("RFC 7644 3.3 create with an invalid body writes nothing") {
    Fixture fx;
    const auto r = fx.service.create(fx.ctx, ResourceKind::kUser,
                                     json::parse(R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 400);
    CHECK(r.error().scim_type == ScimType::kInvalidValue);
    CHECK(fx.store.writes.empty());
    CHECK(fx.ids.issued == 0);
}

TEST_CASE("RFC 7644 3.3 create a group with its members") {
    Fixture fx;
    const StoredResource u = fx.create(ResourceKind::kUser, R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"})");
    const StoredResource g2 = fx.create(ResourceKind::kGroup, R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Inner"})");
    const StoredResource g = fx.create(ResourceKind::kGroup, R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      "displayName": "Tour Guides",
      "members": [{"value": ")" + u.id + R"("}, {"value": ")" + g2.id + R"(", "type": "Group"}]})");
    CHECK(g.document == json::parse(R"({"displayName": "Tour Guides"})"));
    REQUIRE(fx.store.writes.size() == 3);
    const WriteRequest& w = fx.store.writes[2];
    REQUIRE(w.member_steps.size() == 1);
    CHECK(w.member_steps[0].kind == MemberStep::Kind::kAdd);
    REQUIRE(w.member_steps[0].members.size() == 2);
    CHECK(w.member_steps[0].members[0].value == u.id);
    CHECK(w.member_steps[0].members[0].type.empty());
    CHECK(w.member_steps[0].members[1].value == g2.id);
    CHECK(w.member_steps[0].members[1].type == "Group");
    CHECK(contains(w.event.changed, "members"));
    CHECK(contains(w.event.changed, "displayName"));
    REQUIRE(g.members.has_value());
    CHECK(g.members->size() == 2);
}

TEST_CASE("RFC 7644 3.4.1 get: the stored resource, 404 when missing") {
    Fixture fx;
    const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
    const auto found = fx.service.get(fx.ctx, ResourceKind::kUser, created.id, {});
    REQUIRE(found.has_value());
    CHECK(found->id == created.id);
    CHECK(found->version == 1);

    for (const char* id : {"00000000-0000-0000-0000-000000000099", "not-a-uuid"}) {
        CAPTURE(id);
        const auto missing = fx.service.get(fx.ctx, ResourceKind::kUser, id, {});
        CHECK_FALSE(missing.has_value());
        if (!missing.has_value()) {
            CHECK(missing.error().status == 404);
        }
    }
    // A user id is not a group id, and another tenant does not see it.
    CHECK(fx.service.get(fx.ctx, ResourceKind::kGroup, created.id, {}).error().status == 404);
    CallContext other = fx.ctx;
    other.tenant_id = "tenant-b";
    CHECK(fx.service.get(other, ResourceKind::kUser, created.id, {}).error().status == 404);
}

TEST_CASE("RFC 7644 3.14 replace with a wrong If-Match is 412 and changes nothing") {
    Fixture fx;
    const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
    for (const char* if_match : {R"(W/"2")", R"("2")", R"(W/"0")", "1", R"(W/"1 ")", "garbage"}) {
        CAPTURE(if_match);
        const auto r = fx.replace(created.id, kBarbara, if_match);
        CHECK_FALSE(r.has_value());
        if (!r.has_value()) {
            CHECK(r.error().status == 412);
        }
    }
    CHECK(fx.stored_version(created.id) == 1);
    CHECK(fx.store.writes.size() == 1);
}

TEST_CASE("RFC 7644 3.14 replace with a matching If-Match succeeds and bumps the version") {
    Fixture fx;
    const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
    std::int64_t expected = 1;
    for (const char* if_match : {R"(W/"1")", R"("2")", "*", R"(W/"9", W/"4")", ""}) {
        CAPTURE(if_match);
        fx.clock.now = "2026-01-03T00:00:0" + std::to_string(expected) + ".000Z";
        const auto r = fx.replace(created.id, kBarbara, if_match);
        CHECK(r.has_value());
        ++expected;
        if (r.has_value()) {
            CHECK(r->version == expected);
            CHECK(r->created == created.created);
            CHECK(r->last_modified == fx.clock.now);
            CHECK(r->document.at("displayName") == "Barbara Jensen");
        }
    }
    CHECK(fx.stored_version(created.id) == 6);

    // The first replace changed displayName; the ones after changed nothing.
    REQUIRE(fx.store.writes.size() == 6);
    CHECK(fx.store.writes[1].event.operation == "replace");
    CHECK(fx.store.writes[1].expected_version == std::optional<std::int64_t>(1));
    CHECK(fx.store.writes[1].event.changed == std::vector<std::string>{"displayName"});
    CHECK(fx.store.writes[2].event.changed.empty());
}

TEST_CASE("RFC 7644 3.5.1 replace: 404 when missing, 400 on an invalid body") {
    Fixture fx;
    const auto missing = fx.replace("00000000-0000-0000-0000-000000000099", kBarbara, "");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().status == 404);

    const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
    const auto invalid = fx.replace(created.id, R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "active": "yes", "userName": "b"})", "");
    REQUIRE_FALSE(invalid.has_value());
    CHECK(invalid.error().status == 400);
    CHECK(fx.stored_version(created.id) == 1);
}

TEST_CASE("RFC 7644 3.14 without If-Match a concurrent write is retried, with it it is 412") {
    SUBCASE("no If-Match: read again and write") {
        Fixture fx;
        const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
        fx.store.concurrent_writes = 1;
        const auto r = fx.replace(created.id, kBarbara, "");
        REQUIRE(r.has_value());
        CHECK(r->version == 3);
        CHECK(fx.store.writes.back().expected_version == std::optional<std::int64_t>(2));
    }
    SUBCASE("If-Match: the client's version is gone") {
        Fixture fx;
        const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
        fx.store.concurrent_writes = 1;
        const auto r = fx.replace(created.id, kBarbara, R"(W/"1")");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 412);
    }
    SUBCASE("endless contention gives up with 412") {
        Fixture fx;
        const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
        fx.store.concurrent_writes = 100;
        const auto r = fx.replace(created.id, kBarbara, "");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 412);
        CHECK(fx.store.writes.size() == 1);
    }
}

TEST_CASE("RFC 7644 3.5.1 PUT replaces a group's members: no members key means none") {
    Fixture fx;
    const StoredResource u = fx.create(ResourceKind::kUser, R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"})");
    const StoredResource g = fx.create(ResourceKind::kGroup, R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      "displayName": "Tour Guides", "members": [{"value": ")" + u.id + R"("}]})");
    REQUIRE(g.members.has_value());
    CHECK(g.members->size() == 1);
    const auto r = fx.replace(g.id, R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      "displayName": "Tour Guides"})", "", ResourceKind::kGroup, {true, false});
    REQUIRE(r.has_value());
    const WriteRequest& w = fx.store.writes.back();
    REQUIRE(w.member_steps.size() == 1);
    CHECK(w.member_steps[0].kind == MemberStep::Kind::kReplace);
    CHECK(w.member_steps[0].members.empty());
    REQUIRE(r->members.has_value());
    CHECK(r->members->empty());
}

TEST_CASE("RFC 7644 3.6 remove: If-Match is checked, then the resource is gone") {
    Fixture fx;
    const StoredResource created = fx.create(ResourceKind::kUser, kBjensen);
    const auto wrong = fx.service.remove(fx.ctx, ResourceKind::kUser, created.id, R"(W/"2")");
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error().status == 412);
    CHECK(fx.service.get(fx.ctx, ResourceKind::kUser, created.id, {}).has_value());

    CHECK(fx.service.remove(fx.ctx, ResourceKind::kUser, created.id, R"(W/"1")").has_value());
    CHECK(fx.service.get(fx.ctx, ResourceKind::kUser, created.id, {}).error().status == 404);
    CHECK(fx.service.remove(fx.ctx, ResourceKind::kUser, created.id, "").error().status == 404);
    CHECK(fx.service.remove(fx.ctx, ResourceKind::kUser, created.id, "*").error().status == 404);
}

TEST_CASE("RFC 7232 2.3 etag_of is weak, etag_matches compares weakly and takes lists and *") {
    CHECK(etag_of(3) == R"(W/"3")");
    CHECK(etag_of(1234567890123) == R"(W/"1234567890123")");

    struct Case {
        const char* header;
        bool matches;
    };
    const Case cases[] = {
        {R"(W/"3")", true},
        {R"("3")", true},
        {"*", true},
        {R"(W/"1", W/"3")", true},
        {R"(W/"1",W/"3")", true},
        {R"(  W/"3"  )", true},
        {R"("4", *)", true},
        {R"(W/"4")", false},
        {R"(W/"33")", false},
        {R"(W/"03")", false},
        {"3", false},
        {R"(w/"3")", false},
        {"", false},
        {",", false},
        {R"(W/"1", W/"2")", false},
    };
    for (const Case& c : cases) {
        CAPTURE(c.header);
        CHECK(etag_matches(c.header, 3) == c.matches);
    }
}

TEST_CASE("RFC 7644 3.4.2.4 list clamps count to max_count and startIndex below 1 to 1") {
    Fixture fx;
    for (const char* name : {"a", "b", "c"}) {
        fx.create(ResourceKind::kUser,
                  std::string(R"({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ")") +
                      name + "\"}");
    }
    struct Case {
        std::int64_t start_index;
        std::int64_t count;
        std::int64_t sent_start_index;
        std::int64_t sent_count;
        std::size_t returned;
    };
    const Case cases[] = {
        {1, 100, 1, 100, 3},
        {1, 5000, 1, 1000, 3},
        {0, 10, 1, 10, 3},
        {-5, 10, 1, 10, 3},
        {2, 1, 2, 1, 1},
        {1, 0, 1, 0, 0},
        {1, -1, 1, 0, 0},
        {4, 10, 4, 10, 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.start_index);
        CAPTURE(c.count);
        ListParams params;
        params.start_index = c.start_index;
        params.count = c.count;
        const auto page = fx.service.list(fx.ctx, ResourceKind::kUser, params);
        CHECK(page.has_value());
        if (page.has_value()) {
            CHECK(page->total_results == 3);
            CHECK(page->resources.size() == c.returned);
        }
        CHECK(fx.store.lists.back().start_index == c.sent_start_index);
        CHECK(fx.store.lists.back().count == c.sent_count);
    }

    scimbridge::tests::InMemoryResourceStore store;
    ResourceService small{store, fx.clock, fx.ids, ListLimits{20, 50}};
    ListParams params;
    params.count = 80;
    CHECK(small.list(fx.ctx, ResourceKind::kUser, params).has_value());
    CHECK(store.lists.back().count == 50);
    CHECK(small.limits().max_count == 50);
}

TEST_CASE("RFC 7644 3.4.2.2 list checks the filter before it reaches the store") {
    Fixture fx;
    ListParams params;
    for (const char* bad : {R"(userName eq "x)", R"(favoriteColor eq "blue")"}) {
        CAPTURE(bad);
        params.filter = bad;
        const auto r = fx.service.list(fx.ctx, ResourceKind::kUser, params);
        CHECK_FALSE(r.has_value());
        if (!r.has_value()) {
            CHECK(r.error().status == 400);
            CHECK(r.error().scim_type == ScimType::kInvalidFilter);
        }
    }
    CHECK(fx.store.lists.empty());

    params.filter = R"(userName eq "bjensen")";
    CHECK(fx.service.list(fx.ctx, ResourceKind::kUser, params).has_value());
    REQUIRE(fx.store.had_filter.size() == 1);
    CHECK(fx.store.had_filter[0]);
    params.filter.clear();
    CHECK(fx.service.list(fx.ctx, ResourceKind::kUser, params).has_value());
    CHECK_FALSE(fx.store.had_filter[1]);
}

TEST_CASE("RFC 7644 3.4.2.2 check_filter_attributes accepts the attributes of the resource type") {
    const char* user_filters[] = {
        R"(userName eq "bjensen")",
        R"(USERNAME eq "bjensen")",
        R"(name.givenName sw "B")",
        R"(NAME.GIVENNAME sw "B")",
        R"(id eq "2819c223")",
        R"(externalId eq "701984")",
        R"(meta.lastModified gt "2011-05-13T04:42:34Z")",
        R"(meta.created lt "2011-05-13T04:42:34Z")",
        R"(meta.resourceType eq "User")",
        R"(emails.value co "@example.com")",
        R"(emails[type eq "work"])",
        R"(emails[type eq "work" and value co "@example.com"])",
        R"(userType eq "Employee" and emails[type eq "work" and value co "@example.com"])",
        R"(emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"])",
        R"(not (title pr) and active eq true)",
        R"(groups.display eq "Tour Guides")",
        R"(urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J")",
        R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915")",
        R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984")",
        "externalId eq jyoung",
    };
    for (const char* text : user_filters) {
        CAPTURE(text);
        CHECK(check_filter(user_type(), text).has_value());
    }
    const char* group_filters[] = {
        R"(displayName eq "Tour Guides")",
        R"(members.value eq "2819c223")",
        R"(members[value eq "2819c223" and type eq "User"])",
        R"(meta.lastModified ge "2011-05-13T04:42:34Z")",
    };
    for (const char* text : group_filters) {
        CAPTURE(text);
        CHECK(check_filter(group_type(), text).has_value());
    }
}

TEST_CASE("RFC 7644 3.4.2.2 check_filter_attributes rejects unknown attributes: 400 invalidFilter") {
    struct Case {
        const ResourceType* type;
        const char* text;
    };
    const Case cases[] = {
        {&user_type(), R"(favoriteColor eq "blue")"},
        {&user_type(), R"(name.nickname eq "Babs")"},
        {&user_type(), R"(meta.owner eq "x")"},
        {&user_type(), R"(emails[kind eq "work"])"},
        {&user_type(), R"(nosuch[type eq "work"])"},
        {&user_type(), R"(userName pr and not (favoriteColor pr))"},
        {&user_type(), R"(title pr or favoriteColor pr)"},
        {&user_type(), R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badge eq "x")"},
        {&user_type(), R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.phone eq "x")"},
        {&user_type(), R"(urn:example:unknown:2.0:User:badge eq "x")"},
        {&group_type(), R"(userName eq "bjensen")"},
        {&group_type(), R"(members.display2 eq "x")"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        const auto r = check_filter(*c.type, c.text);
        CHECK_FALSE(r.has_value());
        if (!r.has_value()) {
            CHECK(r.error().status == 400);
            CHECK(r.error().scim_type == ScimType::kInvalidFilter);
        }
    }
}

TEST_CASE("check_filter_attributes rejects a schema that is not the resource type's") {
    // BUG: check_path resolves a URN-qualified path with registry.schema(urn) without checking
    // that the schema is the type's core schema or one of its extensions, so a Group filter on
    // an enterprise User attribute passes: "Filter attribute paths must name attributes of the
    // resource type" (resource_service.hpp).
    const auto r = check_filter(
        group_type(), R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984")");
    CHECK_FALSE(r.has_value());
    const auto core_user_on_group =
        check_filter(group_type(), R"(urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x")");
    CHECK_FALSE(core_user_on_group.has_value());
}

TEST_CASE("RFC 7643 3.1 render_resource: schemas, id, attributes and meta") {
    StoredResource r;
    r.id = "2819c223";
    r.external_id = "701984";
    r.document = json::parse(R"({"userName": "bjensen", "displayName": "Babs",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}})")
                     .as_object();
    r.schemas = {std::string(kUserSchema), std::string(kEnterpriseUserSchema)};
    r.version = 3;
    r.created = "2010-01-23T04:56:22Z";
    r.last_modified = "2011-05-13T04:42:34Z";

    const json::object out = render_resource(user_type(), r, "https://scim.example.com/scim/v2");
    CHECK(out == json::parse(R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
      "id": "2819c223",
      "externalId": "701984",
      "userName": "bjensen",
      "displayName": "Babs",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"},
      "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "location": "https://scim.example.com/scim/v2/Users/2819c223",
        "version": "W/\"3\""
      }
    })").as_object());
    CHECK(out.begin()->key() == "schemas");
    CHECK(out.at("meta").at("version").as_string() == etag_of(r.version));

    // No externalId, no groups loaded: neither key appears.
    r.external_id.reset();
    const json::object bare = render_resource(user_type(), r, "https://scim.example.com/scim/v2");
    CHECK_FALSE(bare.contains("externalId"));
    CHECK_FALSE(bare.contains("groups"));
}

TEST_CASE("RFC 7643 4.2 render_resource: group members with $ref to /Users or /Groups") {
    StoredResource g;
    g.id = "e9e30dba";
    g.document = json::parse(R"({"displayName": "Tour Guides"})").as_object();
    g.schemas = {std::string(kGroupSchema)};
    g.version = 1;
    g.created = g.last_modified = "2010-01-23T04:56:22Z";
    g.members = std::vector<MemberRef>{{"2819c223", "User", "Babs Jensen"}, {"fc348aa8", "Group", ""}};

    const json::object out = render_resource(group_type(), g, "https://scim.example.com/scim/v2");
    CHECK(out.at("members") == json::parse(R"([
      {"value": "2819c223", "$ref": "https://scim.example.com/scim/v2/Users/2819c223",
       "type": "User", "display": "Babs Jensen"},
      {"value": "fc348aa8", "$ref": "https://scim.example.com/scim/v2/Groups/fc348aa8", "type": "Group"}
    ])"));
    CHECK(out.at("meta").at("location") == "https://scim.example.com/scim/v2/Groups/e9e30dba");
    CHECK(out.at("meta").at("resourceType") == "Group");
    CHECK(out.at("meta").at("version") == R"(W/"1")");

    g.members->clear();
    CHECK(render_resource(group_type(), g, "https://x").at("members") == json::array{});
    g.members.reset();
    CHECK_FALSE(render_resource(group_type(), g, "https://x").contains("members"));
}

TEST_CASE("RFC 7643 4.1.2 render_resource: a user's groups, direct and indirect") {
    StoredResource u;
    u.id = "2819c223";
    u.document = json::parse(R"({"userName": "bjensen"})").as_object();
    u.schemas = {std::string(kUserSchema)};
    u.version = 2;
    u.groups = std::vector<GroupRef>{{"e9e30dba", "Tour Guides", true}, {"71ddacd2", "", false}};

    const json::object out = render_resource(user_type(), u, "https://scim.example.com/scim/v2");
    CHECK(out.at("groups") == json::parse(R"([
      {"value": "e9e30dba", "$ref": "https://scim.example.com/scim/v2/Groups/e9e30dba",
       "type": "direct", "display": "Tour Guides"},
      {"value": "71ddacd2", "$ref": "https://scim.example.com/scim/v2/Groups/71ddacd2", "type": "indirect"}
    ])"));
    u.groups->clear();
    CHECK_FALSE(render_resource(user_type(), u, "https://x").contains("groups"));
}
}
