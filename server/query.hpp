#pragma once
// URL query strings: "filter=userName%20eq%20%22a%22&count=10" → decoded key/value pairs.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace scimbridge::server {

// Percent-decodes (and '+' → space). nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view text);

// Keys are matched case-insensitively later; the first occurrence of a key wins.
// nullopt on a malformed escape, or when a key or value is not UTF-8 or holds a NUL.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

}  // namespace scimbridge::server
