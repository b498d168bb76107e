// Differential test: generated filters run as SQL (db/filter_sql.cpp through the store) and in
// memory (scim/filter_eval.hpp) over the same generated tenant must select exactly the same users.
#include "scim/filter_eval.hpp"

#include "scim/text.hpp"

#include "db/migrations.hpp"
#include "db/pg_resource_store.hpp"
#include "db/pg_tenancy_store.hpp"
#include "scim/resource_service.hpp"
#include "server/ids.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include <random>
#include <set>

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;

namespace {

constexpr const char* kEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

// Strings that try to break quoting, LIKE patterns, comments and case folding.
const std::vector<std::string> kHostile = {
    "O'Brien", "back\\slash", "50%", "under_score", "--", "a\"quote", "Zoë", "ZOË", "Ångström",
    "straße", "ǅemal", "日本語", "emoji😀", "x' OR '1'='1", "%_%", "\\%", "",
    std::string(300, 'L'), "tab\there", "MiXeD", "mixed",
};

std::string pick(std::mt19937& rng, const std::vector<std::string>& v) { return v[rng() % v.size()]; }

json::object make_user(std::mt19937& rng, int i) {
    const std::vector<std::string> words = {"alpha", "Beta", "gamma", "DELTA", "Zoë", "zoë", "O'Brien",
                                            "50%", "under_score", "back\\slash", "日本"};
    json::object u{{"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User", kEnterprise}},
                   {"userName", "user" + std::to_string(i) + "-" + pick(rng, words) + "@Example.com"}};
    if (rng() % 4 != 0) {
        u["displayName"] = pick(rng, words) + " " + pick(rng, kHostile);
    }
    if (rng() % 3 == 0) {
        u["nickName"] = pick(rng, kHostile);
    }
    if (rng() % 2 == 0) {
        u["title"] = pick(rng, words);
    }
    if (rng() % 5 != 0) {
        u["active"] = rng() % 2 == 0;
    }
    if (rng() % 4 != 0) {
        json::object name;
        name["givenName"] = pick(rng, words);
        if (rng() % 2 == 0) {
            name["familyName"] = pick(rng, kHostile);
        }
        u["name"] = name;
    }
    json::array emails;
    const std::vector<std::string> types = {"work", "home", "other"};
    const auto n_emails = rng() % 4;
    for (unsigned k = 0; k < n_emails; ++k) {
        json::object e{{"value", pick(rng, words) + std::to_string(rng() % 5) + "@" + pick(rng, {"x.org", "Y.org", "z.com"})},
                       {"type", pick(rng, types)}};
        if (k == 0 && rng() % 2 == 0) {
            e["primary"] = true;
        }
        emails.push_back(e);
    }
    if (!emails.empty()) {
        u["emails"] = emails;
    }
    if (rng() % 3 == 0) {
        u["phoneNumbers"] = json::array{json::object{{"value", "+1 555 " + std::to_string(rng() % 100)},
                                                     {"type", pick(rng, {"work", "mobile"})}}};
    }
    json::object ent;
    if (rng() % 2 == 0) {
        ent["employeeNumber"] = std::to_string(rng() % 50);
    }
    if (rng() % 2 == 0) {
        ent["department"] = pick(rng, words);
    }
    if (rng() % 3 == 0) {
        ent["manager"] = json::object{{"value", "mgr-" + std::to_string(rng() % 5)}};
    }
    if (!ent.empty()) {
        u[kEnterprise] = ent;
    }
    return u;
}

struct Attr {
    std::string path;
    enum Kind { kString, kBool, kDate } kind;
};

const std::vector<Attr> kAttrs = {
    {"userName", Attr::kString},        {"displayName", Attr::kString},
    {"nickName", Attr::kString},        {"title", Attr::kString},
    {"name.givenName", Attr::kString},  {"name.familyName", Attr::kString},
    {"emails", Attr::kString},          {"emails.value", Attr::kString},
    {"emails.type", Attr::kString},     {"phoneNumbers.value", Attr::kString},
    {"externalId", Attr::kString},      {"active", Attr::kBool},
    {"meta.lastModified", Attr::kDate}, {"meta.created", Attr::kDate},
    {std::string(kEnterprise) + ":employeeNumber", Attr::kString},
    {std::string(kEnterprise) + ":department", Attr::kString},
    {std::string(kEnterprise) + ":manager.value", Attr::kString},
    {"urn:ietf:params:scim:schemas:core:2.0:User:title", Attr::kString},
    {"USERNAME", Attr::kString},
};

std::string quote(const std::string& s) { return json::serialize(json::value(json::string(s))); }

class Generator {
public:
    Generator(std::mt19937& rng, std::vector<std::string> samples) : rng_(rng), samples_(std::move(samples)) {}

    std::string filter(int depth) {
        const auto r = rng_() % 10;
        if (depth < 3 && r < 2) {
            return "(" + filter(depth + 1) + (rng_() % 2 ? " and " : " or ") + filter(depth + 1) + ")";
        }
        if (depth < 3 && r == 2) {
            return "not (" + filter(depth + 1) + ")";
        }
        if (r == 3) {
            return value_path();
        }
        return comparison(kAttrs[rng_() % kAttrs.size()]);
    }

private:
    std::string literal_text() {
        const auto r = rng_() % 4;
        if (r == 0) {
            return pick(rng_, kHostile);
        }
        std::string s = pick(rng_, samples_);
        if (r == 1 && s.size() > 2) {  // a piece of a real value, for co/sw/ew
            const auto from = rng_() % (s.size() / 2);
            s = s.substr(from, 1 + rng_() % (s.size() - from));
            while (!s.empty() && (static_cast<unsigned char>(s.front()) & 0xC0) == 0x80) {
                s.erase(0, 1);  // never start inside a UTF-8 sequence
            }
            while (!s.empty() && !scim::is_valid_utf8(s)) {
                s.pop_back();  // nor end inside one
            }
        }
        if (r == 2) {  // flip the case of a real value
            for (char& c : s) {
                c = static_cast<char>(std::isupper(static_cast<unsigned char>(c)) ? std::tolower(static_cast<unsigned char>(c))
                                                                                  : std::toupper(static_cast<unsigned char>(c)));
            }
        }
        return s;
    }

    std::string comparison(const Attr& a) {
        static const std::vector<std::string> kOps = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};
        if (rng_() % 8 == 0) {
            return a.path + " pr";
        }
        if (a.kind == Attr::kBool) {
            return a.path + (rng_() % 2 ? " eq " : " ne ") + (rng_() % 2 ? "true" : "false");
        }
        if (a.kind == Attr::kDate) {
            const std::vector<std::string> dates = {"2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z",
                                                    "2026-01-01T00:00:00+02:00"};
            static const std::vector<std::string> kDateOps = {"gt", "ge", "lt", "le", "eq", "ne"};
            return a.path + " " + pick(rng_, kDateOps) + " " + quote(pick(rng_, dates));
        }
        if (rng_() % 20 == 0) {
            return a.path + (rng_() % 2 ? " eq null" : " ne null");
        }
        return a.path + " " + pick(rng_, kOps) + " " + quote(literal_text());
    }

    std::string value_path() {
        if (rng_() % 2 == 0) {
            const std::string inner = rng_() % 2 ? "type eq " + quote(pick(rng_, {"work", "home", "WORK"}))
                                                 : "value " + pick(rng_, {"co", "sw", "ew", "eq"}) + " " + quote(literal_text());
            const std::string more = rng_() % 2 ? " and primary eq true" : (rng_() % 2 ? " or value pr" : "");
            return "emails[" + inner + more + "]";
        }
        return "phoneNumbers[type eq " + quote(pick(rng_, {"work", "mobile"})) + " and value co " +
               quote(pick(rng_, {"555", "1", "9"})) + "]";
    }

    std::mt19937& rng_;
    std::vector<std::string> samples_;
};

void collect_strings(const json::value& v, std::vector<std::string>& out) {
    if (v.is_string()) {
        out.emplace_back(v.as_string());
    } else if (v.is_object()) {
        for (const auto& kv : v.as_object()) {
            collect_strings(kv.value(), out);
        }
    } else if (v.is_array()) {
        for (const auto& x : v.as_array()) {
            collect_strings(x, out);
        }
    }
}

}  // namespace

TEST_SUITE("db.filter_differential") {
TEST_CASE("10,000 generated filters: SQL and the in-memory evaluator select the same users") {
    tests::PgTestDatabase t;
    auto database = db::Database::open(t.dsn(), {2});
    db::migrate(*database);
    db::PgTenancyStore tenancy{*database};
    db::PgResourceStore store{*database, scim::SchemaRegistry::core()};
    server::SystemClock clock;
    server::RandomIdGenerator ids;
    scim::ResourceService service{store, clock, ids, {100, 1000}};
    scim::CallContext ctx;
    ctx.tenant_id = tenancy.create_tenant("diff")->id;
    const auto& registry = scim::SchemaRegistry::core();
    const auto& type = *registry.resource_type("User");

    std::mt19937 rng(20261122);
    std::vector<std::string> samples;
    for (int i = 0; i < 250; ++i) {
        const json::object u = make_user(rng, i);
        collect_strings(u, samples);
        auto created = service.create(ctx, scim::ResourceKind::kUser, u);
        REQUIRE_MESSAGE(created.has_value(), created.error().detail);
        if (i % 3 == 0) {  // some users get a different externalId / lastModified
            json::object v = u;
            v["externalId"] = "ext-" + std::to_string(i);
            REQUIRE(service.replace(ctx, scim::ResourceKind::kUser, created->id, v, "", {}).has_value());
        }
    }
    auto all = service.list(ctx, scim::ResourceKind::kUser, {"", 1, 1000, {}});
    REQUIRE(all.has_value());
    REQUIRE(all->resources.size() == 250);

    Generator gen(rng, samples);
    int compared = 0;
    int refused_both = 0;
    int mismatches = 0;
    int nonempty = 0;
    for (int n = 0; n < 10000; ++n) {
        const std::string text = gen.filter(0);
        auto parsed = scim::parse_filter(text);
        REQUIRE_MESSAGE(parsed.has_value(), json::serialize(json::value(json::string(text))) << " -> " << (parsed ? "" : parsed.error().detail));
        const auto semantic = scim::check_filter_semantics(**parsed, registry, type);
        auto page = service.list(ctx, scim::ResourceKind::kUser, {text, 1, 1000, {}});
        if (!semantic || !page) {
            // Both sides must refuse the same filters.
            if (semantic.has_value() != page.has_value()) {
                ++mismatches;
                MESSAGE("refusal differs for: " << text << " | memory: "
                        << (semantic ? "ok" : semantic.error().detail) << " | sql: "
                        << (page ? "ok" : page.error().detail));
            } else {
                ++refused_both;
            }
            continue;
        }
        std::set<std::string> sql_ids;
        for (const auto& r : page->resources) {
            sql_ids.insert(r.id);
        }
        std::set<std::string> memory_ids;
        for (const auto& r : all->resources) {
            if (scim::matches(**parsed, r, registry, type)) {
                memory_ids.insert(r.id);
            }
        }
        ++compared;
        nonempty += memory_ids.empty() ? 0 : 1;
        if (sql_ids != memory_ids) {
            ++mismatches;
            if (mismatches <= 20) {
                MESSAGE("results differ for: " << text << " | sql " << sql_ids.size() << " memory "
                        << memory_ids.size());
            }
        }
    }
    MESSAGE("compared " << compared << " filters (" << nonempty << " with matches), "
            << refused_both << " refused by both");
    CHECK(mismatches == 0);
    CHECK(compared > 8000);
    CHECK(nonempty > 2000);  // the generator must produce filters that select something
}
}
