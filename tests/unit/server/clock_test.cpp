#include "server/ids.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

using scimbridge::server::OffsetFileClock;
using scimbridge::server::SystemClock;

namespace {

// Seconds between two "YYYY-MM-DDTHH:MM:SS.mmmZ" times of the same year.
double seconds_between(const std::string& from, const std::string& to) {
    const auto secs = [](const std::string& t) {
        std::tm tm{};
        int ms = 0;
        std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return static_cast<double>(timegm(&tm)) + ms / 1000.0;
    };
    return secs(to) - secs(from);
}

struct OffsetFile {
    std::string path = "/tmp/scim-bridge-clock-test." + std::to_string(::getpid());
    ~OffsetFile() { std::remove(path.c_str()); }
    void write(const std::string& text) const { std::ofstream(path, std::ios::trunc) << text; }
};

}  // namespace

TEST_CASE("offset file clock: the system time moved by the seconds the file holds, read on every call") {
    OffsetFile f;
    const OffsetFileClock clock(f.path);
    SUBCASE("no file, an empty one or one that holds no number: no offset") {
        CHECK(clock.offset_seconds() == 0);
        f.write("");
        CHECK(clock.offset_seconds() == 0);
        f.write("three days\n");
        CHECK(clock.offset_seconds() == 0);
        f.write("nan\n");
        CHECK(clock.offset_seconds() == 0);
        f.write("1e300\n");  // beyond any time that formats
        CHECK(clock.offset_seconds() == 0);
    }
    SUBCASE("days ahead, then back: each call reads the file again") {
        f.write("259200\n");
        const double ahead = seconds_between(SystemClock().now_rfc3339(), clock.now_rfc3339());
        CHECK(ahead == doctest::Approx(259200).epsilon(1e-5));
        f.write("-600.5");
        CHECK(clock.offset_seconds() == -600.5);
        const double behind = seconds_between(SystemClock().now_rfc3339(), clock.now_rfc3339());
        CHECK(behind == doctest::Approx(-600.5).epsilon(1e-3));
    }
}
