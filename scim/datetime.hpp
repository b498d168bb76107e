#pragma once
// SCIM dateTime values (xsd:dateTime, RFC 7643 §2.3.5) as instants: one parser for the filter
// evaluator and for times read back from PostgreSQL, one writer for every meta time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scimbridge::scim {

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) → UTC microseconds since the epoch (the fraction
// truncated to microseconds); nullopt for anything else, an impossible date included.
// offset_seconds also accepts ±HH:MM:SS, which PostgreSQL writes for zones of local mean time.
std::optional<std::int64_t> parse_datetime(std::string_view text, bool offset_seconds = false);

// UTC microseconds → "YYYY-MM-DDTHH:MM:SS.mmmZ" (truncated to milliseconds), as SCIM writes meta
// times; nullopt outside the years 1 to 9999.
std::optional<std::string> format_datetime_millis(std::int64_t micros);

}  // namespace scimbridge::scim
