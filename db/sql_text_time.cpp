#include "db/sql_text.hpp"

#include "scim/datetime.hpp"

#include <algorithm>
#include <array>

namespace scimbridge::db {

namespace {

// timestamptz's text output (DateStyle ISO) as the JSON shape: "2026-08-11 13:21:03.1+02" →
// "2026-08-11T13:21:03.1+02:00", written into `buffer`. Anything else is left as it is.
template <std::size_t N>
std::string_view as_json_shape(std::string_view text, std::array<char, N>& buffer) {
    if (text.size() < 20 || text[10] != ' ' || text.size() + 3 > N) {
        return text;
    }
    std::copy(text.begin(), text.end(), buffer.begin());
    std::size_t size = text.size();
    buffer[10] = 'T';
    std::size_t i = 19;
    if (buffer[i] == '.') {
        ++i;
        while (i < size && buffer[i] >= '0' && buffer[i] <= '9') {
            ++i;
        }
    }
    if (size - i == 3 && (buffer[i] == '+' || buffer[i] == '-')) {
        // A whole-hour offset is written without minutes.
        buffer[size++] = ':';
        buffer[size++] = '0';
        buffer[size++] = '0';
    }
    return {buffer.data(), size};
}

}  // namespace

std::string scim_time_from_pg(std::string_view pg_text) {
    std::array<char, 48> buffer{};
    const std::string_view text = as_json_shape(pg_text, buffer);
    const auto instant = scim::parse_datetime(text, /*offset_seconds=*/true);
    if (!instant) {
        return std::string(pg_text);
    }
    auto scim_text = scim::format_datetime_millis(*instant);
    return scim_text ? std::move(*scim_text) : std::string(pg_text);
}

}  // namespace scimbridge::db
