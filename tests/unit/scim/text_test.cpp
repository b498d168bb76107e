#include "scim/text.hpp"

#include <doctest/doctest.h>

#include <string>

using scimbridge::scim::is_storable_text;
using scimbridge::scim::is_valid_utf8;

TEST_SUITE("scim.text") {
TEST_CASE("RFC 3629 well-formed UTF-8 is accepted") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("Zoë Ångström"));                // 2-byte sequences
    CHECK(is_valid_utf8("\xe2\x82\xac"));                 // U+20AC
    CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));             // U+1F600
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));             // U+10FFFF
}

TEST_CASE("RFC 3629 malformed UTF-8 is refused") {
    const char* bad[] = {
        "\xff",              // never valid
        "\xc3",              // truncated
        "\xc0\xaf",          // overlong '/'
        "\xe0\x80\xaf",      // overlong
        "\xed\xa0\x80",      // surrogate U+D800
        "\xf4\x90\x80\x80",  // above U+10FFFF
        "\x80",              // lone continuation byte
        "a\xe2\x82",         // truncated at the end
    };
    for (const char* b : bad) {
        CAPTURE(std::string(b).size());
        CHECK_FALSE(is_valid_utf8(b));
    }
}

TEST_CASE("storable text also excludes NUL") {
    CHECK(is_storable_text("ok"));
    CHECK_FALSE(is_storable_text(std::string("a\0b", 3)));
    CHECK_FALSE(is_storable_text("\xff"));
}
}
