#include "db/sql_text.hpp"

#include "db/pg_resource_store.hpp"

#include <doctest/doctest.h>

using scimbridge::db::to_positional;

TEST_SUITE("db.sql_text") {
TEST_CASE(":name parameters become $n, repeated names reuse their number") {
    const auto [sql, names] =
        to_positional("SELECT 1 FROM t WHERE a = :t AND b = CAST(:id AS uuid) AND c = :t");
    CHECK(sql == "SELECT 1 FROM t WHERE a = $1 AND b = CAST($2 AS uuid) AND c = $1");
    REQUIRE(names.size() == 2);
    CHECK(names[0] == "t");
    CHECK(names[1] == "id");
}

TEST_CASE("casts, string literals and quoted identifiers are left alone") {
    const auto [sql, names] = to_positional(
        "SELECT '[]'::jsonb, to_char(x, 'HH24:MI:SS'), \"odd:name\" FROM t WHERE y = :p1");
    CHECK(sql == "SELECT '[]'::jsonb, to_char(x, 'HH24:MI:SS'), \"odd:name\" FROM t WHERE y = $1");
    REQUIRE(names.size() == 1);
    CHECK(names[0] == "p1");
}

TEST_CASE("array literals for binding lists escape quotes and backslashes") {
    CHECK(scimbridge::db::pg_array_literal({}) == "{}");
    CHECK(scimbridge::db::pg_array_literal({"a", "b c"}) == R"({"a","b c"})");
    CHECK(scimbridge::db::pg_array_literal({R"(x"y\z)"}) == R"({"x\"y\\z"})");
}

TEST_CASE("UUIDs are recognised before any query is sent") {
    CHECK(scimbridge::db::is_uuid("6b0a8d3c-1111-4222-8333-944444444444"));
    CHECK(scimbridge::db::is_uuid("6B0A8D3C-1111-4222-8333-944444444444"));
    CHECK_FALSE(scimbridge::db::is_uuid("6b0a8d3c11114222833394444444444400000"));
    CHECK_FALSE(scimbridge::db::is_uuid("not-a-uuid"));
    CHECK_FALSE(scimbridge::db::is_uuid("6b0a8d3c-1111-4222-8333-94444444444g"));
}
}
