#include "server/scheduler.hpp"

#include "scim/datetime.hpp"
#include "server/log.hpp"
#include "server/thread_name.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace scimbridge::server {

namespace json = boost::json;

namespace {

// Seconds since the epoch of an RFC 3339 time; 0 when unreadable.
double epoch_seconds(const std::string& text) {
    return static_cast<double>(scim::parse_datetime(text).value_or(0)) / 1e6;
}

}  // namespace

Scheduler::Scheduler(mappers::ScheduleStore& store, Options options, Metrics* metrics)
    : store_(store), options_(options), metrics_(metrics) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::add_job(const std::string& kind, Job job) { jobs_[kind] = std::move(job); }

void Scheduler::start() {
    stop_ = false;
    thread_ = std::thread([this] {
        name_this_thread("sb-schedule");
        loop();
    });
}

void Scheduler::stop() {
    if (!thread_.joinable()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        woken_ = true;
    }
    wake_cv_.notify_all();
    thread_.join();
    for (Running& r : running_) {
        r.thread.join();  // jobs see keep_going() == false and return
    }
    running_.clear();
    store_.resign();
    leading_ = false;
}

void Scheduler::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_cv_.notify_all();
}

void Scheduler::loop() {
    while (!stop_) {
        try {
            tick();
        } catch (const std::exception& e) {
            log::error("scheduler tick failed", {{"error", e.what()}});
        }
        std::unique_lock lock(mutex_);
        wake_cv_.wait_for(lock, options_.tick, [this] { return woken_; });
        woken_ = false;
    }
}

void Scheduler::reap() {
    for (auto it = running_.begin(); it != running_.end();) {
        if (it->done->load()) {
            it->thread.join();
            it = running_.erase(it);
        } else {
            ++it;
        }
    }
}

void Scheduler::tick() {
    reap();
    const bool was_leading = leading_.load();
    leading_ = store_.try_lead();
    if (!leading_) {
        if (was_leading) {
            log::warn("scheduler lost the leadership", {});
        }
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!was_leading || now - last_ensure_ > std::chrono::seconds(10) || now - last_ensure_ > options_.tick * 10) {
        store_.ensure_jobs(options_.lifecycle_period, options_.resync_period);
        last_ensure_ = now;
    }
    if (!was_leading) {
        log::info("scheduler leads", {});
        // Runs a dead leader left behind continue from their checkpoint.
        for (mappers::ScheduleRun& run : store_.interrupted_runs()) {
            store_.mark_resumed(run.id);
            run.resumed += 1;
            log::info("scheduler resumes a run", {{"key", run.key}, {"run_id", run.id}});
            launch(std::move(run));
        }
    }
    std::map<std::string, double> next_runs;
    for (const mappers::ScheduleEntry& entry : store_.jobs(std::nullopt)) {
        next_runs[entry.key] = epoch_seconds(entry.next_run_at);
        if (!entry.enabled || !entry.due || running_.size() >= options_.max_parallel) {
            continue;
        }
        const bool busy = std::any_of(running_.begin(), running_.end(),
                                      [&](const Running& r) { return r.key == entry.key; });
        if (busy || !jobs_.contains(entry.kind)) {
            continue;
        }
        if (auto run = store_.start_run(entry.key, false)) {
            launch(std::move(*run));
        }
    }
    if (metrics_ != nullptr) {
        metrics_->set_schedule_next_runs(std::move(next_runs));
    }
}

namespace {

// Raises the calling thread's niceness by `nice` (on Linux, setpriority on a thread id applies to
// that thread only). Failure leaves the priority as it was: not worth failing a run for.
void lower_priority(int nice) {
    if (nice <= 0) {
        return;
    }
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, tid);
    if (errno == 0) {
        ::setpriority(PRIO_PROCESS, tid, std::min(19, current + nice));
    }
}

// JobContext::pace: after a unit of work that took `w` while requests were being served, waits
// w × (1 − duty) / duty (at most 2 s, less when the scheduler stops), so that the run works at
// most `duty` of its time then. A run on an idle bridge never waits.
class Pacer {
public:
    Pacer(double duty, const Metrics* metrics, std::function<bool()> going)
        : duty_(duty), metrics_(metrics), going_(std::move(going)) {
        resume();
    }
    void operator()() {
        using namespace std::chrono;
        const auto worked = steady_clock::now() - resumed_;
        if (metrics_ != nullptr && duty_ > 0.0 && duty_ < 1.0 && metrics_->requests_served() != served_) {
            const auto wait = std::min<steady_clock::duration>(
                duration_cast<steady_clock::duration>(duration<double>(worked) * ((1.0 - duty_) / duty_)), seconds(2));
            const auto until = steady_clock::now() + wait;
            while (steady_clock::now() < until && going_()) {
                std::this_thread::sleep_for(std::min<steady_clock::duration>(until - steady_clock::now(),
                                                                            milliseconds(50)));
            }
        }
        resume();
    }

private:
    void resume() {
        resumed_ = std::chrono::steady_clock::now();
        served_ = metrics_ != nullptr ? metrics_->requests_served() : 0;
    }
    double duty_;
    const Metrics* metrics_;
    std::function<bool()> going_;
    std::chrono::steady_clock::time_point resumed_;
    std::uint64_t served_ = 0;
};

}  // namespace

void Scheduler::launch(mappers::ScheduleRun run) {
    const auto job = jobs_.find(run.kind);
    if (job == jobs_.end()) {
        store_.finish_run(run.id, false, {}, "no job of kind " + run.kind + " in this process");
        return;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    Running r{run.key, {}, done};
    r.thread = std::thread([this, run = std::move(run), fn = job->second, done] {
        name_this_thread("sb-job");
        lower_priority(options_.job_nice);
        const auto started = std::chrono::steady_clock::now();
        bool ok = false;
        json::object report;
        std::string error;
        try {
            const auto going = [this] { return !stop_.load() && leading_.load(); };
            JobContext ctx{run,
                           [this, id = run.id](const json::object& c) { store_.save_checkpoint(id, c); },
                           going,
                           Pacer(options_.job_duty, metrics_, going)};
            auto result = fn(ctx);
            if (result) {
                ok = true;
                report = std::move(*result);
            } else {
                error = result.error().detail;
            }
        } catch (const std::exception& e) {
            error = e.what();
        }
        try {
            if (!stop_.load() || ok) {
                // A run cut short by shutdown stays "running": the next leader resumes it.
                store_.finish_run(run.id, ok, report, error);
            }
            if (metrics_ != nullptr) {
                metrics_->record_schedule_run(run.kind, ok ? "succeeded" : "failed",
                                              std::chrono::steady_clock::now() - started);
            }
            if (!ok) {
                log::warn("scheduled run failed", {{"key", run.key}, {"run_id", run.id}, {"error", error}});
            }
        } catch (const std::exception& e) {
            log::error("scheduler could not record a run", {{"key", run.key}, {"error", e.what()}});
        }
        done->store(true);
    });
    running_.push_back(std::move(r));
}

}  // namespace scimbridge::server
