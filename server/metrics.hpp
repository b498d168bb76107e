#pragma once
// Prometheus metrics of the HTTP edge and the database pool, rendered in the text exposition
// format (version 0.0.4).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace scimbridge::server {

class Metrics {
public:
    // Upper bounds of the latency histogram, in seconds.
    static constexpr std::array<double, 12> kBuckets = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0};

    // route: the matched route pattern (never the raw path, which may hold identifiers).
    void record_request(const std::string& route, const std::string& method, unsigned status,
                        std::chrono::nanoseconds duration);
    // Authenticated API requests (IdPs, admins) answered since this process started; probes,
    // scrapes and claim pages are not counted. Lock-free: scheduled runs poll it to yield.
    void record_served() { served_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t requests_served() const { return served_.load(std::memory_order_relaxed); }

    // Dialect rewrites one request needed (scim::RewriteLog), per tenant and IdP source.
    void record_rewrites(const std::string& tenant_id, const std::string& tenant_name,
                         const std::string& source, const std::vector<std::string>& rewrites);
    struct RewriteCount {
        std::string source;
        std::string rewrite;
        std::uint64_t requests = 0;
    };
    // Since this process started.
    std::vector<RewriteCount> rewrites_of(const std::string& tenant_id) const;

    // Delivery outcomes (delivered, skipped, retry, dead, lease_lost, failed) and, for
    // delivered ones, the time from the change's commit to the app's acknowledgement.
    void record_delivery(const std::string& outcome, std::chrono::nanoseconds since_commit);
    std::uint64_t deliveries(const std::string& outcome) const;

    // Gauges read at scrape time.
    void set_pool_gauges(std::function<std::size_t()> in_use, std::size_t size);

    // Scheduler: finished runs by job kind and state, with their durations, and the next run
    // time of each job (as the leader last saw it).
    void record_schedule_run(const std::string& kind, const std::string& state, std::chrono::nanoseconds duration);
    void set_schedule_next_runs(std::map<std::string, double> next_run_epoch_seconds);

    std::string render() const;

private:
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> buckets{};
        std::uint64_t count = 0;
        double sum = 0.0;
    };
    std::atomic<std::uint64_t> served_{0};
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
    std::map<std::string, Histogram> latency_;
    // (tenant id, tenant name, source, rewrite) → requests
    std::map<std::tuple<std::string, std::string, std::string, std::string>, std::uint64_t> rewrites_;
    std::map<std::string, std::uint64_t> deliveries_;
    Histogram delivery_latency_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> schedule_runs_;
    std::map<std::string, std::pair<std::uint64_t, double>> schedule_durations_;  // kind → (count, sum)
    std::map<std::string, double> schedule_next_;
    std::function<std::size_t()> pool_in_use_;
    std::size_t pool_size_ = 0;
};

}  // namespace scimbridge::server
