#include "server/ids.hpp"

#include "server/credentials.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace scimbridge::server {

std::string SystemClock::now_rfc3339() const {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

std::string RandomIdGenerator::next_id() {
    std::string b = random_bytes(16);
    b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3f) | 0x80);  // RFC 4122 variant
    const std::string h = hex(b);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

}  // namespace scimbridge::server
