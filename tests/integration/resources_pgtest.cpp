#include "db/pg_resource_store.hpp"

#include "db/database_impl.hpp"

#include "db/migrations.hpp"
#include "db/pg_tenancy_store.hpp"
#include "scim/resource_service.hpp"
#include "server/ids.hpp"
#include "tests/integration/resource_world.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <random>
#include <set>
#include <thread>

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity
using scim::ResourceKind;
using scimbridge::tests::PgTestDatabase;
namespace json = boost::json;

using scimbridge::tests::World;

TEST_SUITE("db.resources") {
TEST_CASE("32 concurrent creates of one userName: exactly one wins, the rest get 409 uniqueness") {
    World w;
    std::atomic<int> created{0};
    std::atomic<int> conflicts{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 32; ++i) {
        threads.emplace_back([&, i] {
            // Different case each time: userName is unique case-insensitively.
            const std::string name = i % 2 == 0 ? "race@example.com" : "RACE@Example.com";
            auto r = w.service.create(w.a, ResourceKind::kUser,
                                      json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" + name + "\"}"));
            if (r.has_value()) {
                ++created;
            } else if (r.error().status == 409 && r.error().scim_type == scim::ScimType::kUniqueness) {
                ++conflicts;
            } else {
                ++other;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(created.load() == 1);
    CHECK(conflicts.load() == 31);
    CHECK(other.load() == 0);
    CHECK(w.t.query("SELECT count(*) FROM scim_user") == "1");
    CHECK(w.t.query("SELECT count(*) FROM change_event") == "1");  // failed writes record nothing
}

TEST_CASE("externalId is unique per tenant and resource type") {
    World w;
    w.user(w.a, "u1", R"(,"externalId":"ext-1")");
    auto dup = w.service.create(w.a, ResourceKind::kUser,
                                json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u2","externalId":"ext-1"})"));
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().status == 409);
    CHECK(dup.error().detail.find("externalId") != std::string::npos);
    // A group may carry the same externalId, and so may a user of another tenant.
    auto g = w.service.create(w.a, ResourceKind::kGroup,
                              json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","externalId":"ext-1"})"));
    CHECK(g.has_value());
    w.user(w.b, "u1", R"(,"externalId":"ext-1")");
}

TEST_CASE("tenants never see each other's resources") {
    World w;
    const auto mine = w.user(w.a, "alice@example.com");
    w.user(w.b, "alice@example.com");  // the same userName in another tenant is fine
    CHECK_FALSE(w.store.find(w.b.tenant_id, ResourceKind::kUser, mine.id, {}).has_value());
    CHECK(w.service.get(w.b, ResourceKind::kUser, mine.id, {}).error().status == 404);
    CHECK(w.service.remove(w.b, ResourceKind::kUser, mine.id, "").error().status == 404);
    CHECK(w.list(w.b, ResourceKind::kUser, "id eq \"" + mine.id + "\"").total_results == 0);
    CHECK(w.list(w.a, ResourceKind::kUser, "").total_results == 1);
    CHECK(w.list(w.b, ResourceKind::kUser, "").total_results == 1);
    // A group in B cannot take A's user as a member.
    auto g = w.group(w.b, "B group", {mine.id});
    REQUIRE_FALSE(g.has_value());
    CHECK(g.error().status == 400);
    CHECK(g.error().scim_type == scim::ScimType::kInvalidValue);
}

TEST_CASE("versions and preconditions: If-Match on PUT and DELETE") {
    World w;
    const auto u = w.user(w.a, "bob");
    CHECK(u.version == 1);
    const json::value body = json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob","displayName":"Bob"})");
    auto stale = w.service.replace(w.a, ResourceKind::kUser, u.id, body, "W/\"7\"", {});
    REQUIRE_FALSE(stale.has_value());
    CHECK(stale.error().status == 412);
    auto ok = w.service.replace(w.a, ResourceKind::kUser, u.id, body, "W/\"1\"", {});
    REQUIRE(ok.has_value());
    CHECK(ok->version == 2);
    CHECK(ok->document.at("displayName") == "Bob");
    CHECK(w.service.remove(w.a, ResourceKind::kUser, u.id, "W/\"1\"").error().status == 412);
    CHECK(w.service.remove(w.a, ResourceKind::kUser, u.id, "W/\"2\"").has_value());
    CHECK(w.service.get(w.a, ResourceKind::kUser, u.id, {}).error().status == 404);
    CHECK(w.events(u.id) == "create:1:userName replace:2:displayName delete:3:");
}

TEST_CASE("concurrent PUTs without If-Match both land, one version each") {
    World w;
    const auto u = w.user(w.a, "carol");
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            auto r = w.service.replace(
                w.a, ResourceKind::kUser, u.id,
                json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol","title":"t)" + std::to_string(i) + "\"}"),
                "", {});
            ok += r.has_value() ? 1 : 0;
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    // Retries absorb most races; every success is exactly one version.
    CHECK(ok.load() >= 1);
    CHECK(w.t.query("SELECT version FROM scim_user") == std::to_string(1 + ok.load()));
    CHECK(w.t.query("SELECT count(*) FROM change_event WHERE operation = 'replace'") == std::to_string(ok.load()));
}

TEST_CASE("active=false keeps the user visible to GET and list") {
    World w;
    const auto u = w.user(w.a, "dave", R"(,"active":true)");
    REQUIRE(w.service.replace(w.a, ResourceKind::kUser, u.id,
                              json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dave","active":false})"),
                              "", {}).has_value());
    auto got = w.service.get(w.a, ResourceKind::kUser, u.id, {});
    REQUIRE(got.has_value());
    CHECK(got->document.at("active") == false);
    CHECK(w.list(w.a, ResourceKind::kUser, "active eq false").total_results == 1);
    CHECK(w.list(w.a, ResourceKind::kUser, "userName eq \"DAVE\"").total_results == 1);
}

TEST_CASE("groups: membership rows, member display, direct and indirect User.groups") {
    World w;
    const auto alice = w.user(w.a, "alice", R"(,"displayName":"Alice A")");
    const auto bob = w.user(w.a, "bob");
    auto inner = w.group(w.a, "Inner", {alice.id});
    REQUIRE(inner.has_value());
    auto outer = w.group(w.a, "Outer", {inner->id, bob.id});
    REQUIRE(outer.has_value());
    REQUIRE(outer->members.has_value());
    CHECK(outer->members->size() == 2);
    CHECK(w.t.query("SELECT count(*) FROM scim_group_member") == "3");
    CHECK(w.t.query("SELECT count(*) FROM scim_group WHERE doc ? 'members'") == "0");

    auto got = w.service.get(w.a, ResourceKind::kUser, alice.id, {false, true});
    REQUIRE(got.has_value());
    REQUIRE(got->groups.has_value());
    REQUIRE(got->groups->size() == 2);
    CHECK(got->groups->at(0).display == "Inner");
    CHECK(got->groups->at(0).direct);
    CHECK(got->groups->at(1).display == "Outer");
    CHECK_FALSE(got->groups->at(1).direct);

    auto in = w.service.get(w.a, ResourceKind::kGroup, inner->id, {true, false});
    REQUIRE(in.has_value());
    REQUIRE(in->members.has_value());
    CHECK(in->members->at(0).display == "Alice A");
    CHECK(in->members->at(0).type == "User");

    // A page computes every user's groups in one set-based query: the same answer as for one.
    for (const bool cursor : {false, true}) {
        scim::ListParams lp;
        lp.load = {false, true};
        if (cursor) {
            lp.cursor = "";
        }
        auto page = w.service.list(w.a, ResourceKind::kUser, lp);
        REQUIRE(page.has_value());
        REQUIRE(page->resources.size() == 2);
        for (const auto& r : page->resources) {
            REQUIRE(r.groups.has_value());
            const auto one = w.service.get(w.a, ResourceKind::kUser, r.id, {false, true});
            REQUIRE(one->groups.has_value());
            REQUIRE(r.groups->size() == one->groups->size());
            for (std::size_t i = 0; i < r.groups->size(); ++i) {
                CHECK(r.groups->at(i).value == one->groups->at(i).value);
                CHECK(r.groups->at(i).display == one->groups->at(i).display);
                CHECK(r.groups->at(i).direct == one->groups->at(i).direct);
            }
        }
    }

    // Not asked for: not loaded (excludedAttributes=members never reads member rows).
    auto bare = w.store.find(w.a.tenant_id, ResourceKind::kGroup, inner->id, {false, false});
    REQUIRE(bare.has_value());
    CHECK_FALSE(bare->members.has_value());
}

TEST_CASE("User.groups stay right while a tenant starts and stops nesting groups") {
    // Reads take direct memberships only while the tenant nests no group, and remember which
    // tenants nest; that memory must never make an answer wrong. Nesting here is written by the
    // service, which the store's memory does not watch: as another bridge process would.
    World w;
    const auto alice = w.user(w.a, "alice");
    auto team = w.group(w.a, "Team", {alice.id});
    REQUIRE(team.has_value());
    // Tenant b nests groups all along; tenant a must not take its reads for it.
    const auto bob = w.user(w.b, "bob");
    auto b_inner = w.group(w.b, "B Inner", {bob.id});
    REQUIRE(b_inner.has_value());
    REQUIRE(w.group(w.b, "B Outer", {b_inner->id}).has_value());

    // Alice's groups by id, and through pages by index and by cursor: (display, direct) each.
    const auto groups_of = [&](const scim::CallContext& ctx, const std::string& id) {
        std::vector<std::vector<std::pair<std::string, bool>>> seen;
        const auto take = [&](const scim::StoredResource& r) {
            REQUIRE(r.groups.has_value());
            std::vector<std::pair<std::string, bool>> g;
            for (const auto& ref : *r.groups) {
                g.emplace_back(ref.display, ref.direct);
            }
            seen.push_back(std::move(g));
        };
        const auto one = w.service.get(ctx, ResourceKind::kUser, id, {false, true});
        REQUIRE(one.has_value());
        take(*one);
        for (const bool cursor : {false, true}) {
            scim::ListParams lp;
            lp.load = {false, true};
            lp.filter = "id eq \"" + id + "\"";
            if (cursor) {
                lp.cursor = "";
            }
            auto page = w.service.list(ctx, ResourceKind::kUser, lp);
            REQUIRE(page.has_value());
            REQUIRE(page->resources.size() == 1);
            take(page->resources[0]);
        }
        for (std::size_t i = 1; i < seen.size(); ++i) {
            CHECK(seen[i] == seen[0]);  // every read path agrees
        }
        return seen[0];
    };
    using Groups = std::vector<std::pair<std::string, bool>>;

    CHECK(groups_of(w.a, alice.id) == Groups{{"Team", true}});
    CHECK(groups_of(w.b, bob.id) == Groups{{"B Inner", true}, {"B Outer", false}});
    CHECK(groups_of(w.a, alice.id) == Groups{{"Team", true}});

    // Tenant a starts nesting: the next reads see the indirect group.
    auto org = w.group(w.a, "Org", {team->id});
    REQUIRE(org.has_value());
    CHECK(groups_of(w.a, alice.id) == Groups{{"Team", true}, {"Org", false}});
    CHECK(groups_of(w.a, alice.id) == Groups{{"Team", true}, {"Org", false}});

    // And stops: the indirect group is gone from the reads.
    REQUIRE(w.service.remove(w.a, ResourceKind::kGroup, org->id, "").has_value());
    CHECK(groups_of(w.a, alice.id) == Groups{{"Team", true}});
    CHECK(groups_of(w.b, bob.id) == Groups{{"B Inner", true}, {"B Outer", false}});
}

TEST_CASE("find_many reads the tenant's own resources of a list of ids, with their groups when asked") {
    World w;
    const auto ann = w.user(w.a, "ann");
    const auto ben = w.user(w.a, "ben");
    const auto other = w.user(w.b, "other");
    auto inner = w.group(w.a, "Inner", {ann.id});
    REQUIRE(inner.has_value());
    auto outer = w.group(w.a, "Outer", {inner->id});
    REQUIRE(outer.has_value());
    // Unknown, malformed, repeated and another tenant's ids are not found; nothing fails.
    const std::vector<std::string> ids{ann.id, ben.id, other.id, "not-a-uuid",
                                       "00000000-0000-4000-8000-000000000000", ann.id};
    auto found = w.store.find_many(w.a.tenant_id, ResourceKind::kUser, ids, {});
    std::set<std::string> names;
    for (const auto& r : found) {
        names.insert(std::string(r.document.at("userName").as_string()));
        CHECK_FALSE(r.groups.has_value());
    }
    CHECK(names == std::set<std::string>{"ann", "ben"});
    CHECK(w.store.find_many(w.b.tenant_id, ResourceKind::kUser, {ann.id, ben.id}, {}).empty());
    CHECK(w.store.find_many(w.a.tenant_id, ResourceKind::kUser, {}, {}).empty());

    // With groups: the same as reading each one (direct and indirect).
    for (const auto& r : w.store.find_many(w.a.tenant_id, ResourceKind::kUser, {ann.id, ben.id}, {false, true})) {
        const auto one = w.store.find(w.a.tenant_id, ResourceKind::kUser, r.id, {false, true});
        REQUIRE(one.has_value());
        REQUIRE(r.groups.has_value());
        REQUIRE(r.groups->size() == one->groups->size());
        for (std::size_t i = 0; i < r.groups->size(); ++i) {
            CHECK(r.groups->at(i).value == one->groups->at(i).value);
            CHECK(r.groups->at(i).direct == one->groups->at(i).direct);
        }
        CHECK(r.groups->size() == (r.id == ann.id ? 2U : 0U));
    }
    const auto groups = w.store.find_many(w.a.tenant_id, ResourceKind::kGroup, {inner->id, outer->id}, {true, false});
    REQUIRE(groups.size() == 2);
    for (const auto& g : groups) {
        REQUIRE(g.members.has_value());
        CHECK(g.members->size() == 1);
    }
}

TEST_CASE("deleting a user or a group removes its memberships") {
    World w;
    const auto alice = w.user(w.a, "alice");
    auto inner = w.group(w.a, "Inner", {alice.id});
    auto outer = w.group(w.a, "Outer", {inner->id});
    REQUIRE(outer.has_value());
    REQUIRE(w.service.remove(w.a, ResourceKind::kUser, alice.id, "").has_value());
    CHECK(w.t.query("SELECT count(*) FROM scim_group_member WHERE member_id = '" + alice.id + "'") == "0");
    REQUIRE(w.service.remove(w.a, ResourceKind::kGroup, inner->id, "").has_value());
    CHECK(w.t.query("SELECT count(*) FROM scim_group_member") == "0");  // both sides gone
    auto o = w.service.get(w.a, ResourceKind::kGroup, outer->id, {true, false});
    REQUIRE(o.has_value());
    CHECK(o->members->empty());
}

TEST_CASE("an unknown member id is 400 invalidValue and nothing is written") {
    World w;
    auto g = w.group(w.a, "G", {"6b0a8d3c-1111-4222-8333-944444444444"});
    REQUIRE_FALSE(g.has_value());
    CHECK(g.error().status == 400);
    CHECK(g.error().scim_type == scim::ScimType::kInvalidValue);
    auto junk = w.group(w.a, "G", {"not-a-uuid"});
    CHECK(junk.error().scim_type == scim::ScimType::kInvalidValue);
    CHECK(w.t.query("SELECT count(*) FROM scim_group") == "0");
    CHECK(w.t.query("SELECT count(*) FROM change_event") == "0");
}

TEST_CASE("PUT replaces the member list with a set difference in the database") {
    World w;
    std::vector<std::string> ids;
    for (int i = 0; i < 300; ++i) {
        ids.push_back(w.user(w.a, "member" + std::to_string(i)).id);
    }
    auto g = w.group(w.a, "Big", std::vector<std::string>(ids.begin(), ids.begin() + 200));
    REQUIRE(g.has_value());
    CHECK(g->members->size() == 200);
    json::array next;
    for (std::size_t i = 100; i < 300; ++i) {
        next.push_back(json::object{{"value", ids[i]}, {"type", "User"}});
    }
    auto r = w.service.replace(w.a, ResourceKind::kGroup, g->id,
                               json::object{{"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                                            {"displayName", "Big"},
                                            {"members", next}},
                               "", {true, false});
    REQUIRE(r.has_value());
    CHECK(r->members->size() == 200);
    CHECK(w.t.query("SELECT count(*) FROM scim_group_member WHERE member_id = '" + ids[0] + "'") == "0");
    CHECK(w.t.query("SELECT count(*) FROM scim_group_member WHERE member_id = '" + ids[299] + "'") == "1");
    CHECK(w.events(g->id) == "create:1:displayName,members replace:2:members");
}

TEST_CASE("emails.value eq follows a user's addresses through replace, PATCH, delete and tenant deletion") {
    World w;
    const auto user_schema = std::string(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],)");
    const auto u = w.user(w.a, "gina@example.com",
                          R"(,"emails":[{"value":"Gina@Example.com"},{"value":"gina@example.com"},{"value":"g@home.org"}])");
    w.user(w.b, "gina@example.com", R"(,"emails":[{"value":"gina@example.com"}])");
    auto matches = [&](const scim::CallContext& ctx, const std::string& address) {
        return w.list(ctx, ResourceKind::kUser, "emails.value eq \"" + address + "\"").total_results;
    };
    auto rows = [&](const std::string& tenant_id) {
        return w.t.query("SELECT coalesce(string_agg(email, ',' ORDER BY email), '') FROM scim_user_email "
                         "WHERE tenant_id = '" + tenant_id + "'");
    };
    CHECK(matches(w.a, "GINA@example.COM") == 1);  // two spellings of one address: one match, one row
    CHECK(matches(w.a, "g@home.org") == 1);
    CHECK(rows(w.a.tenant_id) == "g@home.org,gina@example.com");

    // PUT: the old addresses stop matching, the new one matches.
    auto put = w.service.replace(w.a, ResourceKind::kUser, u.id,
                                 json::parse(user_schema + R"("userName":"gina@example.com","emails":[{"value":"Gina@New.org"}]})"),
                                 "", {});
    REQUIRE(put.has_value());
    CHECK(matches(w.a, "gina@example.com") == 0);
    CHECK(matches(w.a, "g@home.org") == 0);
    CHECK(matches(w.a, "gina@new.org") == 1);
    CHECK(rows(w.a.tenant_id) == "gina@new.org");

    // PATCH add: a second address; a PATCH of another attribute keeps them.
    auto add = w.service.patch(w.a, ResourceKind::kUser, u.id, json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"add","path":"emails","value":[{"value":"second@new.org","type":"home"}]}]})"), "", {});
    REQUIRE(add.has_value());
    auto title = w.service.patch(w.a, ResourceKind::kUser, u.id, json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","path":"title","value":"Boss"}]})"), "", {});
    REQUIRE(title.has_value());
    CHECK(matches(w.a, "second@new.org") == 1);
    CHECK(matches(w.a, "gina@new.org") == 1);
    CHECK(rows(w.a.tenant_id) == "gina@new.org,second@new.org");

    // The other tenant's user with the same address is its own.
    CHECK(matches(w.b, "gina@example.com") == 1);
    CHECK(matches(w.b, "gina@new.org") == 0);

    REQUIRE(w.service.remove(w.a, ResourceKind::kUser, u.id, "").has_value());
    CHECK(matches(w.a, "gina@new.org") == 0);
    CHECK(rows(w.a.tenant_id).empty());

    w.t.query("DELETE FROM tenant WHERE id = '" + w.b.tenant_id + "'");
    CHECK(rows(w.b.tenant_id).empty());
    CHECK(w.t.query("SELECT count(*) FROM scim_user_email") == "0");
}

TEST_CASE("after a TRUNCATE of users or groups, counts and address lookups describe what is left") {
    World w;
    for (int i = 0; i < 3; ++i) {
        w.user(w.a, "t" + std::to_string(i), R"(,"emails":[{"value":"t)" + std::to_string(i) + R"(@example.com"}])");
    }
    REQUIRE(w.group(w.a, "team", {}).has_value());
    const auto total = [&](ResourceKind kind) { return w.service.list(w.a, kind, {"", 1, 0, {}})->total_results; };
    REQUIRE(total(ResourceKind::kUser) == 3);
    REQUIRE(total(ResourceKind::kGroup) == 1);

    w.t.query("TRUNCATE scim_user CASCADE");
    CHECK(total(ResourceKind::kUser) == 0);
    CHECK(total(ResourceKind::kGroup) == 1);
    CHECK(w.t.query("SELECT count(*) FROM scim_user_email") == "0");
    // A user made again with an address of a truncated one is found once by it.
    w.user(w.a, "t0", R"(,"emails":[{"value":"t0@example.com"}])");
    CHECK(total(ResourceKind::kUser) == 1);
    CHECK(w.list(w.a, ResourceKind::kUser, "emails.value eq \"t0@example.com\"").total_results == 1);

    w.t.query("TRUNCATE scim_group CASCADE");
    CHECK(total(ResourceKind::kGroup) == 0);
    CHECK(total(ResourceKind::kUser) == 1);
}

TEST_CASE("lookup filters IdPs need: eq and and on userName, externalId, id, emails.value, displayName") {
    World w;
    const auto u = w.user(w.a, "Erin@Example.com",
                          R"(,"externalId":"E-1","emails":[{"value":"Erin.Work@Example.com","type":"work","primary":true}],"displayName":"Erin","name":{"givenName":"Erin"})");
    w.user(w.a, "frank@example.com", R"(,"externalId":"F-1")");
    w.user(w.a, "ärger@example.org", R"(,"emails":[{"value":"ÄRGER@Example.org"}])");
    struct Case {
        const char* filter;
        std::int64_t expect;
    };
    const std::string by_id = "id eq \"" + u.id + "\"";
    const Case cases[] = {
        {"userName eq \"erin@example.com\"", 1},
        {"externalId eq \"E-1\"", 1},
        {"externalId eq \"e-1\"", 0},  // externalId is caseExact
        {"externalId eq E-1", 1},      // Entra's unquoted value
        {by_id.c_str(), 1},
        {"id eq \"6b0a8d3c-1111-4222-8333-944444444444\"", 0},  // Entra's test connection
        {"id eq \"not-a-uuid\"", 0},
        {"emails.value eq \"erin.work@example.com\"", 1},
        {"emails eq \"ERIN.WORK@EXAMPLE.COM\"", 1},
        {"emails.value eq \"ärger@example.org\"", 1},  // folded beyond ASCII, as lower() does
        {"userName eq \"ÄRGER@example.org\"", 1},
        {"displayName eq \"erin\"", 1},
        {"name.givenName eq \"ERIN\"", 1},
        {"userName eq \"erin@example.com\" and externalId eq \"E-1\"", 1},
        {"userName eq \"erin@example.com\" and externalId eq \"F-1\"", 0},
        {"userName eq \"erin@example.com\" or externalId eq \"F-1\"", 2},
        {"not (userName eq \"erin@example.com\")", 2},
        {"userName eq \"x' OR '1'='1\"", 0},  // a hostile literal is just a value
        {"userName eq \"%\"", 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.filter);
        CHECK(w.list(w.a, ResourceKind::kUser, c.filter).total_results == c.expect);
    }
    auto bad = w.service.list(w.a, ResourceKind::kUser, {"active gt true", 1, 10, {}});
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().scim_type == scim::ScimType::kInvalidFilter);
    auto unknown = w.service.list(w.a, ResourceKind::kUser, {"shoeSize eq 3", 1, 10, {}});
    CHECK(unknown.error().scim_type == scim::ScimType::kInvalidFilter);
}

TEST_CASE("paging with startIndex and count is stable; count=0 gives only totalResults") {
    World w;
    for (int i = 0; i < 25; ++i) {
        w.user(w.a, "page" + std::to_string(i));
    }
    std::set<std::string> seen;
    for (std::int64_t start = 1; start <= 25; start += 10) {
        auto page = w.service.list(w.a, ResourceKind::kUser, {"", start, 10, {}});
        REQUIRE(page.has_value());
        CHECK(page->total_results == 25);
        for (const auto& r : page->resources) {
            CHECK(seen.insert(r.id).second);
        }
    }
    CHECK(seen.size() == 25);
    auto none = w.service.list(w.a, ResourceKind::kUser, {"", 1, 0, {}});
    CHECK(none->total_results == 25);
    CHECK(none->resources.empty());
    auto past = w.service.list(w.a, ResourceKind::kUser, {"", 100, 10, {}});
    CHECK(past->resources.empty());
    CHECK(past->total_results == 25);  // a page past the end still counts the matches
    auto past_filtered = w.service.list(w.a, ResourceKind::kUser, {"userName sw \"page1\"", 100, 10, {}});
    REQUIRE(past_filtered.has_value());
    CHECK(past_filtered->resources.empty());
    CHECK(past_filtered->total_results == 11);  // page1, page10..page19
    auto nothing = w.service.list(w.a, ResourceKind::kUser, {"userName eq \"nobody\"", 1, 10, {}});
    REQUIRE(nothing.has_value());
    CHECK(nothing->resources.empty());
    CHECK(nothing->total_results == 0);
    // A page's rows carry the same document, version and meta times as a read of each resource.
    auto first = w.service.list(w.a, ResourceKind::kUser, {"", 1, 5, {}});
    REQUIRE(first.has_value());
    for (const auto& r : first->resources) {
        auto one = w.service.get(w.a, ResourceKind::kUser, r.id, {});
        REQUIRE(one.has_value());
        CHECK(one->created == r.created);
        CHECK(one->last_modified == r.last_modified);
        CHECK(one->version == r.version);
        CHECK(one->document == r.document);
        CHECK(r.created.size() == 24);  // 2026-08-11T18:51:03.921Z
    }
}
TEST_CASE("deleting a member gives each group it left a new version and a change event") {
    World w;
    const auto alice = w.user(w.a, "alice");
    auto g = w.group(w.a, "G", {alice.id});
    REQUIRE(g.has_value());
    CHECK(g->version == 1);
    REQUIRE(w.service.remove(w.a, ResourceKind::kUser, alice.id, "").has_value());
    auto after = w.service.get(w.a, ResourceKind::kGroup, g->id, {true, false});
    REQUIRE(after.has_value());
    CHECK(after->version == 2);  // an If-None-Match: W/"1" no longer matches
    CHECK(after->members->empty());
    CHECK(w.events(g->id) == "create:1:displayName,members patch:2:members");
    CHECK(w.events(alice.id) == "create:1:userName delete:2:");
}

TEST_CASE("a group cannot contain itself, whatever the case of its id") {
    World w;
    auto g = w.group(w.a, "G", {});
    REQUIRE(g.has_value());
    std::string upper = g->id;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    auto r = w.service.replace(w.a, ResourceKind::kGroup, g->id,
                               json::object{{"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                                            {"displayName", "G"},
                                            {"members", json::array{json::object{{"value", upper}}}}},
                               "", {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().scim_type == scim::ScimType::kInvalidValue);
}

TEST_CASE("members.value filters read membership rows; groups filters are refused, not answered wrong") {
    World w;
    const auto alice = w.user(w.a, "alice");
    const auto bob = w.user(w.a, "bob");
    REQUIRE(w.group(w.a, "With alice", {alice.id}).has_value());
    REQUIRE(w.group(w.a, "With bob", {bob.id}).has_value());
    CHECK(w.list(w.a, ResourceKind::kGroup, "members.value eq \"" + alice.id + "\"").total_results == 1);
    CHECK(w.list(w.a, ResourceKind::kGroup, "members eq \"" + bob.id + "\"").total_results == 1);
    auto refused = w.service.list(w.a, ResourceKind::kUser, {"groups.value eq \"x\"", 1, 10, {}});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().scim_type == scim::ScimType::kInvalidFilter);
}

TEST_CASE("values PostgreSQL cannot store or index are 400, never 500") {
    World w;
    const auto create = [&](const std::string& user_name) {
        return w.service.create(w.a, ResourceKind::kUser,
                                json::object{{"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User"}},
                                             {"userName", user_name}});
    };
    auto nul = create(std::string("a\0b", 3));
    REQUIRE_FALSE(nul.has_value());
    CHECK(nul.error().status == 400);
    std::string long_name;  // random, so that compression cannot shrink the index entry
    std::mt19937 rng(42);
    for (int i = 0; i < 4000; ++i) {
        long_name.push_back(static_cast<char>('a' + rng() % 26));
    }
    auto too_long = create(long_name);
    REQUIRE_FALSE(too_long.has_value());
    CHECK(too_long.error().status == 400);
    CHECK(too_long.error().scim_type == scim::ScimType::kInvalidValue);
    CHECK(w.t.query("SELECT count(*) FROM scim_user") == "0");
}

TEST_CASE("filters of many shapes do not grow a connection's prepared statements without bound") {
    PgTestDatabase t;
    auto database = db::Database::open(t.dsn(), {1});
    db::migrate(*database);
    db::PgTenancyStore tenancy{*database};
    db::PgResourceStore store{*database, scim::SchemaRegistry::core()};
    server::SystemClock clock;
    server::RandomIdGenerator ids;
    scim::ResourceService service{store, clock, ids};
    scim::CallContext ctx;
    ctx.tenant_id = tenancy.create_tenant("a")->id;
    std::string filter = "title eq \"x0\"";
    for (int k = 1; k < 100; ++k) {  // 99 shapes; each filter stays within 100 comparisons
        filter += " or title eq \"x" + std::to_string(k) + "\"";
        auto page = service.list(ctx, ResourceKind::kUser, {filter, 1, 10, {}});
        REQUIRE(page.has_value());
    }
    // One more comparison is a filter too expensive to run: 400 tooMany, not a slow death.
    auto too_big = service.list(ctx, ResourceKind::kUser, {filter + " or title eq \"y\"", 1, 10, {}});
    REQUIRE_FALSE(too_big.has_value());
    CHECK(too_big.error().scim_type == scim::ScimType::kTooMany);
    const std::string prepared = database->impl().with_connection([](db::Connection& c) {
        return db::query_row(c, "SELECT count(*) FROM pg_prepared_statements", {})->at(0).value_or("");
    });
    CHECK(std::stoi(prepared) <= 64);
}
}
