#pragma once
// A fresh PostgreSQL database per test, on the server named by SCIM_TEST_PG_DSN (an admin DSN,
// e.g. "host=/tmp/sbpg port=5432 user=postgres dbname=postgres", set by scripts/test.sh).
// Dropped when the object goes away.

#include <string>

namespace scimbridge::tests {

// SCIM_TEST_PG_DSN, or "" when unset.
std::string admin_dsn();

class PgTestDatabase {
public:
    PgTestDatabase();
    ~PgTestDatabase();
    PgTestDatabase(const PgTestDatabase&) = delete;
    PgTestDatabase& operator=(const PgTestDatabase&) = delete;

    const std::string& dsn() const { return dsn_; }
    const std::string& name() const { return name_; }

    // Runs SQL on this database through a separate libpq connection; returns the first column
    // of the first row ("" when no row). Throws on error.
    std::string query(const std::string& sql) const;

private:
    std::string name_;
    std::string dsn_;
};

// Runs SQL on the admin database; throws on error.
void admin_exec(const std::string& sql);

}  // namespace scimbridge::tests
