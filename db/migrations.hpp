#pragma once
// Versioned SQL migrations, compiled into the binary from db/migrations/NNNN_name.sql so that a
// deployed binary always carries the schema it expects.

#include "db/database.hpp"

#include <span>
#include <string_view>
#include <vector>

namespace scimbridge::db {

struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

// In version order; generated at build time (see db/CMakeLists.txt).
std::span<const Migration> embedded_migrations();

int latest_schema_version();

// 0 when no migration was ever applied.
int current_schema_version(Database& db);

struct MigrationReport {
    std::vector<int> applied;  // versions applied by this call
    int version = 0;           // schema version afterwards
};

// Applies every pending migration, each in its own transaction, under an advisory lock so that
// concurrent processes never apply one twice. Refuses to run when an applied migration's text has
// changed since (checksum) or when the database is newer than this binary. Throws
// std::runtime_error with a one-line reason.
MigrationReport migrate(Database& db);

}  // namespace scimbridge::db
