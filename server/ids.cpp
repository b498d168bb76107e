#include "server/ids.hpp"

#include "scim/datetime.hpp"
#include "server/credentials.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace scimbridge::server {

namespace {

std::string rfc3339_after(std::chrono::microseconds offset) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch() + offset)
                            .count();
    return scim::format_datetime_millis(micros).value_or("1970-01-01T00:00:00.000Z");
}

}  // namespace

std::string SystemClock::now_rfc3339() const { return rfc3339_after(std::chrono::microseconds(0)); }

double OffsetFileClock::offset_seconds() const {
    std::ifstream in(path_);
    std::string text;
    if (!in || !std::getline(in, text)) {
        return 0;
    }
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    // About ±300 years: beyond that the time no longer formats.
    if (end == text.c_str() || !std::isfinite(seconds) || std::abs(seconds) > 1e10) {
        return 0;
    }
    return seconds;
}

std::string OffsetFileClock::now_rfc3339() const {
    return rfc3339_after(std::chrono::microseconds(static_cast<std::int64_t>(offset_seconds() * 1e6)));
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
