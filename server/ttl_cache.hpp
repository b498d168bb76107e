#pragma once
// A small thread-safe cache of values loaded from the database, trusted for a TTL and dropped
// by invalidations (pushed by NOTIFY). A load that raced with an invalidation is not stored:
// callers take a generation before loading and hand it back with the value.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace scimbridge::server {

template <class Value>
class TtlCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit TtlCache(std::size_t max_entries) : max_entries_(max_entries) {}

    struct Lookup {
        std::optional<Value> hit;    // an unexpired entry
        std::uint64_t generation = 0;  // hand back to store() after a load
    };

    Lookup find(const std::string& key, Clock::time_point now) const {
        const std::lock_guard lock(mutex_);
        const auto it = entries_.find(key);
        if (it != entries_.end() && it->second.expires > now) {
            return {it->second.value, generation_};
        }
        return {std::nullopt, generation_};
    }

    // Keeps `value` until `expires`, unless an invalidation came after `generation` was taken.
    void store(const std::string& key, Value value, Clock::time_point expires,
               std::uint64_t generation) {
        const std::lock_guard lock(mutex_);
        if (generation != generation_) {
            return;
        }
        if (entries_.size() >= max_entries_) {
            entries_.clear();
        }
        entries_[key] = Entry{std::move(value), expires};
    }

    void invalidate(const std::string& key) {
        const std::lock_guard lock(mutex_);
        entries_.erase(key);
        ++generation_;
    }

    void invalidate_all() {
        const std::lock_guard lock(mutex_);
        entries_.clear();
        ++generation_;
    }

private:
    struct Entry {
        Value value;
        Clock::time_point expires;
    };
    std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::uint64_t generation_ = 0;
};

}  // namespace scimbridge::server
