#include "scim/cursor.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace scimbridge::scim;  // NOLINT(google-build-using-namespace): test brevity

TEST_SUITE("scim.cursor") {
TEST_CASE("RFC 9865 a cursor round-trips and stays URL-safe") {
    Cursor c;
    c.key = "Zoë \"quoted\" / +";
    c.id = "6b0a8d3c-1111-4222-8333-944444444444";
    c.backward = true;
    c.issued = 1000;
    c.query = query_fingerprint("userName sw \"a\"", "title", false);
    const std::string text = encode_cursor(c);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    auto back = decode_cursor(text, c.query, 1500, 3600);
    REQUIRE(back.has_value());
    CHECK(back->key == c.key);
    CHECK(back->id == c.id);
    CHECK(back->backward);
    CHECK_FALSE(back->key_null);
}

TEST_CASE("RFC 9865 invalidCursor for foreign or mangled cursors, expiredCursor for old ones") {
    Cursor c;
    c.id = "x";
    c.issued = 1000;
    c.query = query_fingerprint("", "", false);
    const std::string text = encode_cursor(c);
    CHECK(decode_cursor(text, query_fingerprint("a eq 1", "", false), 1000, 3600).error().scim_type ==
          ScimType::kInvalidCursor);
    CHECK(decode_cursor(text, c.query, 1000 + 3601, 3600).error().scim_type == ScimType::kExpiredCursor);
    CHECK(decode_cursor("not*base64", c.query, 1000, 3600).error().scim_type == ScimType::kInvalidCursor);
    CHECK(decode_cursor(base64url_encode("[1,2]"), c.query, 1000, 3600).error().scim_type ==
          ScimType::kInvalidCursor);
    CHECK(to_string(ScimType::kInvalidCursor) == "invalidCursor");
    CHECK(to_string(ScimType::kExpiredCursor) == "expiredCursor");
}

TEST_CASE("fingerprints separate filter, sort key and order") {
    CHECK(query_fingerprint("a", "b", false) != query_fingerprint("a", "b", true));
    CHECK(query_fingerprint("a", "b", false) != query_fingerprint("ab", "", false));
    CHECK(query_fingerprint("a", "b", false) == query_fingerprint("a", "b", false));
}

TEST_CASE("base64url round-trips any bytes") {
    for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\0\xff\x10", 3)}) {
        CHECK(base64url_decode(base64url_encode(s)) == s);
    }
    CHECK_FALSE(base64url_decode("a").has_value());
}
}
