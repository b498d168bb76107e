#!/usr/bin/env bash
# Command 2: set everything up and run every test.
#   - installs missing packages and builds (dev preset: debug, warnings as errors)
#   - starts a throwaway PostgreSQL 15 (Unix socket only, in a temp dir) unless
#     SCIM_TEST_PG_DSN names a server to use
#   - runs unit, integration and end-to-end tests with CTest (fails when any fails or none ran)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${SCIM_TEST_PRESET:-dev}"
bash scripts/setup.sh "$preset"

if [[ -z "${SCIM_TEST_PG_DSN:-}" ]]; then
    # shellcheck source=scripts/test-postgres.sh
    source scripts/test-postgres.sh
    start_test_postgres
    trap stop_test_postgres EXIT
fi
export SCIM_TEST_PG_DSN

ctest --preset "$preset" -j "${SCIM_TEST_JOBS:-2}"
