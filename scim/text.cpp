#include "scim/text.hpp"

#include <cwctype>
#include <locale.h>  // newlocale (POSIX)
#include <stdexcept>

namespace scimbridge::scim {

namespace {

}  // namespace

CodePoint decode_utf8(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) {
        return {c, 1};
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((c & 0xE0u) == 0xC0u) {
        len = 2;
        cp = c & 0x1Fu;
        min = 0x80;
    } else if ((c & 0xF0u) == 0xE0u) {
        len = 3;
        cp = c & 0x0Fu;
        min = 0x800;
    } else if ((c & 0xF8u) == 0xF0u) {
        len = 4;
        cp = c & 0x07u;
        min = 0x10000;
    } else {
        return {};
    }
    if (i + len > s.size()) {
        return {};
    }
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0u) != 0x80u) {
            return {};
        }
        cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return {};
    }
    return {cp, len};
}

void append_utf8(char32_t cp, std::string& out) {
    const auto put = [&](char32_t b) { out.push_back(static_cast<char>(static_cast<unsigned char>(b))); };
    if (cp < 0x80) {
        put(cp);
    } else if (cp < 0x800) {
        put(0xC0 | (cp >> 6));
        put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        put(0xE0 | (cp >> 12));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    } else {
        put(0xF0 | (cp >> 18));
        put(0x80 | ((cp >> 12) & 0x3F));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    }
}

namespace {

locale_t utf8_ctype() {
    static const locale_t locale = [] {
        const locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
        if (l == nullptr) {
            throw std::runtime_error("case folding needs the C.UTF-8 locale");
        }
        return l;  // kept for the life of the process
    }();
    return locale;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const CodePoint d = decode_utf8(text, i);
        if (d.length == 0) {
            return false;
        }
        i += d.length;
    }
    return true;
}

namespace {

// Each code point through `map` (towlower_l / towupper_l under C.UTF-8); bytes that are not
// UTF-8 are kept.
template <typename Map>
std::string map_code_points(std::string_view text, Map map) {
    const locale_t locale = utf8_ctype();
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const CodePoint d = decode_utf8(text, i);
        if (d.length == 0) {
            out.push_back(text[i]);
            ++i;
            continue;
        }
        append_utf8(static_cast<char32_t>(map(static_cast<wint_t>(d.value), locale)), out);
        i += d.length;
    }
    return out;
}

}  // namespace

std::string fold_case(std::string_view text) { return map_code_points(text, towlower_l); }

std::string upper_case(std::string_view text) { return map_code_points(text, towupper_l); }

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace scimbridge::scim
