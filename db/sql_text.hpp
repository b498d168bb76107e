#pragma once
// Pure text helpers for SQL statements (no database needed; unit-tested).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scimbridge::db {

// The statement with SOCI-style :name parameters rewritten to libpq's $1..$n (names in order of
// first use; a repeated name reuses its number). Skips '...' literals, "..." identifiers and
// :: casts.
std::pair<std::string, std::vector<std::string>> to_positional(const std::string& sql);

// A timestamptz as PostgreSQL writes it, in JSON ("2026-08-11T18:51:03.1005+05:30") or as text
// under DateStyle ISO, which every pooled connection sets ("2026-08-11 18:51:03.1005+05:30", a
// whole-hour offset as "+02"): the session's time zone, trailing zeros of the fraction dropped,
// an offset of ±HH[:MM[:SS]]. Returned as SCIM writes meta times: UTC with milliseconds,
// "2026-08-11T13:21:03.100Z" (the fraction truncated, as to_char's MS does). Formatting here
// rather than with to_char in SQL saves PostgreSQL 2 ms on a page of 1,000 users. Through
// scim::parse_datetime and scim::format_datetime_millis; text of another shape (a year beyond
// 9999, BC) is returned as it is.
std::string scim_time_from_pg(std::string_view text);

}  // namespace scimbridge::db
