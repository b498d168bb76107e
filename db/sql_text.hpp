#pragma once
// Pure text helpers for SQL statements (no database needed; unit-tested).

#include <string>
#include <utility>
#include <vector>

namespace scimbridge::db {

// The statement with SOCI-style :name parameters rewritten to libpq's $1..$n (names in order of
// first use; a repeated name reuses its number). Skips '...' literals, "..." identifiers and
// :: casts.
std::pair<std::string, std::vector<std::string>> to_positional(const std::string& sql);

}  // namespace scimbridge::db
