#pragma once
// The scheduler (DESIGN §7): one leader among every bridge process (a PostgreSQL advisory lock,
// mappers::ScheduleStore), jobs that run when due and never overlap themselves (one running row
// per job; a slow run delays the next one instead of stacking), runs resumed from their
// checkpoint after a crash, run history and next run times in the admin API and in /metrics.
// The periods come scaled by the caller's time_scale, so tests run days in seconds.

#include "mappers/schedule.hpp"
#include "scim/result.hpp"
#include "server/metrics.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace scimbridge::server {

struct JobContext {
    const mappers::ScheduleRun& run;
    // Saves where the run is; a run resumed after a crash starts from run.checkpoint.
    std::function<void(const boost::json::object&)> checkpoint;
    // False once this process lost the leadership or is stopping: a job returns soon after.
    std::function<bool()> keep_going;
    // Called by a job between units of work (a page): while the bridge is serving requests, it
    // sleeps long enough that the run works at most Options::job_duty of its time.
    std::function<void()> pace;

    void pause_between_pages() const {
        if (pace) pace();
    }
};

// A job's report (counts, what it found), or the reason it failed.
using Job = std::function<scim::Result<boost::json::object>(JobContext&)>;

class Scheduler {
public:
    struct Options {
        std::chrono::milliseconds tick{1000};
        std::chrono::milliseconds lifecycle_period{60'000};
        std::chrono::milliseconds resync_period{5LL * 3600 * 1000};
        std::size_t max_parallel = 2;  // runs of different jobs at once
        // The niceness of a run's thread (Linux: per thread). Scheduled work (a resync walking a
        // tenant, directory pulls) yields the CPU to request and delivery threads; on an idle
        // machine it runs at full speed all the same. 0 keeps the process's priority.
        int job_nice = 10;
        // While requests are being served, a run works at most this share of its time (it waits
        // between pages; JobContext::pace). Nicing alone leaves the run's database statements
        // and the requests it sends at full priority. 1 never waits; an idle bridge never waits.
        double job_duty = 0.5;
    };

    Scheduler(mappers::ScheduleStore& store, Options options, Metrics* metrics = nullptr);
    ~Scheduler();  // stops and joins
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    void add_job(const std::string& kind, Job job);
    void start();
    void stop();
    void wake();  // look for due jobs now (after an admin asked for a run)
    bool leading() const { return leading_.load(); }

private:
    void loop();
    void tick();
    void launch(mappers::ScheduleRun run);
    void reap();

    mappers::ScheduleStore& store_;
    Options options_;
    Metrics* metrics_;
    std::map<std::string, Job> jobs_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> leading_{false};
    std::mutex mutex_;
    std::condition_variable wake_cv_;
    bool woken_ = false;
    std::chrono::steady_clock::time_point last_ensure_{};
    struct Running {
        std::string key;
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::vector<Running> running_;  // touched by the loop thread only
    std::thread thread_;
};

}  // namespace scimbridge::server
