#include "db/database.hpp"

#include <doctest/doctest.h>

using scimbridge::db::redact_dsn;

TEST_SUITE("db.dsn") {
TEST_CASE("passwords never reach messages or logs") {
    CHECK(redact_dsn("postgresql://bridge:s3cr3t@db.example:5432/scim") ==
          "postgresql://bridge:***@db.example:5432/scim");
    CHECK(redact_dsn("host=db user=bridge password=s3cr3t dbname=scim") ==
          "host=db user=bridge password=*** dbname=scim");
    CHECK(redact_dsn("password='with space' host=db") == "password=*** host=db");
    CHECK(redact_dsn("postgresql://db/scim?sslmode=require&password=s3cr3t") ==
          "postgresql://db/scim?sslmode=require&password=***");
    CHECK(redact_dsn("host=/tmp/pg dbname=scim") == "host=/tmp/pg dbname=scim");
}
}
