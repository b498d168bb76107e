#include "server/metrics.hpp"

#include <cstdio>

namespace scimbridge::server {

namespace {
// Label values escape backslash, double quote and newline.
std::string label(const std::string& value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}
}  // namespace

void Metrics::record_request(const std::string& route, const std::string& method, unsigned status,
                             std::chrono::nanoseconds duration) {
    const double seconds = std::chrono::duration<double>(duration).count();
    const std::lock_guard lock(mutex_);
    ++requests_[{route, method, status}];
    Histogram& h = latency_[route];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) {
            ++h.buckets[i];
        }
    }
    ++h.count;
    h.sum += seconds;
}

void Metrics::record_rewrites(const std::string& tenant_id, const std::string& tenant_name,
                              const std::string& source, const std::vector<std::string>& rewrites) {
    if (rewrites.empty()) {
        return;
    }
    const std::lock_guard lock(mutex_);
    for (const std::string& r : rewrites) {
        ++rewrites_[{tenant_id, tenant_name, source, r}];
    }
}

std::vector<Metrics::RewriteCount> Metrics::rewrites_of(const std::string& tenant_id) const {
    const std::lock_guard lock(mutex_);
    std::vector<RewriteCount> out;
    for (const auto& [key, count] : rewrites_) {
        if (std::get<0>(key) == tenant_id) {
            out.push_back({std::get<2>(key), std::get<3>(key), count});
        }
    }
    return out;
}

void Metrics::set_pool_gauges(std::function<std::size_t()> in_use, std::size_t size) {
    const std::lock_guard lock(mutex_);
    pool_in_use_ = std::move(in_use);
    pool_size_ = size;
}

void Metrics::record_delivery(const std::string& outcome, std::chrono::nanoseconds since_commit) {
    const std::lock_guard lock(mutex_);
    ++deliveries_[outcome];
    if (outcome == "delivered") {
        const double seconds = std::chrono::duration<double>(since_commit).count();
        Histogram& h = delivery_latency_;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            if (seconds <= kBuckets[i]) {
                ++h.buckets[i];
            }
        }
        ++h.count;
        h.sum += seconds;
    }
}

std::uint64_t Metrics::deliveries(const std::string& outcome) const {
    const std::lock_guard lock(mutex_);
    const auto it = deliveries_.find(outcome);
    return it == deliveries_.end() ? 0 : it->second;
}

void Metrics::record_schedule_run(const std::string& kind, const std::string& state,
                                  std::chrono::nanoseconds duration) {
    const std::lock_guard lock(mutex_);
    ++schedule_runs_[{kind, state}];
    auto& d = schedule_durations_[kind];
    ++d.first;
    d.second += std::chrono::duration<double>(duration).count();
}

void Metrics::set_schedule_next_runs(std::map<std::string, double> next_run_epoch_seconds) {
    const std::lock_guard lock(mutex_);
    schedule_next_ = std::move(next_run_epoch_seconds);
}

std::string Metrics::render() const {
    const std::lock_guard lock(mutex_);
    std::string out;
    out.append("# HELP scim_bridge_http_requests_total HTTP requests by route, method and status.\n");
    out.append("# TYPE scim_bridge_http_requests_total counter\n");
    for (const auto& [key, count] : requests_) {
        const auto& [route, method, status] = key;
        out.append("scim_bridge_http_requests_total{route=\"" + label(route) + "\",method=\"" +
                   label(method) + "\",status=\"" + std::to_string(status) + "\"} " +
                   std::to_string(count) + "\n");
    }
    out.append("# HELP scim_bridge_http_request_duration_seconds Request latency by route.\n");
    out.append("# TYPE scim_bridge_http_request_duration_seconds histogram\n");
    for (const auto& [route, h] : latency_) {
        const std::string r = label(route);
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            out.append("scim_bridge_http_request_duration_seconds_bucket{route=\"" + r +
                       "\",le=\"" + number(kBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) +
                       "\n");
        }
        out.append("scim_bridge_http_request_duration_seconds_bucket{route=\"" + r +
                   "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n");
        out.append("scim_bridge_http_request_duration_seconds_sum{route=\"" + r + "\"} " +
                   number(h.sum) + "\n");
        out.append("scim_bridge_http_request_duration_seconds_count{route=\"" + r + "\"} " +
                   std::to_string(h.count) + "\n");
    }
    out.append("# HELP scim_bridge_dialect_rewrites_total Requests an IdP dialect rewrite was "
               "needed for, by tenant, source and rewrite.\n");
    out.append("# TYPE scim_bridge_dialect_rewrites_total counter\n");
    for (const auto& [key, count] : rewrites_) {
        out.append("scim_bridge_dialect_rewrites_total{tenant=\"" + label(std::get<1>(key)) +
                   "\",source=\"" + label(std::get<2>(key)) + "\",rewrite=\"" +
                   label(std::get<3>(key)) + "\"} " + std::to_string(count) + "\n");
    }
    out.append("# HELP scim_bridge_deliveries_total Delivery attempts by outcome.\n");
    out.append("# TYPE scim_bridge_deliveries_total counter\n");
    for (const auto& [outcome, count] : deliveries_) {
        out.append("scim_bridge_deliveries_total{outcome=\"" + label(outcome) + "\"} " +
                   std::to_string(count) + "\n");
    }
    out.append("# HELP scim_bridge_schedule_runs_total Finished scheduler runs by job kind and state.\n");
    out.append("# TYPE scim_bridge_schedule_runs_total counter\n");
    for (const auto& [key, count] : schedule_runs_) {
        out.append("scim_bridge_schedule_runs_total{kind=\"" + label(key.first) + "\",state=\"" +
                   label(key.second) + "\"} " + std::to_string(count) + "\n");
    }
    out.append("# HELP scim_bridge_schedule_run_duration_seconds Scheduler run durations by job kind.\n");
    out.append("# TYPE scim_bridge_schedule_run_duration_seconds summary\n");
    for (const auto& [kind, d] : schedule_durations_) {
        out.append("scim_bridge_schedule_run_duration_seconds_sum{kind=\"" + label(kind) + "\"} " +
                   number(d.second) + "\n");
        out.append("scim_bridge_schedule_run_duration_seconds_count{kind=\"" + label(kind) + "\"} " +
                   std::to_string(d.first) + "\n");
    }
    out.append("# HELP scim_bridge_schedule_next_run_timestamp_seconds Next run of each job (leader only).\n");
    out.append("# TYPE scim_bridge_schedule_next_run_timestamp_seconds gauge\n");
    for (const auto& [job, at] : schedule_next_) {
        out.append("scim_bridge_schedule_next_run_timestamp_seconds{job=\"" + label(job) + "\"} " +
                   number(at) + "\n");
    }
    out.append("# HELP scim_bridge_delivery_latency_seconds From a change's commit to the app's "
               "acknowledgement.\n");
    out.append("# TYPE scim_bridge_delivery_latency_seconds histogram\n");
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        out.append("scim_bridge_delivery_latency_seconds_bucket{le=\"" + number(kBuckets[i]) +
                   "\"} " + std::to_string(delivery_latency_.buckets[i]) + "\n");
    }
    out.append("scim_bridge_delivery_latency_seconds_bucket{le=\"+Inf\"} " +
               std::to_string(delivery_latency_.count) + "\n");
    out.append("scim_bridge_delivery_latency_seconds_sum " + number(delivery_latency_.sum) + "\n");
    out.append("scim_bridge_delivery_latency_seconds_count " +
               std::to_string(delivery_latency_.count) + "\n");
    out.append("# HELP scim_bridge_db_pool_in_use Database connections leased right now.\n");
    out.append("# TYPE scim_bridge_db_pool_in_use gauge\n");
    out.append("scim_bridge_db_pool_in_use " +
               std::to_string(pool_in_use_ ? pool_in_use_() : 0) + "\n");
    out.append("# HELP scim_bridge_db_pool_size Database connections in the pool.\n");
    out.append("# TYPE scim_bridge_db_pool_size gauge\n");
    out.append("scim_bridge_db_pool_size " + std::to_string(pool_size_) + "\n");
    return out;
}

}  // namespace scimbridge::server
