#include "scim/datetime.hpp"
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

// Seconds between two RFC 3339 times.
double seconds_between(const std::string& from, const std::string& to) {
    const auto micros = [](const std::string& t) {
        const auto parsed = scimbridge::scim::parse_datetime(t);
        REQUIRE(parsed.has_value());
        return static_cast<double>(*parsed);
    };
    return (micros(to) - micros(from)) / 1e6;
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
