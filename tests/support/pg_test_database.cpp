#include "tests/support/pg_test_database.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace scimbridge::tests {

namespace {

std::atomic<int> g_counter{0};

std::string run(const std::string& dsn, const std::string& sql) {
    PGconn* conn = PQconnectdb(dsn.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        const std::string message = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("test database connection failed: " + message);
    }
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
    PGresult* res = PQexec(conn, sql.c_str());
    const auto status = PQresultStatus(res);
    std::string out;
    if (status == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0) {
        out = PQgetvalue(res, 0, 0);
    }
    const std::string message = PQresultErrorMessage(res);
    PQclear(res);
    PQfinish(conn);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error("test SQL failed: " + message + " in: " + sql);
    }
    return out;
}

}  // namespace

std::string admin_dsn() {
    const char* dsn = std::getenv("SCIM_TEST_PG_DSN");  // NOLINT(concurrency-mt-unsafe)
    return dsn == nullptr ? "" : dsn;
}

void admin_exec(const std::string& sql) { run(admin_dsn(), sql); }

PgTestDatabase::PgTestDatabase() {
    name_ = "sbtest_" + std::to_string(::getpid()) + "_" + std::to_string(++g_counter);
    admin_exec("DROP DATABASE IF EXISTS " + name_);
    admin_exec("CREATE DATABASE " + name_);
    dsn_ = admin_dsn() + " dbname=" + name_;
}

PgTestDatabase::~PgTestDatabase() {
    try {
        admin_exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {  // a leftover test database is harmless; never throw from a destructor
    }
}

std::string PgTestDatabase::query(const std::string& sql) const { return run(dsn_, sql); }

}  // namespace scimbridge::tests
