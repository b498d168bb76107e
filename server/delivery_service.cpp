#include "server/delivery_service.hpp"

#include "server/log.hpp"
#include "server/thread_name.hpp"

#include <algorithm>
#include <exception>
#include <tuple>

namespace scimbridge::server {

DeliveryService::DeliveryService(mappers::OutboxStore& outbox, mappers::DeliveryProcessor& processor,
                                 Metrics& metrics, DeliveryServiceOptions options)
    : outbox_(outbox), processor_(processor), metrics_(metrics), options_(options) {}

DeliveryService::~DeliveryService() { stop(); }

void DeliveryService::start() {
    if (options_.workers == 0 || !threads_.empty()) {
        return;
    }
    threads_.emplace_back([this] {
        name_this_thread("sb-claim");
        claim_loop();
    });
    for (std::size_t i = 0; i < options_.workers; ++i) {
        threads_.emplace_back([this] {
            name_this_thread("sb-deliver");
            work_loop();
        });
    }
}

void DeliveryService::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    claim_cv_.notify_all();
    work_cv_.notify_all();
    for (std::thread& t : threads_) {
        t.join();
    }
    threads_.clear();
}

void DeliveryService::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    claim_cv_.notify_one();
}

std::size_t DeliveryService::claim_batch() const {
    return busy_ == 0 ? 1 : std::max<std::size_t>(1, options_.workers / 4);
}

void DeliveryService::claim_loop() {
    bool more = true;  // the last claim filled the capacity it was offered: there may be more
    // Expired leases (a worker of some process crashed or stalled) are looked for every tenth of
    // a lease, at most every 5 s: not in every claim, which runs hundreds of times a second.
    const auto sweep_every = std::clamp<std::chrono::milliseconds>(
        options_.lease / 10, std::chrono::milliseconds(100), std::chrono::milliseconds(5'000));
    auto next_sweep = std::chrono::steady_clock::now();
    while (true) {
        if (std::chrono::steady_clock::now() >= next_sweep) {
            next_sweep = std::chrono::steady_clock::now() + sweep_every;
            try {
                if (outbox_.release_expired_leases() > 0) {
                    more = true;
                }
            } catch (const std::exception& e) {
                log::warn("releasing expired delivery leases failed", {{"error", e.what()}});
            }
        }
        std::size_t free = 0;
        std::vector<std::string> saturated;
        {
            std::unique_lock lock(mutex_);
            // While deliveries are in flight, claim once a quarter of the workers is free
            // rather than for every worker that finishes: a claim costs about the same for one
            // delivery as for eight, and under a backlog it ran once per three deliveries.
            claim_cv_.wait_for(lock, options_.poll, [&] {
                return stopping_ || ((woken_ || more) && options_.workers - busy_ >= claim_batch());
            });
            if (stopping_) {
                return;
            }
            if (busy_ >= options_.workers) {
                continue;
            }
            woken_ = false;
            free = options_.workers - busy_;
            for (const auto& [app, n] : in_flight_) {
                if (n >= options_.app_concurrency) {
                    saturated.push_back(app);
                }
            }
        }
        std::vector<mappers::DeliveryJob> jobs;
        try {
            jobs = outbox_.claim(free, options_.lease, options_.app_concurrency, saturated);
        } catch (const std::exception& e) {
            log::warn("claiming deliveries failed", {{"error", e.what()}});
            more = false;
            continue;
        }
        // A full claim: there may be more as soon as capacity frees (a worker finishing wakes
        // this loop). Less than asked: what is due is claimed (or waits on its resource or app,
        // and a finishing worker wakes this loop); the next claim waits for a NOTIFY or the poll,
        // and at least claim_gap, so that under a light ingest the changes committed meanwhile
        // share a claim instead of each costing one (a claim costs about as much for one
        // delivery as for twenty).
        more = jobs.size() >= free;
        if (!jobs.empty()) {
            auto batch = std::make_shared<Batch>();
            batch->jobs = std::move(jobs);
            {
                std::lock_guard lock(mutex_);
                for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                    ++in_flight_[batch->jobs[i].app_id];
                    ++busy_;
                    queue_.emplace_back(batch, i);
                }
            }
            // One worker per delivery: waking every idle worker for a small batch costs a
            // context switch each.
            for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                work_cv_.notify_one();
            }
        }
        if (!more) {
            std::unique_lock lock(mutex_);
            claim_cv_.wait_for(lock, options_.claim_gap, [&] { return stopping_; });
        }
    }
}

void DeliveryService::work_loop() {
    while (true) {
        std::shared_ptr<Batch> batch;
        std::size_t index = 0;
        {
            std::unique_lock lock(mutex_);
            work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;  // stopping, and nothing left that was leased to this process
            }
            std::tie(batch, index) = std::move(queue_.front());
            queue_.pop_front();
        }
        std::call_once(batch->prefetched, [&] {
            try {
                processor_.prefetch(batch->jobs);
            } catch (const std::exception& e) {
                // Each worker then reads what its delivery needs itself.
                log::warn("reading ahead for claimed deliveries failed", {{"error", e.what()}});
            } catch (...) {
                log::warn("reading ahead for claimed deliveries failed", {});
            }
        });
        const mappers::DeliveryJob& job = batch->jobs[index];
        const auto started = std::chrono::steady_clock::now();
        mappers::DeliveryOutcome outcome = mappers::DeliveryOutcome::kFailed;
        try {
            outcome = processor_.process(job);
        } catch (const std::exception& e) {
            // The lease expires and the delivery is retried (by this or another process).
            log::warn("delivery failed", {{"delivery", job.id}, {"error", e.what()}});
        }
        const auto since_commit =
            std::chrono::duration<double>(job.age_seconds) + (std::chrono::steady_clock::now() - started);
        metrics_.record_delivery(std::string(mappers::to_string(outcome)),
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(since_commit));
        bool claimable = false;
        {
            std::lock_guard lock(mutex_);
            if (--in_flight_[job.app_id] == 0) {
                in_flight_.erase(job.app_id);
            }
            --busy_;
            // The finished delivery may have unblocked the next one of its resource or app.
            woken_ = true;
            // The claimer waits for a batch's worth of free workers: waking it for less only
            // costs a context switch.
            claimable = options_.workers - busy_ >= claim_batch();
        }
        if (claimable) {
            claim_cv_.notify_one();
        }
    }
}

}  // namespace scimbridge::server
