// Integration tests need a real PostgreSQL: SCIM_TEST_PG_DSN. Without it they are reported as
// skipped (exit 77) on a developer machine and fail under CI, never silently pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
    if (scimbridge::tests::admin_dsn().empty()) {
        std::cerr << "SCIM_TEST_PG_DSN is not set; run scripts/test.sh to start a test server\n";
        return std::getenv("CI") != nullptr ? 1 : 77;  // NOLINT(concurrency-mt-unsafe)
    }
    doctest::Context ctx;
    ctx.applyCommandLine(argc, argv);
    return ctx.run();
}
