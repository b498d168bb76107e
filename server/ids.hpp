#pragma once
// Production implementations of the core's Clock and IdGenerator ports.

#include "scim/resource_store.hpp"

#include <string>

namespace scimbridge::server {

class SystemClock final : public scim::Clock {
public:
    std::string now_rfc3339() const override;
};

// The system clock moved by an offset that a test writes to a file, so that a test can move the
// clock of a bridge process it started (days ahead for reminders, back ten minutes for a clock
// jump) while it runs. The file holds the offset in seconds ("259200", "-600", "0.5"); a missing,
// empty or unreadable file is no offset. Read on every call: for tests (config test_clock_file).
class OffsetFileClock final : public scim::Clock {
public:
    explicit OffsetFileClock(std::string path) : path_(std::move(path)) {}
    std::string now_rfc3339() const override;
    double offset_seconds() const;

private:
    std::string path_;
};

// Random (version 4) UUIDs from OpenSSL's generator.
class RandomIdGenerator final : public scim::IdGenerator {
public:
    std::string next_id() override;
};

}  // namespace scimbridge::server
