#pragma once
// RFC 9865 cursors: an opaque, URL-safe token naming a position in one ordered query (keyset:
// the sort key and id of a row), its direction, when it was issued and which query it belongs to.

#include "scim/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scimbridge::scim {

struct Cursor {
    std::optional<std::string> key;  // sort key of the row as text; nullopt: no sortBy, or a null key
    bool key_null = false;           // the row's sort key was null (sorted last)
    std::string id;                  // the row's id (tiebreak)
    bool backward = false;           // previousCursor: rows before this one
    std::int64_t issued = 0;         // unix seconds
    std::uint64_t query = 0;         // shape of the query it belongs to (filter, sort)
};

// A stable fingerprint of what a cursor may continue: filter, sortBy and sortOrder.
std::uint64_t query_fingerprint(std::string_view filter, std::string_view sort_by,
                                bool descending);

std::string encode_cursor(const Cursor& cursor);

// 400 invalidCursor when the text is not one of ours or belongs to another query; 400
// expiredCursor when older than `timeout_seconds`.
Result<Cursor> decode_cursor(std::string_view text, std::uint64_t query, std::int64_t now,
                             std::int64_t timeout_seconds);

// base64url without padding (RFC 4648 §5), and its inverse (nullopt on bad input).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace scimbridge::scim
