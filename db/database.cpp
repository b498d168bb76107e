#include "db/database.hpp"

#include "db/database_impl.hpp"
#include "db/migrations.hpp"

#include <regex>

namespace scimbridge::db {

namespace {
// libpq's own message ends with a newline and sometimes spans lines; keep the first line.
std::string first_line(const std::string& text) {
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}
}  // namespace

void Database::Impl::connect(soci::session& session) {
    try {
        session.open(*soci::factory_postgresql(), dsn_);
    } catch (const soci::soci_error& e) {
        throw DatabaseUnavailable("cannot connect to PostgreSQL at " + redact_dsn(dsn_) + ": " +
                                  first_line(e.what()));
    }
    const std::string timeout = std::to_string(options_.statement_timeout.count()) + "ms";
    session << "SELECT set_config('statement_timeout', :t, false)", soci::use(timeout);
    session << "SET application_name = 'scim-bridge'";
    session << "SET client_min_messages = warning";
}

bool Database::Impl::connected(soci::session& session) {
    if (session.get_backend() == nullptr) {
        return false;
    }
    PGconn* conn = native_connection(session);
    return conn != nullptr && PQstatus(conn) == CONNECTION_OK;
}

void Database::Impl::reconnect(soci::session& session) {
    session.close();
    connect(session);
}

void Database::Impl::open_all() {
    for (std::size_t i = 0; i < options_.size; ++i) {
        connect(pool_.at(i));
    }
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

std::unique_ptr<Database> Database::open(const std::string& dsn, const PoolOptions& options) {
    auto impl = std::make_unique<Impl>(dsn, options);
    impl->open_all();
    return std::unique_ptr<Database>(new Database(std::move(impl)));
}

std::size_t Database::pool_size() const { return impl_->size(); }
std::size_t Database::in_use() const { return impl_->in_use(); }

bool Database::ready() {
    try {
        return current_schema_version(*this) == latest_schema_version();
    } catch (const std::exception&) {
        return false;
    }
}

std::string redact_dsn(const std::string& dsn) {
    // URI form: postgresql://user:secret@host/db ; keyword form: password=secret
    static const std::regex kUriPassword(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
    static const std::regex kKeywordPassword(R"((^|\s)password\s*=\s*('([^'\\]|\\.)*'|\S+))");
    std::string out = std::regex_replace(dsn, kUriPassword, "$1:***@");
    static const std::regex kQueryPassword(R"(([?&])password=[^&]*)");
    out = std::regex_replace(out, kKeywordPassword, "$1password=***");
    out = std::regex_replace(out, kQueryPassword, "$1password=***");
    return out;
}

}  // namespace scimbridge::db
