#include "db/sql_text.hpp"

#include <doctest/doctest.h>

using scimbridge::db::scim_time_from_pg;

TEST_SUITE("db.scim_time") {
TEST_CASE("PostgreSQL's JSON timestamps become SCIM's UTC milliseconds") {
    CHECK(scim_time_from_pg("2026-08-11T18:51:03.921+00:00") == "2026-08-11T18:51:03.921Z");
    CHECK(scim_time_from_pg("2026-08-11T18:51:03+00:00") == "2026-08-11T18:51:03.000Z");
    CHECK(scim_time_from_pg("2026-08-11T18:51:03.1+00:00") == "2026-08-11T18:51:03.100Z");
    CHECK(scim_time_from_pg("2026-08-11T18:51:03.1005+00:00") == "2026-08-11T18:51:03.100Z");
    // Microseconds are truncated, as to_char's MS does, never rounded into the next second.
    CHECK(scim_time_from_pg("2026-12-31T23:59:59.999999+00:00") == "2026-12-31T23:59:59.999Z");
    CHECK(scim_time_from_pg("2026-08-11T18:51:03.5Z") == "2026-08-11T18:51:03.500Z");
}

TEST_CASE("a session time zone other than UTC is converted, across days, months and years") {
    CHECK(scim_time_from_pg("2026-08-12T00:21:03.921+05:30") == "2026-08-11T18:51:03.921Z");
    CHECK(scim_time_from_pg("2026-12-31T20:00:00-05:00") == "2027-01-01T01:00:00.000Z");
    CHECK(scim_time_from_pg("2024-03-01T00:30:00+01:00") == "2024-02-29T23:30:00.000Z");  // leap day
    CHECK(scim_time_from_pg("1960-08-11T18:06:33.921-00:44:30") == "1960-08-11T18:51:03.921Z");
}

TEST_CASE("text of another shape is returned as it is") {
    CHECK(scim_time_from_pg("") == "");
    CHECK(scim_time_from_pg("12026-08-11T18:51:03+00:00") == "12026-08-11T18:51:03+00:00");
    CHECK(scim_time_from_pg("0044-03-15T12:00:00+00:00 BC") == "0044-03-15T12:00:00+00:00 BC");
    CHECK(scim_time_from_pg("2026-02-30T00:00:00+00:00") == "2026-02-30T00:00:00+00:00");
    CHECK(scim_time_from_pg("2026-08-11T18:51:03.+00:00") == "2026-08-11T18:51:03.+00:00");
    CHECK(scim_time_from_pg("2026-08-11 18:51:03+0") == "2026-08-11 18:51:03+0");
    CHECK(scim_time_from_pg("2026-08-11 18:51:03.5 +00") == "2026-08-11 18:51:03.5 +00");
}

TEST_CASE("timestamptz text under DateStyle ISO reads like the JSON shape") {
    CHECK(scim_time_from_pg("2026-08-11 18:51:03+00") == "2026-08-11T18:51:03.000Z");
    CHECK(scim_time_from_pg("2026-08-11 18:51:03.921+00") == "2026-08-11T18:51:03.921Z");
    CHECK(scim_time_from_pg("2026-08-12 00:21:03.9215+05:30") == "2026-08-11T18:51:03.921Z");
    CHECK(scim_time_from_pg("2026-12-31 20:00:00-05") == "2027-01-01T01:00:00.000Z");
    CHECK(scim_time_from_pg("1960-08-11 18:06:33.921-00:44:30") == "1960-08-11T18:51:03.921Z");
}
}
