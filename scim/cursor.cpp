#include "scim/cursor.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace scimbridge::scim {

namespace json = boost::json;

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kMaxCursorLength = 4096;
}  // namespace

std::uint64_t query_fingerprint(std::string_view filter, std::string_view sort_by, bool descending) {
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a
    const auto mix = [&](std::string_view s) {
        for (const char c : s) {
            hash ^= static_cast<unsigned char>(c);
            hash *= 1099511628211ULL;
        }
        hash ^= 0xff;
        hash *= 1099511628211ULL;
    };
    mix(filter);
    mix(sort_by);
    mix(descending ? "d" : "a");
    return hash;
}

std::string base64url_encode(std::string_view bytes) {
    std::string out;
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
        out.push_back(kAlphabet[v & 63]);
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        const unsigned v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0u);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        if (rest == 2) {
            out.push_back(kAlphabet[(v >> 6) & 63]);
        }
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const auto pos = kAlphabet.find(c);
        if (pos == std::string_view::npos) {
            return std::nullopt;
        }
        buffer = (buffer << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    return out;
}

std::string encode_cursor(const Cursor& c) {
    json::object o{{"i", c.id}, {"t", c.issued}, {"q", std::to_string(c.query)}};
    if (c.key) {
        o["k"] = *c.key;
    }
    if (c.key_null) {
        o["n"] = true;
    }
    if (c.backward) {
        o["b"] = true;
    }
    return base64url_encode(json::serialize(o));
}

Result<Cursor> decode_cursor(std::string_view text, std::uint64_t query, std::int64_t now,
                             std::int64_t timeout_seconds) {
    const auto invalid = [] { return Error::invalid_cursor("the cursor is not valid for this query"); };
    if (text.size() > kMaxCursorLength) {
        return invalid();
    }
    const auto raw = base64url_decode(text);
    if (!raw) {
        return invalid();
    }
    boost::system::error_code ec;
    const json::value v = json::parse(*raw, ec);
    if (ec || !v.is_object()) {
        return invalid();
    }
    const json::object& o = v.as_object();
    const json::value* id = o.if_contains("i");
    const json::value* issued = o.if_contains("t");
    const json::value* q = o.if_contains("q");
    if (id == nullptr || !id->is_string() || issued == nullptr || !issued->is_int64() ||
        q == nullptr || !q->is_string() || std::string_view(q->as_string()) != std::to_string(query)) {
        return invalid();
    }
    Cursor c;
    c.id = std::string(id->as_string());
    c.issued = issued->as_int64();
    c.query = query;
    if (const json::value* k = o.if_contains("k"); k != nullptr) {
        if (!k->is_string()) {
            return invalid();
        }
        c.key = std::string(k->as_string());
    }
    c.key_null = o.if_contains("n") != nullptr;
    c.backward = o.if_contains("b") != nullptr;
    if (now - c.issued > timeout_seconds) {
        return Error::expired_cursor("the cursor has expired; start again without one");
    }
    return c;
}

}  // namespace scimbridge::scim
