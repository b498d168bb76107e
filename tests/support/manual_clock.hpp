#pragma once
// A clock that stands still until the test moves it: injected into a pool
// (db::PoolOptions::clock), it is the lifecycle's and the scheduler's time (scim_bridge_now()).

#include "scim/datetime.hpp"
#include "scim/resource_store.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace scimbridge::tests {

class ManualClock final : public scim::Clock {
public:
    // `micros`: microseconds since the Unix epoch.
    explicit ManualClock(std::int64_t micros) : micros_(micros) {}

    std::string now_rfc3339() const override {
        return scim::format_datetime_millis(micros_.load()).value_or("1970-01-01T00:00:00.000Z");
    }
    void advance(std::chrono::microseconds by) { micros_ += by.count(); }

private:
    std::atomic<std::int64_t> micros_;
};

}  // namespace scimbridge::tests
