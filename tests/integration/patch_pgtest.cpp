// PATCH on PostgreSQL: member steps agree with the in-memory reference (apply_member_steps),
// every PATCH is one version and one change event, a no-op writes nothing, concurrent member
// changes all land, and tenants stay apart.
#include "scim/patch.hpp"
#include "tests/integration/resource_world.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <thread>

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity
using scim::MemberStep;
using scim::ResourceKind;
namespace json = boost::json;

namespace {

// The resource suites' world, with tokens that rewrite IdP dialects (not strict).
struct PatchWorld : tests::World {
    PatchWorld() {
        for (scim::CallContext* ctx : {&a, &b}) {
            ctx->leniency = scim::Leniency::kCoerce;
            ctx->dialect = scim::dialect_for("generic", false);
        }
    }

    std::string create(const scim::CallContext& ctx, ResourceKind kind, const std::string& name) {
        const std::string body =
            kind == ResourceKind::kUser
                ? R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" + name + "\"}"
                : R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":")" + name + "\"}";
        auto r = service.create(ctx, kind, json::parse(body));
        REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : r.error().detail));
        return r->id;
    }

    scim::Result<scim::StoredResource> patch(const scim::CallContext& ctx, ResourceKind kind,
                                             const std::string& id, const std::string& operations,
                                             const std::string& if_match = "") {
        const std::string body =
            R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" + operations + "}";
        return service.patch(ctx, kind, id, json::parse(body), if_match, {true, false});
    }

    std::vector<scim::MemberRef> members(const scim::CallContext& ctx, const std::string& group) {
        auto g = service.get(ctx, ResourceKind::kGroup, group, {true, false});
        REQUIRE(g.has_value());
        return *g->members;
    }

};

std::string member_list(const std::vector<std::string>& ids) {
    json::array a;
    for (const std::string& id : ids) {
        a.push_back(json::object{{"value", id}});
    }
    return json::serialize(a);
}

std::vector<std::string> values(const std::vector<scim::MemberRef>& members) {
    std::vector<std::string> out;
    for (const scim::MemberRef& m : members) {
        out.push_back(m.value + "/" + m.type);
    }
    return out;
}

}  // namespace

TEST_CASE("member PATCHes on PostgreSQL agree with the in-memory reference, step by step") {
    PatchWorld w;
    std::vector<std::string> users;
    std::vector<std::string> groups;
    std::map<std::string, std::string> type_of;
    std::map<std::string, std::string> display_of;
    for (int i = 0; i < 24; ++i) {
        users.push_back(w.create(w.a, ResourceKind::kUser, "user" + std::to_string(i)));
        type_of[users.back()] = "User";
        display_of[users.back()] = "user" + std::to_string(i);
    }
    for (int i = 0; i < 4; ++i) {
        groups.push_back(w.create(w.a, ResourceKind::kGroup, "team" + std::to_string(i)));
        type_of[groups.back()] = "Group";
        display_of[groups.back()] = "team" + std::to_string(i);
    }
    const std::string target = w.create(w.a, ResourceKind::kGroup, "target");
    const std::string foreign = w.create(w.b, ResourceKind::kUser, "stranger");
    std::vector<scim::MemberRef> model;
    std::mt19937 rng(20261122);
    const auto pick = [&](std::size_t n) {
        std::vector<std::string> all = users;
        all.insert(all.end(), groups.begin(), groups.end());
        std::shuffle(all.begin(), all.end(), rng);
        all.resize(std::min(n, all.size()));
        return all;
    };
    std::int64_t version = 1;
    for (int round = 0; round < 60; ++round) {
        std::string ops;
        const int kind = static_cast<int>(rng() % 7);
        switch (kind) {
            case 0: ops = R"([{"op":"add","path":"members","value":)" + member_list(pick(1 + rng() % 6)) + "}]"; break;
            case 1: {
                const auto ids = pick(1 + rng() % 4);
                std::string filter;
                for (const auto& id : ids) {
                    filter += (filter.empty() ? "" : " or ") + std::string("value eq \\\"") + id + "\\\"";
                }
                ops = R"([{"op":"remove","path":"members[)" + filter + R"(]"}])";
                break;
            }
            case 2: ops = R"([{"op":"replace","path":"members","value":)" + member_list(pick(rng() % 10)) + "}]"; break;
            case 3: ops = R"([{"op":"remove","path":"members[type eq \"Group\"]"}])"; break;
            case 4: ops = R"([{"op":"remove","path":"members[display sw \"user1\"]"}])"; break;
            case 5: ops = R"([{"op":"Remove","path":"members","value":)" + member_list(pick(2)) +
                          R"(},{"op":"add","path":"members","value":)" + member_list(pick(3)) + "}]"; break;
            default:  // an unknown or foreign member: the whole PATCH fails and nothing changes
                ops = R"([{"op":"remove","path":"members"},{"op":"add","path":"members","value":)" +
                      member_list({users[0], rng() % 2 ? foreign : "00000000-0000-4000-8000-000000000000"}) + "}]";
                break;
        }
        CAPTURE(ops);
        // The reference: the same decoding and engine, and the in-memory member steps.
        scim::RewriteLog log;
        auto request = scim::decode_patch(
            json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" + ops + "}"),
            w.a.dialect, log);
        REQUIRE(request.has_value());
        scim::StoredResource current;
        current.id = target;
        current.document = json::object{{"displayName", "target"}};
        current.schemas = {"urn:ietf:params:scim:schemas:core:2.0:Group"};
        auto outcome = scim::apply_patch(scim::SchemaRegistry::core(), *scim::SchemaRegistry::core().resource_type("Group"),
                                         current, *request, w.a.dialect, w.a.leniency, log);
        REQUIRE(outcome.has_value());
        std::vector<scim::MemberRef> expected = model;
        for (scim::MemberRef& m : expected) {
            m.display = display_of[m.value];
        }
        const auto step_result = scim::apply_member_steps(
            expected, outcome->member_steps, target,
            [&](const std::string& id) -> std::optional<std::string> {
                const auto it = type_of.find(id);
                return it == type_of.end() ? std::nullopt : std::optional<std::string>(it->second);
            },
            scim::SchemaRegistry::core(), *scim::SchemaRegistry::core().resource_type("Group"));
        const std::vector<scim::MemberRef> before = model;
        const bool changed = step_result && values(expected) != values(before);

        auto patched = w.patch(w.a, ResourceKind::kGroup, target, ops);
        REQUIRE(patched.has_value() == step_result.has_value());
        if (!patched) {
            CHECK(patched.error().status == step_result.error().status);
            CHECK(values(w.members(w.a, target)) == values(before));
            continue;
        }
        model = expected;
        CHECK(values(w.members(w.a, target)) == values(model));
        version += changed ? 1 : 0;
        CHECK(patched->version == version);
    }
    CHECK(version > 15);  // the walk changed the group many times
    // One event per new version, each naming members.
    const std::string events = w.events(target);
    CHECK(std::count(events.begin(), events.end(), ' ') + 1 == version);
}

TEST_CASE("PATCH on PostgreSQL: attributes and members in one version, tenants apart, no-op writes nothing") {
    PatchWorld w;
    const std::string u1 = w.create(w.a, ResourceKind::kUser, "alice");
    const std::string u2 = w.create(w.a, ResourceKind::kUser, "bob");
    const std::string g = w.create(w.a, ResourceKind::kGroup, "Engineering");

    auto r = w.patch(w.a, ResourceKind::kGroup, g,
                     R"([{"op":"replace","path":"displayName","value":"Eng"},{"op":"add","path":"members","value":)" +
                         member_list({u1, u2}) + "}]");
    REQUIRE(r.has_value());
    CHECK(r->version == 2);
    CHECK(r->document.at("displayName") == "Eng");
    CHECK(r->members->size() == 2);
    CHECK(w.events(g) == "create:1:displayName patch:2:displayName,members");

    // The same again changes nothing: no version, no event.
    auto same = w.patch(w.a, ResourceKind::kGroup, g,
                        R"([{"op":"add","path":"members","value":)" + member_list({u1}) + "}]");
    REQUIRE(same.has_value());
    CHECK(same->version == 2);
    CHECK(w.events(g) == "create:1:displayName patch:2:displayName,members");

    // A user PATCH is one statement with its event.
    auto active = w.patch(w.a, ResourceKind::kUser, u1, R"([{"op":"Replace","path":"active","value":"False"}])");
    REQUIRE(active.has_value());
    CHECK(active->document.at("active") == false);
    CHECK(w.events(u1) == "create:1:userName patch:2:active");

    // Another tenant sees nothing and changes nothing.
    auto foreign = w.patch(w.b, ResourceKind::kGroup, g, R"([{"op":"remove","path":"members"}])");
    REQUIRE_FALSE(foreign.has_value());
    CHECK(foreign.error().status == 404);
    const std::string stranger = w.create(w.b, ResourceKind::kUser, "stranger");
    auto cross = w.patch(w.a, ResourceKind::kGroup, g, R"([{"op":"add","path":"members","value":)" + member_list({stranger}) + "}]");
    REQUIRE_FALSE(cross.has_value());
    CHECK(cross.error().scim_type == scim::ScimType::kInvalidValue);
    CHECK(w.members(w.a, g).size() == 2);

    // If-Match: a stale version is 412 and changes nothing.
    auto stale = w.patch(w.a, ResourceKind::kGroup, g, R"([{"op":"remove","path":"members"}])", "W/\"1\"");
    REQUIRE_FALSE(stale.has_value());
    CHECK(stale.error().status == 412);
    CHECK(w.members(w.a, g).size() == 2);

    // Deleting a member removes it from the group, with a new group version.
    REQUIRE(w.service.remove(w.a, ResourceKind::kUser, u2, "").has_value());
    CHECK(w.members(w.a, g).size() == 1);
}

TEST_CASE("concurrent member PATCHes to one group all land, one version each") {
    PatchWorld w;
    const std::string g = w.create(w.a, ResourceKind::kGroup, "Everyone");
    constexpr std::size_t kThreads = 6;
    constexpr std::size_t kPerThread = 15;
    std::vector<std::vector<std::string>> ids(kThreads);
    for (std::size_t t = 0; t < kThreads; ++t) {
        for (std::size_t i = 0; i < kPerThread; ++i) {
            ids[t].push_back(w.create(w.a, ResourceKind::kUser, "u" + std::to_string(t) + "-" + std::to_string(i)));
        }
    }
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (const std::string& id : ids[t]) {
                auto r = w.patch(w.a, ResourceKind::kGroup, g,
                                 R"([{"op":"add","path":"members","value":)" + member_list({id}) + "}]");
                if (!r) {
                    ++failures;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(failures == 0);
    CHECK(w.members(w.a, g).size() == kThreads * kPerThread);
    auto g_now = w.service.get(w.a, ResourceKind::kGroup, g, {});
    CHECK(g_now->version == static_cast<std::int64_t>(1 + kThreads * kPerThread));
}

TEST_CASE("PUT and replace of a large member list compute the difference in the database") {
    PatchWorld w;
    std::vector<std::string> users;
    for (int i = 0; i < 300; ++i) {
        users.push_back(w.create(w.a, ResourceKind::kUser, "member" + std::to_string(i)));
    }
    const std::string g = w.create(w.a, ResourceKind::kGroup, "Big");
    const std::vector<std::string> first(users.begin(), users.begin() + 200);
    auto r = w.patch(w.a, ResourceKind::kGroup, g, R"([{"op":"replace","path":"members","value":)" + member_list(first) + "}]");
    REQUIRE(r.has_value());
    CHECK(r->members->size() == 200);
    const std::vector<std::string> second(users.begin() + 100, users.end());
    auto put = w.service.replace(w.a, ResourceKind::kGroup, g,
                                 json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Big","members":)" +
                                             member_list(second) + "}"),
                                 "", {true, false});
    REQUIRE(put.has_value());
    CHECK(put->members->size() == 200);
    CHECK(put->members->front().value == *std::min_element(second.begin(), second.end()));
    CHECK(w.events(g) == "create:1:displayName patch:2:members replace:3:members");
    // The same list again: a new version (PUT always writes) without "members".
    auto again = w.service.replace(w.a, ResourceKind::kGroup, g,
                                   json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Big","members":)" +
                                               member_list(second) + "}"),
                                   "", {});
    REQUIRE(again.has_value());
    CHECK(w.events(g) == "create:1:displayName patch:2:members replace:3:members replace:4:");
}
