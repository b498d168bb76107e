// The delivery outbox on a real PostgreSQL: enqueueing in the change's transaction, claiming with
// per-(app, resource) order, supersession, backoff gating, per-app caps, lease fencing,
// concurrent claimers, replay and the audit trail; a resync's paged look for objects whose
// canonical resource is gone.
#include "db/pg_app_store.hpp"
#include "db/pg_lifecycle_store.hpp"
#include "db/pg_outbox_store.hpp"
#include "db/pg_reconcile_store.hpp"
#include "db/database_impl.hpp"
#include "mappers/lifecycle.hpp"
#include "tests/integration/resource_world.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace {

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;
using std::chrono::milliseconds;

struct OutboxWorld : tests::World {
    db::PgAppStore apps{*database};
    db::PgOutboxStore outbox{*database};

    std::string app(const scim::CallContext& ctx, const std::string& name, bool groups = false,
                    bool enabled = true) {
        json::object o{{"name", name},
                       {"connector", "webhook"},
                       {"enabled", enabled},
                       {"groups", json::object{{"enabled", groups}}},
                       {"webhook", json::object{{"url", "https://app.example.com/hook"}}}};
        auto decoded = mappers::decode_app(o, scim::SchemaRegistry::core());
        REQUIRE(decoded.has_value());
        auto made = apps.create_app(ctx.tenant_id, *decoded, "test");
        REQUIRE(made.has_value());
        return made->id;
    }
    long long count(const std::string& where) {
        return std::stoll(t.query("SELECT count(*) FROM delivery WHERE " + where));
    }
    std::vector<mappers::DeliveryJob> claim(std::size_t n, std::size_t cap = 100,
                                            milliseconds lease = milliseconds(60000),
                                            std::vector<std::string> exclude = {}) {
        return outbox.claim(n, lease, cap, exclude);
    }
    void patch_active(const scim::CallContext& ctx, const std::string& id, bool active) {
        auto r = service.patch(ctx, scim::ResourceKind::kUser, id,
                               json::parse(std::string(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":)") +
                                           (active ? "true" : "false") + "}]}"),
                               "", {});
        REQUIRE(r.has_value());
    }
};

mappers::Completion delivered() {
    mappers::Completion c;
    c.delivered = true;
    c.event_type = "user.updated";
    c.status = 200;
    return c;
}

TEST_SUITE("integration.outbox") {

TEST_CASE("a write enqueues one delivery per enabled app in its own transaction") {
    OutboxWorld w;
    const std::string a1 = w.app(w.a, "crm");
    const std::string a2 = w.app(w.a, "chat", true);
    w.app(w.a, "off", false, false);
    w.app(w.b, "other-tenant");
    const auto u = w.user(w.a, "ann");
    CHECK(w.count("resource_id = '" + u.id + "'") == 2);
    CHECK(w.count("resource_id = '" + u.id + "' AND app_id = '" + a1 + "'") == 1);
    const auto g = w.group(w.a, "team", {u.id});
    REQUIRE(g.has_value());
    // Only the app that receives groups gets group deliveries.
    CHECK(w.count("resource_id = '" + g->id + "'") == 1);
    CHECK(w.count("resource_id = '" + g->id + "' AND app_id = '" + a2 + "'") == 1);
    // A write that fails (duplicate userName) enqueues nothing.
    const long long before = w.count("true");
    auto dup = w.service.create(w.a, scim::ResourceKind::kUser,
                                json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ANN"})"));
    CHECK_FALSE(dup.has_value());
    CHECK(w.count("true") == before);
    // The change and its audit row share the transaction.
    CHECK(w.t.query("SELECT count(*) FROM audit_log WHERE resource_id = '" + u.id + "' AND action = 'user.create'") == "1");
}

TEST_CASE("an app created later receives every existing user once (initial sync)") {
    OutboxWorld w;
    for (int i = 0; i < 5; ++i) {
        w.user(w.a, "u" + std::to_string(i));
    }
    w.user(w.b, "elsewhere");
    const std::string app = w.app(w.a, "late");
    CHECK(w.count("app_id = '" + app + "' AND operation = 'sync'") == 5);
}

TEST_CASE("the bridge invites an account that entered scope once: a second automatic invitation is no "
          "resend, an admin's is") {
    OutboxWorld w;
    json::object def{{"name", "wiki"},
                     {"connector", "webhook"},
                     {"webhook", json::object{{"url", "https://app.example.com/hook"}}},
                     {"policies", json::object{{"invite", "now"}}}};
    auto decoded = mappers::decode_app(def, scim::SchemaRegistry::core());
    REQUIRE(decoded.has_value());
    const std::string app = w.apps.create_app(w.a.tenant_id, *decoded, "test")->id;
    const auto u = w.user(w.a, "ann");
    // The delivery that made the account initiated, as its completion records it.
    w.t.query("INSERT INTO app_object (tenant_id, app_id, resource_type, resource_id, state) VALUES ('" +
              w.a.tenant_id + "', '" + app + "', 'User', '" + u.id + "', 'initiated')");
    db::PgLifecycleStore store(*w.database);
    mappers::LifecycleService lifecycle(store, mappers::SecretKey(mappers::SecretKey::generate_hex()), {});
    const mappers::AccountRef account{w.a.tenant_id, app, u.id};

    // Both paths that invite (the delivery's hook and the lifecycle job's sweep) at once, twice over.
    std::atomic<int> invited{0}, skipped{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            const auto r = lifecycle.invite_entered(account);
            (!r ? failed : r->has_value() ? invited : skipped) += 1;
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    CHECK(invited == 1);
    CHECK(skipped == 3);
    CHECK(failed == 0);
    const auto invitations = [&](const std::string& state) {
        return w.t.query("SELECT count(*) FROM invitation WHERE user_id = '" + u.id + "' AND state = '" + state + "'");
    };
    CHECK(invitations("open") == "1");
    CHECK(invitations("revoked") == "0");
    CHECK(w.t.query("SELECT state FROM app_object WHERE resource_id = '" + u.id + "'") == "invited");
    const auto again = lifecycle.invite_entered(account);
    REQUIRE(again.has_value());
    CHECK_FALSE(again->has_value());
    CHECK(invitations("open") == "1");

    // An admin's invitation of an invited account is a resend: the earlier link is revoked.
    REQUIRE(lifecycle.invite(account, "admin:test").has_value());
    CHECK(invitations("open") == "1");
    CHECK(invitations("revoked") == "1");
}

TEST_CASE("pruning deletes finished deliveries past the retention and keeps dead, open and recent ones") {
    OutboxWorld w;
    w.app(w.a, "crm");
    for (int i = 0; i < 6; ++i) {
        w.user(w.a, "p" + std::to_string(i));
    }
    REQUIRE(w.count("true") == 6);
    // Two delivered, one superseded and one dead long ago; one delivered just now; one pending.
    w.t.query("WITH x AS (SELECT id, row_number() OVER (ORDER BY id) n FROM delivery) "
              "UPDATE delivery d SET state = CASE x.n WHEN 1 THEN 'delivered' WHEN 2 THEN 'delivered' "
              "  WHEN 3 THEN 'superseded' WHEN 4 THEN 'dead' WHEN 5 THEN 'delivered' ELSE 'pending' END, "
              " finished_at = CASE WHEN x.n <= 4 THEN now() - interval '8 days' WHEN x.n = 5 THEN now() END "
              "FROM x WHERE x.id = d.id");
    db::PgLifecycleStore store(*w.database);
    CHECK(store.prune_deliveries(2, std::chrono::hours(24 * 7)) == 2);  // a batch at a time
    CHECK(store.prune_deliveries(100, std::chrono::hours(24 * 7)) == 1);
    CHECK(store.prune_deliveries(100, std::chrono::hours(24 * 7)) == 0);
    CHECK(w.count("true") == 3);
    CHECK(w.count("state = 'dead'") == 1);
    CHECK(w.count("state = 'pending'") == 1);
    CHECK(w.count("state = 'delivered'") == 1);
}

TEST_CASE("of several changes to one resource the newest is leased and the older superseded") {
    OutboxWorld w;
    const std::string app = w.app(w.a, "crm");
    const auto u = w.user(w.a, "bob");
    w.patch_active(w.a, u.id, false);
    w.patch_active(w.a, u.id, true);
    const auto jobs = w.claim(10);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].version == 3);
    CHECK(jobs[0].app_id == app);
    CHECK(w.count("state = 'superseded'") == 2);
    // While it is in flight, a newer change waits: at most one delivery per (app, resource).
    w.patch_active(w.a, u.id, false);
    CHECK(w.claim(10).empty());
    REQUIRE(w.outbox.complete(jobs[0], delivered()));
    const auto next = w.claim(10);
    REQUIRE(next.size() == 1);
    CHECK(next[0].version == 4);
}

TEST_CASE("a resource whose delivery is backing off waits for it, then that delivery is sent again before newer ones") {
    OutboxWorld w;
    w.app(w.a, "crm");
    const auto u = w.user(w.a, "cy");
    auto jobs = w.claim(10);
    REQUIRE(jobs.size() == 1);
    mappers::Reschedule later;
    later.delay = milliseconds(600000);
    later.status = 503;
    later.detail = "down";
    REQUIRE(w.outbox.reschedule(jobs[0], later));
    w.patch_active(w.a, u.id, false);
    CHECK(w.claim(10).empty());  // the newer change may not overtake the one backing off
    w.t.query("UPDATE delivery SET next_at = now() WHERE state = 'pending'");
    const auto retry = w.claim(10);
    REQUIRE(retry.size() == 1);
    // The attempted delivery is retried under its own id (the app may have applied it despite the
    // 503; a newer row in its place would be a second event), and is not superseded.
    CHECK(retry[0].id == jobs[0].id);
    CHECK(retry[0].attempts == 2);
    CHECK(w.count("state = 'superseded'") == 0);
    CHECK(w.t.query("SELECT count(*) FROM audit_log WHERE action = 'delivery.retry'") == "1");
    REQUIRE(w.outbox.complete(retry[0], delivered()));
    const auto next = w.claim(10);
    REQUIRE(next.size() == 1);
    CHECK(next[0].version == 2);
}

TEST_CASE("a delivery whose lease expired (its worker died) is sent again before a newer change, never superseded") {
    OutboxWorld w;
    w.app(w.a, "crm");
    const auto u = w.user(w.a, "eve");
    const auto first = w.claim(1, 100, milliseconds(500));
    REQUIRE(first.size() == 1);
    w.patch_active(w.a, u.id, false);  // a newer change while the first is out
    w.patch_active(w.a, u.id, true);
    std::this_thread::sleep_for(milliseconds(700));
    REQUIRE(w.outbox.release_expired_leases() == 1);
    const auto again = w.claim(10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == first[0].id);  // same event id: a receiver that got it dedupes
    CHECK(w.count("state = 'superseded'") == 0);
    REQUIRE(w.outbox.complete(again[0], delivered()));
    const auto newest = w.claim(10);  // then the newest, the one in between superseded
    REQUIRE(newest.size() == 1);
    CHECK(newest[0].version == 3);
    CHECK(w.count("state = 'superseded'") == 1);
}

TEST_CASE("a completion from an expired lease is rejected and changes nothing") {
    OutboxWorld w;
    w.app(w.a, "crm");
    const auto u = w.user(w.a, "dee");
    const auto first = w.claim(1, 100, milliseconds(1000));
    REQUIRE(first.size() == 1);
    std::this_thread::sleep_for(milliseconds(1300));
    CHECK(w.claim(1).empty());  // a claim does not look for expired leases; the sweep does
    CHECK(w.outbox.release_expired_leases() == 1);
    CHECK(w.outbox.release_expired_leases() == 0);
    const auto second = w.claim(1);  // the lease expired: another worker takes it
    REQUIRE(second.size() == 1);
    CHECK(second[0].id == first[0].id);
    CHECK(second[0].lease_token != first[0].lease_token);
    CHECK_FALSE(w.outbox.complete(first[0], delivered()));
    CHECK_FALSE(w.outbox.reschedule(first[0], mappers::Reschedule{}));
    CHECK(w.count("state = 'leased'") == 1);
    CHECK(w.outbox.complete(second[0], delivered()));
    CHECK(w.count("state = 'delivered'") == 1);
    CHECK(w.count("state = 'leased'") == 0);
}

TEST_CASE("at most app_cap deliveries of one app are leased, and excluded apps are skipped") {
    OutboxWorld w;
    const std::string slow = w.app(w.a, "slow");
    for (int i = 0; i < 6; ++i) {
        w.user(w.a, "cap" + std::to_string(i));
    }
    auto jobs = w.claim(10, 2);
    CHECK(jobs.size() == 2);
    CHECK(w.claim(10, 2).empty());  // still two in flight
    const std::string fast = w.app(w.a, "fast");  // its initial sync: six deliveries
    jobs = w.claim(10, 2, milliseconds(60000), {});
    REQUIRE(jobs.size() == 2);
    for (const auto& j : jobs) {
        CHECK(j.app_id == fast);
    }
    CHECK(w.claim(10, 100, milliseconds(60000), {slow, fast}).empty());
}

TEST_CASE("an app's backlog due first never holds back another app's deliveries: each app gets its own free slots") {
    // An app created in a populated tenant queues a delivery of every user at once. The claim took
    // the first due rows of all apps, which were all that app's: it got its free slots and the
    // other apps none, so one app's cap was all that was in flight.
    OutboxWorld w;
    for (int i = 0; i < 40; ++i) {
        w.user(w.a, "backlog" + std::to_string(i));
    }
    const std::string first = w.app(w.a, "first");    // 40 deliveries, due first
    const std::string second = w.app(w.a, "second");  // 40 more, due after them
    w.t.query("UPDATE delivery SET next_at = next_at - interval '1 minute' WHERE app_id = '" + first + "'");
    const auto per_app = [&](const std::vector<mappers::DeliveryJob>& jobs) {
        std::map<std::string, int> n;
        for (const auto& j : jobs) {
            ++n[j.app_id];
        }
        return n;
    };
    auto jobs = w.claim(8, 4);
    auto n = per_app(jobs);
    CHECK(n[first] == 4);
    CHECK(n[second] == 4);
    // The oldest of each app, in due order within the app.
    std::int64_t last_first = 0;
    for (const auto& j : jobs) {
        if (j.app_id == first) {
            CHECK(j.id > last_first);
            last_first = j.id;
        }
    }
    CHECK(last_first == std::stoll(w.t.query("SELECT id FROM delivery WHERE app_id = '" + first +
                                             "' ORDER BY next_at, id OFFSET 3 LIMIT 1")));
    CHECK(w.claim(8, 4).empty());  // both apps' slots full
    // One finishes: its slot goes to its app's next delivery.
    const std::string freed = jobs.front().app_id;
    REQUIRE(w.outbox.complete(jobs.front(), delivered()));
    jobs = w.claim(8, 4);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].app_id == freed);
}

TEST_CASE("a resync's repairs get a quarter of an app's slots ahead of live changes, and all of them when idle") {
    OutboxWorld w;
    for (int i = 0; i < 48; ++i) {
        w.user(w.a, "lane" + std::to_string(i));
    }
    const std::string busy = w.app(w.a, "busy");  // 48 live deliveries (its initial sync)
    // The 8 newest become a resync's repairs: due after every live change.
    w.t.query("UPDATE delivery SET operation = 'resync' WHERE id IN (SELECT id FROM delivery WHERE app_id = '" +
              busy + "' ORDER BY id DESC LIMIT 8)");
    const std::string oldest_live = w.t.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM delivery "
                                              "WHERE app_id = '" + busy + "' ORDER BY id LIMIT 12) x");
    auto jobs = w.claim(100, 16);
    REQUIRE(jobs.size() == 16);
    int repairs = 0;
    std::vector<std::int64_t> live;
    for (const auto& j : jobs) {
        if (j.operation == "resync") {
            ++repairs;
        } else {
            live.push_back(j.id);
        }
    }
    CHECK(repairs == 4);  // 16 / 4, although every live change was due earlier
    std::sort(live.begin(), live.end());
    std::string live_ids;
    for (std::int64_t id : live) {
        live_ids += (live_ids.empty() ? "" : ",") + std::to_string(id);
    }
    CHECK(live_ids == oldest_live);  // the rest in due order
    CHECK(w.claim(100, 16).empty());  // the app's slots are full
    // Two repairs finish: their slots go to repairs again (the quarter is of in-flight work).
    int finished = 0;
    for (const auto& j : jobs) {
        if (j.operation == "resync" && finished < 2) {
            REQUIRE(w.outbox.complete(j, delivered()));
            ++finished;
        }
    }
    auto next = w.claim(100, 16);
    REQUIRE(next.size() == 2);
    CHECK(next[0].operation == "resync");
    CHECK(next[1].operation == "resync");

    // An app whose only work is repairs gets every slot for them.
    for (int i = 0; i < 10; ++i) {
        w.user(w.b, "idle" + std::to_string(i));
    }
    const std::string idle = w.app(w.b, "idle");
    w.t.query("UPDATE delivery SET operation = 'resync' WHERE app_id = '" + idle + "'");
    auto only = w.claim(100, 16, milliseconds(60000), {busy});
    CHECK(only.size() == 10);
}

TEST_CASE("a claim's plans cached while the outbox was empty still read its indexes once an import filled it") {
    // PL/pgSQL keeps a connection's plans. Made by PostgreSQL's default choice on an empty
    // outbox, they scanned the whole table on every claim after an import queued thousands.
    OutboxWorld w;
    w.t.query("ALTER TABLE delivery SET (autovacuum_enabled = false)");  // no ANALYZE behind the test's back
    w.t.query("ANALYZE delivery");  // statistics of an empty outbox, as autovacuum leaves them after a quiet spell
    auto one = db::Database::open(w.t.dsn(), {1});  // one connection: the plans cached are the ones used
    db::PgOutboxStore outbox(*one);
    for (int i = 0; i < 8; ++i) {
        CHECK(outbox.claim(8, milliseconds(60000), 16, {}).empty());
    }
    const std::string app = w.app(w.a, "import");
    w.t.query("INSERT INTO delivery (tenant_id, app_id, resource_type, resource_id, version, operation) SELECT '" +
              w.a.tenant_id + "', '" + app + "', 'User', gen_random_uuid(), 1, 'create' FROM generate_series(1, 20000)");
    const auto seq_scans = [&] {
        one->impl().with_connection([](db::Connection& c) {
            return db::query_row(c, "SELECT pg_stat_force_next_flush()", {}).has_value();
        });
        return std::stoll(w.t.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'delivery'"));
    };
    const long long before = seq_scans();
    for (int i = 0; i < 3; ++i) {
        CHECK(outbox.claim(8, milliseconds(60000), 100, {}).size() == 8);
    }
    CHECK(seq_scans() == before);
}

TEST_CASE("concurrent claimers never lease one resource twice and lose nothing") {
    OutboxWorld w;
    w.app(w.a, "crm");
    std::vector<std::string> users;
    for (int i = 0; i < 30; ++i) {
        users.push_back(w.user(w.a, "cc" + std::to_string(i)).id);
    }
    for (int round = 0; round < 3; ++round) {
        for (const auto& id : users) {
            w.patch_active(w.a, id, round % 2 == 0 ? false : true);
        }
    }
    std::mutex m;
    std::set<std::string> in_flight;
    std::map<std::string, std::int64_t> last_version;
    std::atomic<int> violations{0};
    std::atomic<int> delivered_count{0};
    auto worker = [&] {
        db::PgOutboxStore outbox(*w.database);
        for (int idle = 0; idle < 20;) {
            const auto jobs = outbox.claim(4, milliseconds(60000), 100, {});
            if (jobs.empty()) {
                ++idle;
                std::this_thread::sleep_for(milliseconds(20));
                continue;
            }
            idle = 0;
            for (const auto& j : jobs) {
                {
                    std::lock_guard lock(m);
                    if (!in_flight.insert(j.resource_id).second || j.version < last_version[j.resource_id]) {
                        ++violations;
                    }
                    last_version[j.resource_id] = j.version;
                }
                std::this_thread::sleep_for(milliseconds(2));
                {
                    std::lock_guard lock(m);
                    in_flight.erase(j.resource_id);
                }
                if (outbox.complete(j, delivered())) {
                    ++delivered_count;
                }
            }
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(violations.load() == 0);
    CHECK(w.count("state IN ('pending', 'leased')") == 0);
    // Every user's newest version was delivered.
    for (const auto& id : users) {
        CHECK(last_version[id] == 4);
    }
    CHECK(w.count("state = 'delivered'") == delivered_count.load());
}

TEST_CASE("dead deliveries are replayed by id or time range with the same id") {
    OutboxWorld w;
    const std::string app = w.app(w.a, "crm");
    const auto u = w.user(w.a, "eve");
    auto jobs = w.claim(1);
    REQUIRE(jobs.size() == 1);
    mappers::Reschedule dead;
    dead.dead = true;
    dead.status = 410;
    dead.detail = "gone";
    REQUIRE(w.outbox.reschedule(jobs[0], dead));
    CHECK(w.count("state = 'dead'") == 1);
    CHECK(w.t.query("SELECT last_error FROM delivery WHERE id = " + std::to_string(jobs[0].id)) == "gone");
    auto n = w.apps.replay(w.a.tenant_id, mappers::ReplayRequest{{jobs[0].id}, {}, {}, {}, {}}, "admin:x");
    REQUIRE(n.has_value());
    CHECK(*n == 1);
    auto again = w.claim(1);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == jobs[0].id);
    REQUIRE(w.outbox.reschedule(again[0], dead));
    // By time range (dead by default), and never another tenant's.
    mappers::ReplayRequest range;
    range.from = "2000-01-01T00:00:00Z";
    range.app_id = app;
    CHECK(*w.apps.replay(w.b.tenant_id, range, "admin:x") == 0);
    CHECK(*w.apps.replay(w.a.tenant_id, range, "admin:x") == 1);
    CHECK(w.t.query("SELECT count(*) FROM audit_log WHERE action = 'delivery.replay'") == "3");
    auto bad = w.apps.replay(w.a.tenant_id, mappers::ReplayRequest{}, "admin:x");
    CHECK_FALSE(bad.has_value());
    (void)u;
}

TEST_CASE("a completion records the app object, the account transition and its audit atomically") {
    OutboxWorld w;
    const std::string app = w.app(w.a, "crm");
    const auto u = w.user(w.a, "fay");
    const auto jobs = w.claim(1);
    REQUIRE(jobs.size() == 1);
    mappers::Completion c = delivered();
    c.event_type = "user.created";
    c.write_object = true;
    c.object.state = mappers::AccountState::kInitiated;
    c.object.remote_id = "remote-1";
    c.object.payload = json::object{{"userName", "fay"}};
    c.object.delivered_version = 1;
    c.change = mappers::StateChange{std::nullopt, mappers::AccountState::kInitiated, "enter_scope"};
    REQUIRE(w.outbox.complete(jobs[0], c));
    const auto obj = w.outbox.app_object(w.a.tenant_id, app, u.id);
    REQUIRE(obj.has_value());
    CHECK(obj->state == mappers::AccountState::kInitiated);
    CHECK(obj->remote_id == "remote-1");
    CHECK(json::serialize(obj->payload) == R"({"userName":"fay"})");
    CHECK(w.t.query("SELECT count(*) FROM audit_log WHERE action = 'account.initiated' AND resource_id = '" + u.id + "'") == "1");
    const auto accounts = w.apps.accounts(w.a.tenant_id, mappers::AccountQuery{app, std::string("initiated"), {}, {}, 10});
    REQUIRE(accounts.rows.size() == 1);
    CHECK(accounts.rows[0].as_object().at("user_name").as_string() == "fay");
    CHECK(w.apps.accounts(w.b.tenant_id, mappers::AccountQuery{}).rows.empty());
    const auto audit = w.apps.audit(w.a.tenant_id, mappers::AuditQuery{{}, u.id, std::string("account."), {}, 10});
    CHECK(audit.rows.size() == 1);
}

TEST_CASE("completions from many workers at once are each recorded, fenced by their own lease, a bad one failing alone") {
    OutboxWorld w;
    const std::string app = w.app(w.a, "crm");
    const std::string other_app = w.app(w.a, "chat");
    std::vector<std::string> users;
    for (int i = 0; i < 40; ++i) {
        users.push_back(w.user(w.a, "many" + std::to_string(i)).id);
    }
    auto jobs = w.claim(200);
    REQUIRE(jobs.size() == 80);
    // One stale lease (as after a lease expired and another worker took it) and one malformed
    // token, among 78 good completions sent all at once through one store.
    jobs[0].lease_token = "00000000-0000-4000-8000-000000000000";
    jobs[1].lease_token = "not-a-token";
    std::atomic<bool> go{false};
    std::atomic<int> recorded{0};
    std::atomic<int> rejected{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (const auto& job : jobs) {
        threads.emplace_back([&, job] {
            while (!go.load()) {
                std::this_thread::yield();
            }
            mappers::Completion c = delivered();
            c.write_object = true;
            c.object.state = mappers::AccountState::kActive;
            c.object.remote_id = "remote-" + job.resource_id;
            c.object.payload = json::object{{"id", job.resource_id}};
            c.object.delivered_version = job.version;
            try {
                (w.outbox.complete(job, c) ? recorded : rejected)++;
            } catch (...) {
                ++failed;
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    CHECK(recorded.load() == 78);
    CHECK(rejected.load() == 1);
    CHECK(failed.load() == 1);
    CHECK(w.count("state = 'delivered'") == 78);
    CHECK(w.count("state = 'leased'") == 2);
    CHECK(w.t.query("SELECT count(*) FROM app_object") == "78");
    CHECK(w.t.query("SELECT count(*) FROM audit_log WHERE action = 'delivery.delivered'") == "78");

    // What each app holds, read for a list of users at once: that app's own objects only.
    const std::vector<std::string> ids{users[5], users[6], "00000000-0000-4000-8000-000000000000"};
    const auto held = w.outbox.app_objects(w.a.tenant_id, app, ids);
    REQUIRE(held.size() == 2);
    CHECK(held.at(users[5]).remote_id == "remote-" + users[5]);
    CHECK(held.at(users[6]).state == mappers::AccountState::kActive);
    CHECK(json::serialize(held.at(users[6]).payload) == json::serialize(json::object{{"id", users[6]}}));
    CHECK(w.outbox.app_objects(w.a.tenant_id, other_app, ids).size() == 2);
    CHECK(w.outbox.app_objects(w.b.tenant_id, app, ids).empty());
    CHECK(w.outbox.app_objects(w.a.tenant_id, app, {}).empty());
}

TEST_CASE("a resync finds the app objects of deleted users page by page, each once, of its own app only") {
    OutboxWorld w;
    db::PgReconcileStore store{*w.database};
    const std::string app = w.app(w.a, "crm");
    const std::string other = w.app(w.a, "hr");
    const std::string foreign = w.app(w.b, "crm");
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i) ids.push_back(w.user(w.a, "u" + std::to_string(i)).id);
    const std::string b_user = w.user(w.b, "b0").id;
    // What each app holds, as if delivered (the deliveries themselves are not the point here).
    w.t.query("DELETE FROM delivery");
    w.t.query("INSERT INTO app_object (tenant_id, app_id, resource_type, resource_id, state, delivered_version) "
             "SELECT tenant_id, a.id, 'User', u.id, 'active', 1 FROM scim_user u JOIN app a USING (tenant_id)");
    // Three users of tenant a and tenant b's one are deleted without telling the apps.
    w.t.query("DELETE FROM scim_user WHERE id IN ('" + ids[1] + "', '" + ids[4] + "', '" + ids[6] + "', '" + b_user + "')");
    std::multiset<std::string> found;
    std::size_t pages = 0;
    mappers::GonePage page;
    for (std::string after;; after = *page.next) {
        page = store.gone(w.a.tenant_id, app, after, 2);
        ++pages;
        for (const mappers::GoneObject& g : page.objects) {
            found.insert(g.id);
            CHECK(g.object.delivered_version == 1);
            CHECK_FALSE(g.in_flight);
        }
        REQUIRE(pages < 10);
        if (!page.next) break;
    }
    CHECK(pages == 4);  // 7 objects, 2 a page: the fourth holds one and ends the walk
    CHECK(found == std::multiset<std::string>{ids[1], ids[4], ids[6]});
    // A page size that divides the objects ends with an empty page, found nothing twice.
    CHECK(store.gone(w.a.tenant_id, other, "", 7).objects.size() == 3);
    CHECK(store.gone(w.a.tenant_id, other, "", 7).next.has_value());
    CHECK(store.gone(w.b.tenant_id, foreign, "", 7).objects.size() == 1);
    CHECK(store.gone(w.b.tenant_id, app, "", 7).objects.empty());  // another tenant's app: nothing
}

}  // TEST_SUITE

}  // namespace
