#include "scim/datetime.hpp"

#include <chrono>
#include <string>

namespace scimbridge::scim {

namespace {

std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<std::int64_t> parse_datetime(std::string_view s, bool offset_seconds) {
    const auto number = [&](std::size_t at, std::size_t n) -> std::optional<std::int64_t> {
        if (at + n > s.size()) {
            return std::nullopt;
        }
        std::int64_t v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (s[i] < '0' || s[i] > '9') {
                return std::nullopt;
            }
            v = v * 10 + (s[i] - '0');
        }
        return v;
    };
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':') {
        return std::nullopt;
    }
    const auto year = number(0, 4);
    const auto month = number(5, 2);
    const auto day = number(8, 2);
    const auto hour = number(11, 2);
    const auto minute = number(14, 2);
    const auto second = number(17, 2);
    if (!year || !month || !day || !hour || !minute || !second) {
        return std::nullopt;
    }
    const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
    static constexpr std::int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*year < 1 || *month < 1 || *month > 12 || *day < 1 || *hour > 23 || *minute > 59 ||
        *second > 59) {
        return std::nullopt;
    }
    const std::int64_t month_days =
        kDays[static_cast<std::size_t>(*month - 1)] + (*month == 2 && leap ? 1 : 0);
    if (*day > month_days) {
        return std::nullopt;
    }
    std::size_t i = 19;
    std::int64_t micros = 0;
    if (s[i] == '.') {
        ++i;
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 6) {
                micros = micros * 10 + (s[i] - '0');
            }
            ++i;
        }
        if (i == start) {
            return std::nullopt;
        }
        for (std::size_t k = i - start; k < 6; ++k) {
            micros *= 10;
        }
    }
    std::int64_t offset_seconds_east = 0;
    const bool with_seconds = offset_seconds && i + 9 == s.size() && s[i + 6] == ':';
    if (i + 1 == s.size() && s[i] == 'Z') {
        offset_seconds_east = 0;
    } else if ((i + 6 == s.size() || with_seconds) && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        const auto oh = number(i + 1, 2);
        const auto om = number(i + 4, 2);
        const auto os = with_seconds ? number(i + 7, 2) : std::optional<std::int64_t>(0);
        // xsd:dateTime offsets run from -14:00 to +14:00.
        if (!oh || !om || !os || *om > 59 || *os > 59 || *oh * 3600 + *om * 60 + *os > 14 * 3600) {
            return std::nullopt;
        }
        offset_seconds_east = (s[i] == '-' ? -1 : 1) * (*oh * 3600 + *om * 60 + *os);
    } else {
        return std::nullopt;
    }
    const std::int64_t seconds = days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 +
                                 *minute * 60 + *second - offset_seconds_east;
    return seconds * 1'000'000 + micros;
}

std::optional<std::string> format_datetime_millis(std::int64_t micros) {
    using namespace std::chrono;
    const sys_time<microseconds> t{microseconds{micros}};
    const sys_days day = floor<days>(t);
    const year_month_day date{day};
    const int y = static_cast<int>(date.year());
    if (y < 1 || y > 9999) {
        return std::nullopt;
    }
    const hh_mm_ss<milliseconds> tod{floor<milliseconds>(t - day)};
    // "YYYY-MM-DDTHH:MM:SS.mmmZ", digit by digit (snprintf was a tenth of a 1,000-user page).
    std::string out = "0000-00-00T00:00:00.000Z";
    const auto put = [&out](std::size_t at, std::size_t width, long long v) {
        for (std::size_t i = at + width; i > at; --i) {
            out[i - 1] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, static_cast<unsigned>(date.month()));
    put(8, 2, static_cast<unsigned>(date.day()));
    put(11, 2, tod.hours().count());
    put(14, 2, tod.minutes().count());
    put(17, 2, tod.seconds().count());
    put(20, 3, tod.subseconds().count());
    return out;
}

}  // namespace scimbridge::scim
