#include "db/sql_text.hpp"

#include <chrono>
#include <cstdio>

namespace scimbridge::db {

namespace {

// Reads exactly n digits at text[i], advancing i.
bool digits(std::string_view text, std::size_t& i, std::size_t n, int& out) {
    if (i + n > text.size()) {
        return false;
    }
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const char c = text[i + k];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    out = v;
    i += n;
    return true;
}

bool expect(std::string_view text, std::size_t& i, char c) {
    if (i < text.size() && text[i] == c) {
        ++i;
        return true;
    }
    return false;
}

}  // namespace

std::string scim_time_from_pg(std::string_view text) {
    using namespace std::chrono;
    std::size_t i = 0;
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    if (!digits(text, i, 4, y) || !expect(text, i, '-') || !digits(text, i, 2, mo) ||
        !expect(text, i, '-') || !digits(text, i, 2, d) || !expect(text, i, 'T') ||
        !digits(text, i, 2, h) || !expect(text, i, ':') || !digits(text, i, 2, mi) ||
        !expect(text, i, ':') || !digits(text, i, 2, s)) {
        return std::string(text);
    }
    int millis = 0;
    if (expect(text, i, '.')) {
        int scale = 100;
        std::size_t n = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            millis += (text[i] - '0') * scale;
            scale /= 10;
            ++i;
            ++n;
        }
        if (n == 0) {
            return std::string(text);
        }
    }
    int offset = 0;  // seconds east of UTC
    if (expect(text, i, 'Z')) {
        offset = 0;
    } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
        const int sign = text[i] == '-' ? -1 : 1;
        ++i;
        int oh = 0;
        int om = 0;
        int os = 0;
        if (!digits(text, i, 2, oh)) {
            return std::string(text);
        }
        if (expect(text, i, ':') && !digits(text, i, 2, om)) {
            return std::string(text);
        }
        if (expect(text, i, ':') && !digits(text, i, 2, os)) {
            return std::string(text);
        }
        offset = sign * (oh * 3600 + om * 60 + os);
    } else {
        return std::string(text);
    }
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (i != text.size() || !date.ok() || h > 23 || mi > 59 || s > 60) {
        return std::string(text);
    }
    if (offset != 0) {
        const sys_seconds utc = sys_days{date} + hours{h} + minutes{mi} + seconds{s} - seconds{offset};
        const sys_days day_of = floor<days>(utc);
        const year_month_day ymd{day_of};
        const hh_mm_ss<seconds> tod{utc - day_of};
        y = static_cast<int>(ymd.year());
        mo = static_cast<int>(static_cast<unsigned>(ymd.month()));
        d = static_cast<int>(static_cast<unsigned>(ymd.day()));
        h = static_cast<int>(tod.hours().count());
        mi = static_cast<int>(tod.minutes().count());
        s = static_cast<int>(tod.seconds().count());
        if (y < 0 || y > 9999) {
            return std::string(text);
        }
    }
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, millis);
    return out;
}

}  // namespace scimbridge::db
