#pragma once
// The delivery workers of one bridge process: a claimer thread leases due deliveries (woken by
// NOTIFY, polling as a fallback) up to the free worker capacity, and worker threads process them
// (mappers::DeliveryProcessor). At most `app_concurrency` deliveries per app are in flight, in
// this process (checked here) and across processes (checked by the claim), so one slow or
// hanging app holds at most that many workers and never starves the others.

#include "mappers/delivery.hpp"
#include "server/metrics.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace scimbridge::server {

struct DeliveryServiceOptions {
    std::size_t workers = 64;
    std::size_t app_concurrency = 32;
    std::chrono::milliseconds lease{60'000};
    std::chrono::milliseconds poll{1'000};
    std::chrono::milliseconds claim_gap{10};  // after a claim that got less than it asked for
};

class DeliveryService {
public:
    DeliveryService(mappers::OutboxStore& outbox, mappers::DeliveryProcessor& processor,
                    Metrics& metrics, DeliveryServiceOptions options);
    ~DeliveryService();  // stop()
    DeliveryService(const DeliveryService&) = delete;
    DeliveryService& operator=(const DeliveryService&) = delete;

    void start();
    // Finishes the deliveries in flight (each bounded by the outbound deadline), then joins.
    void stop();
    // Something was enqueued (NOTIFY): claim now instead of at the next poll.
    void wake();

private:
    void claim_loop();
    void work_loop();
    // While deliveries are in flight, the claimer waits until a quarter of the workers is free
    // (a claim costs about the same for one delivery as for eight); idle, one. Under mutex_.
    std::size_t claim_batch() const;

    mappers::OutboxStore& outbox_;
    mappers::DeliveryProcessor& processor_;
    Metrics& metrics_;
    DeliveryServiceOptions options_;

    std::mutex mutex_;
    std::condition_variable claim_cv_;
    std::condition_variable work_cv_;
    // A claimed batch: the first worker to take one of its deliveries reads ahead for all of
    // them (DeliveryProcessor::prefetch) while the claimer claims the next batch.
    struct Batch {
        std::vector<mappers::DeliveryJob> jobs;
        std::once_flag prefetched;
    };
    std::deque<std::pair<std::shared_ptr<Batch>, std::size_t>> queue_;
    std::unordered_map<std::string, std::size_t> in_flight_;  // by app id
    std::size_t busy_ = 0;  // queued + being processed
    bool woken_ = true;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace scimbridge::server
