#include "db/migrations.hpp"

#include "db/database_impl.hpp"

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace scimbridge::db {

namespace {

constexpr std::string_view kCreateMigrationsTable = R"(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
))";
constexpr std::string_view kSelectCurrentVersion =
    "SELECT coalesce(max(version), 0) FROM schema_migrations";
constexpr std::string_view kSelectChecksum =
    "SELECT checksum FROM schema_migrations WHERE version = :v";
constexpr std::string_view kInsertMigration =
    "INSERT INTO schema_migrations (version, name, checksum) VALUES (:v, :n, :c)";
// An arbitrary constant shared by every scim-bridge process: the migration lock.
constexpr long long kMigrationLockKey = 0x5c1b41d6e0001LL;

// FNV-1a 64: enough to notice that a migration file was edited after it was applied.
std::string checksum(std::string_view text) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
    return buf;
}

void exec_script(soci::session& session, std::string_view sql, const Migration& m) {
    // Multi-statement scripts go through libpq directly: SOCI prepares single statements.
    PGresult* res = PQexec(native_connection(session), std::string(sql).c_str());
    const ExecStatusType status = PQresultStatus(res);
    std::string message = PQresultErrorMessage(res);
    PQclear(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        if (const auto nl = message.find('\n'); nl != std::string::npos) {
            message.resize(nl);
        }
        throw std::runtime_error("migration " + std::to_string(m.version) + " (" +
                                 std::string(m.name) + ") failed: " + message);
    }
}

int query_version(soci::session& session) {
    int version = 0;
    session << kSelectCurrentVersion, soci::into(version);
    return version;
}

}  // namespace

int latest_schema_version() {
    const auto all = embedded_migrations();
    return all.empty() ? 0 : all.back().version;
}

int current_schema_version(Database& db) {
    return db.impl().with_session([](soci::session& session) {
        int exists = 0;
        session << "SELECT count(*) FROM pg_catalog.pg_tables "
                   "WHERE schemaname = current_schema() AND tablename = 'schema_migrations'",
            soci::into(exists);
        return exists == 0 ? 0 : query_version(session);
    });
}

MigrationReport migrate(Database& db) {
    return db.impl().with_session([](soci::session& session) {
        session << "SELECT pg_advisory_lock(:k)", soci::use(kMigrationLockKey);
        struct Unlock {
            soci::session& s;
            ~Unlock() {
                try {
                    s << "SELECT pg_advisory_unlock(:k)", soci::use(kMigrationLockKey);
                } catch (...) {  // the lock dies with the connection anyway
                }
            }
        } unlock{session};

        session << kCreateMigrationsTable;
        MigrationReport report;
        const int before = query_version(session);
        if (before > latest_schema_version()) {
            throw std::runtime_error(
                "the database schema is at version " + std::to_string(before) +
                ", newer than this binary (" + std::to_string(latest_schema_version()) +
                "); upgrade scim-bridge");
        }
        for (const Migration& m : embedded_migrations()) {
            const std::string sum = checksum(m.sql);
            std::string applied_sum;
            soci::indicator ind = soci::i_null;
            session << kSelectChecksum, soci::use(m.version), soci::into(applied_sum, ind);
            if (session.got_data() && ind == soci::i_ok) {
                if (applied_sum != sum) {
                    throw std::runtime_error("migration " + std::to_string(m.version) + " (" +
                                             std::string(m.name) +
                                             ") was changed after it was applied");
                }
                continue;
            }
            soci::transaction tr(session);
            exec_script(session, m.sql, m);
            const std::string name(m.name);
            session << kInsertMigration, soci::use(m.version), soci::use(name), soci::use(sum);
            tr.commit();
            report.applied.push_back(m.version);
        }
        report.version = query_version(session);
        return report;
    });
}

}  // namespace scimbridge::db
