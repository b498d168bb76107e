#include "db/database.hpp"
#include "db/migrations.hpp"
#include "db/pg_schedule_store.hpp"
#include "mappers/schedule.hpp"
#include "server/metrics.hpp"
#include "server/scheduler.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <thread>

using namespace scimbridge;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;

namespace {

int thread_niceness() {
    errno = 0;
    return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
}

// The niceness the lifecycle job's thread ran with, under a scheduler with these options.
int niceness_of_a_run(int job_nice) {
    PgTestDatabase t;
    auto database = db::Database::open(t.dsn(), {2});
    db::migrate(*database);
    db::PgScheduleStore store(*database, t.dsn());
    server::Scheduler::Options options;
    options.tick = std::chrono::milliseconds(20);
    options.lifecycle_period = std::chrono::milliseconds(20);
    options.job_nice = job_nice;
    server::Scheduler scheduler(store, options);
    std::promise<int> seen;
    auto result = seen.get_future();
    bool reported = false;
    scheduler.add_job(mappers::kLifecycleJob, [&](server::JobContext&) -> scim::Result<boost::json::object> {
        if (!reported) {
            reported = true;
            seen.set_value(thread_niceness());
        }
        return boost::json::object{};
    });
    scheduler.start();
    REQUIRE(result.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    scheduler.stop();
    return result.get();
}

// How long a run's pause between two pages lasted after 200 ms of work, with or without requests
// served meanwhile, under job_duty 0.5.
struct Pauses {
    std::chrono::milliseconds busy{0};
    std::chrono::milliseconds idle{0};
};
Pauses pauses_of_a_run() {
    using namespace std::chrono;
    PgTestDatabase t;
    auto database = db::Database::open(t.dsn(), {2});
    db::migrate(*database);
    db::PgScheduleStore store(*database, t.dsn());
    server::Metrics metrics;
    server::Scheduler::Options options;
    options.tick = milliseconds(20);
    options.lifecycle_period = milliseconds(20);
    options.job_duty = 0.5;
    server::Scheduler scheduler(store, options, &metrics);
    std::promise<Pauses> seen;
    auto result = seen.get_future();
    bool reported = false;
    scheduler.add_job(mappers::kLifecycleJob, [&](server::JobContext& job) -> scim::Result<boost::json::object> {
        if (reported) {
            return boost::json::object{};
        }
        reported = true;
        const auto pause_after_work = [&](bool requests) {
            job.pause_between_pages();  // the page before: the work starts now
            std::this_thread::sleep_for(milliseconds(200));
            if (requests) {
                metrics.record_served();  // an IdP was served meanwhile
            }
            const auto began = steady_clock::now();
            job.pause_between_pages();
            return duration_cast<milliseconds>(steady_clock::now() - began);
        };
        Pauses p;
        p.busy = pause_after_work(true);
        p.idle = pause_after_work(false);
        seen.set_value(p);
        return boost::json::object{};
    });
    scheduler.start();
    REQUIRE(result.wait_for(seconds(20)) == std::future_status::ready);
    scheduler.stop();
    return result.get();
}

}  // namespace

TEST_SUITE("server.scheduler") {
TEST_CASE("while requests are served a run pauses between pages as long as it worked (job_duty 0.5), never when idle") {
    const Pauses p = pauses_of_a_run();
    CHECK(p.busy >= std::chrono::milliseconds(180));  // 200 ms of work, give or take the clock
    CHECK(p.idle < std::chrono::milliseconds(150));   // no wait: nobody to yield to
}

TEST_CASE("a job runs at its period, never overlaps itself, and a slow run delays the next one instead of stacking") {
    using namespace std::chrono;
    PgTestDatabase t;
    auto database = db::Database::open(t.dsn(), {2});
    db::migrate(*database);
    db::PgScheduleStore store(*database, t.dsn());
    server::Scheduler::Options options;
    options.tick = milliseconds(20);
    options.lifecycle_period = milliseconds(200);  // "every 5 hours", scaled
    server::Scheduler scheduler(store, options);
    std::atomic<int> runs{0}, inside{0}, most_inside{0};
    scheduler.add_job(mappers::kLifecycleJob, [&](server::JobContext&) -> scim::Result<boost::json::object> {
        const int now_inside = ++inside;
        int seen = most_inside.load();
        while (now_inside > seen && !most_inside.compare_exchange_weak(seen, now_inside)) {
        }
        if (++runs <= 3) {
            std::this_thread::sleep_for(milliseconds(500));  // slower than the period
        }
        --inside;
        return boost::json::object{};
    });
    scheduler.start();
    const auto until = steady_clock::now() + seconds(30);
    while (runs.load() < 8 && steady_clock::now() < until) {
        std::this_thread::sleep_for(milliseconds(20));
    }
    scheduler.stop();
    REQUIRE(runs.load() >= 8);
    CHECK(most_inside.load() == 1);
    // In PostgreSQL's clock: each run started a period or more after the one before, and never
    // before that one finished (three slow runs did not leave a backlog that ran back to back).
    const std::string gaps = t.query(
        "SELECT count(*) FILTER (WHERE started_at < prev_start + interval '200 milliseconds') || ' ' || "
        "count(*) FILTER (WHERE started_at < prev_finish) || ' ' || count(*) FROM (SELECT started_at, "
        "lag(started_at) OVER (ORDER BY id) AS prev_start, lag(finished_at) OVER (ORDER BY id) AS prev_finish "
        "FROM schedule_run WHERE key = 'lifecycle') r WHERE prev_start IS NOT NULL");
    CHECK(gaps.substr(0, 4) == "0 0 ");
    CHECK(t.query("SELECT count(*) FROM schedule_run WHERE key = 'lifecycle' AND state <> 'succeeded'") == "0");
}

TEST_CASE("with an injected clock an app's resync runs every 5 hours of that clock: not before, once when due, "
          "a run outlasting its period is not stacked, a clock set back runs nothing early") {
    using namespace std::chrono;
    PgTestDatabase t;
    // 2026-01-01T00:00:00Z
    auto clock = std::make_shared<tests::ManualClock>(std::int64_t{1'767'225'600} * 1'000'000);
    db::PoolOptions pool{2};
    pool.clock = clock;
    auto database = db::Database::open(t.dsn(), pool);
    db::migrate(*database);
    t.query("INSERT INTO tenant (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'acme')");
    t.query("INSERT INTO app (tenant_id, id, name, connector, definition, groups) VALUES "
            "('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000a1', 'Wiki', "
            "'webhook', '{}', false)");
    db::PgScheduleStore store(*database, t.dsn());
    server::Scheduler::Options options;
    options.tick = milliseconds(20);
    options.lifecycle_period = hours(24);
    options.resync_period = hours(5);  // unscaled: the test moves the clock instead
    server::Scheduler scheduler(store, options);
    std::atomic<int> runs{0}, inside{0}, most_inside{0};
    std::atomic<bool> hold_second{true};
    scheduler.add_job(mappers::kReconcileJob, [&](server::JobContext& job) -> scim::Result<boost::json::object> {
        const int now_inside = ++inside;
        int seen = most_inside.load();
        while (now_inside > seen && !most_inside.compare_exchange_weak(seen, now_inside)) {
        }
        if (++runs == 2) {
            while (hold_second.load() && job.keep_going()) {
                std::this_thread::sleep_for(milliseconds(5));
            }
        }
        --inside;
        return boost::json::object{};
    });
    const auto wait_for_runs = [&](int n) {
        const auto until = steady_clock::now() + seconds(20);
        while (runs.load() < n && steady_clock::now() < until) {
            std::this_thread::sleep_for(milliseconds(10));
        }
        return runs.load();
    };
    const auto settle = [] { std::this_thread::sleep_for(milliseconds(400)); };  // 20 ticks
    const auto started = [&](int nth) {
        return t.query("SELECT to_char(started_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI') FROM schedule_run "
                       "WHERE key LIKE 'reconcile:%' ORDER BY id OFFSET " + std::to_string(nth) + " LIMIT 1");
    };
    const auto next_run = [&] {
        return t.query("SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI') FROM schedule "
                       "WHERE kind = 'reconcile'");
    };

    scheduler.start();
    settle();
    CHECK(runs.load() == 0);
    CHECK(next_run() == "01-01 05:00");  // a new app's first resync is a period away
    clock->advance(hours(4) + minutes(59));
    settle();
    CHECK(runs.load() == 0);
    clock->advance(minutes(2));  // 05:01
    CHECK(wait_for_runs(1) == 1);
    settle();
    CHECK(runs.load() == 1);
    CHECK(started(0) == "01-01 05:01");
    CHECK(next_run() == "01-01 10:01");

    clock->advance(hours(5));  // 10:01: the second run starts and is held
    CHECK(wait_for_runs(2) == 2);
    clock->advance(hours(12));  // 22:01: two periods pass while it runs
    settle();
    CHECK(runs.load() == 2);
    CHECK(inside.load() == 1);
    hold_second = false;
    // The missed periods make one run, at once, not a backlog of them.
    CHECK(wait_for_runs(3) == 3);
    settle();
    CHECK(runs.load() == 3);
    CHECK(started(2) == "01-01 22:01");
    CHECK(next_run() == "01-02 03:01");

    // The clock set back ten minutes (an NTP step): nothing runs early.
    clock->advance(-minutes(10));
    clock->advance(hours(5));  // 02:51 the next day
    settle();
    CHECK(runs.load() == 3);
    clock->advance(minutes(11));
    CHECK(wait_for_runs(4) == 4);
    scheduler.stop();
    CHECK(most_inside.load() == 1);
    CHECK(t.query("SELECT count(*) FROM schedule_run WHERE state <> 'succeeded'") == "0");
}

TEST_CASE("a scheduled run's thread is niced by job_nice, so a resync yields the CPU to requests") {
    const int base = thread_niceness();
    CHECK(niceness_of_a_run(10) == std::min(19, base + 10));
    CHECK(niceness_of_a_run(0) == base);
    CHECK(thread_niceness() == base);  // the caller's own thread is untouched
}
}
