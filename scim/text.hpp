#pragma once
// Text rules shared by every decoder: what PostgreSQL text (and our logs) can hold, and the two
// ways text is lower-cased.

#include <cstddef>
#include <string>
#include <string_view>

namespace scimbridge::scim {

// The code point at text[i]; length 0 when the bytes there are not well-formed UTF-8 (no
// overlong forms, no surrogates, nothing above U+10FFFF).
struct CodePoint {
    char32_t value = 0;
    std::size_t length = 0;
};
CodePoint decode_utf8(std::string_view text, std::size_t i);

// Appends the UTF-8 form of a code point.
void append_utf8(char32_t cp, std::string& out);

// Well-formed UTF-8 throughout.
bool is_valid_utf8(std::string_view text);

// Text a stored value or a filter literal may be: valid UTF-8 without U+0000.
inline bool is_storable_text(std::string_view text) {
    return text.find('\0') == std::string_view::npos && is_valid_utf8(text);
}

// Case folding for caseExact=false values, exactly as PostgreSQL lower() under lc_ctype C.UTF-8
// (towlower per code point): what the SQL compiler, the indexed columns and the in-memory
// evaluator must agree on. Bytes that are not UTF-8 are left as they are.
std::string fold_case(std::string_view text);

// The mirror of fold_case (towupper per code point under C.UTF-8): the mappers' ToUpper.
std::string upper_case(std::string_view text);

// A-Z → a-z only: for protocol words (operators, media types, header values, UUIDs).
std::string ascii_lower(std::string_view text);

}  // namespace scimbridge::scim
