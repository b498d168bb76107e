#pragma once
// Text rules shared by every decoder: what PostgreSQL text (and our logs) can hold.

#include <string_view>

namespace scimbridge::scim {

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Text a stored value or a filter literal may be: valid UTF-8 without U+0000.
inline bool is_storable_text(std::string_view text) {
    return text.find('\0') == std::string_view::npos && is_valid_utf8(text);
}

}  // namespace scimbridge::scim
