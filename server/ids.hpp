#pragma once
// Production implementations of the core's Clock and IdGenerator ports.

#include "scim/resource_store.hpp"

namespace scimbridge::server {

class SystemClock final : public scim::Clock {
public:
    std::string now_rfc3339() const override;
};

// Random (version 4) UUIDs from OpenSSL's generator.
class RandomIdGenerator final : public scim::IdGenerator {
public:
    std::string next_id() override;
};

}  // namespace scimbridge::server
