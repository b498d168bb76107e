// End-to-end tests need a real PostgreSQL for the DATABASE_URL cases (SCIM_TEST_PG_DSN) and the
// PostgreSQL server binaries for the embedded cases. Skipped (77) without them, failed under CI.
#define DOCTEST_CONFIG_IMPLEMENT
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c)
    if (scimbridge::tests::admin_dsn().empty()) {
        std::cerr << "SCIM_TEST_PG_DSN is not set; run scripts/test.sh to start a test server\n";
        return std::getenv("CI") != nullptr ? 1 : 77;  // NOLINT(concurrency-mt-unsafe)
    }
    doctest::Context ctx;
    ctx.applyCommandLine(argc, argv);
    return ctx.run();
}
