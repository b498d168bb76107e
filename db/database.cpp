#include "db/database.hpp"

#include "db/database_impl.hpp"
#include "db/migrations.hpp"
#include "scim/resource_store.hpp"

#include <algorithm>
#include <cctype>
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
    session << "SET DateStyle = 'ISO, MDY'";  // the timestamptz text scim_time_from_pg reads
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
    // The old connection's prepared statements died with it (and a new PGconn may reuse the old
    // address, so the slot cannot tell by itself).
    for (std::size_t i = 0; i < options_.size; ++i) {
        if (&pool_.at(i) == &session) {
            slots_[i].statements.clear();
            slots_[i].conn = nullptr;
            slots_[i].clock_value.clear();
        }
    }
}

void Database::Impl::set_clock(soci::session& session, PreparedSlot& slot) {
    std::string now = options_.clock->now_rfc3339();
    if (now == slot.clock_value) {
        return;
    }
    PGconn* conn = native_connection(session);
    const char* values[] = {now.c_str()};
    PGresult* res = PQexecParams(conn, "SELECT set_config('scim_bridge.now', $1, false)", 1, nullptr, values,
                                 nullptr, nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    const std::string error = ok ? "" : first_line(PQerrorMessage(conn));
    PQclear(res);
    if (!ok) {
        throw DatabaseUnavailable("cannot set the injected clock on a connection: " + error);
    }
    slot.clock_value = std::move(now);
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

std::vector<std::string> Database::durability_hazards() {
    return impl_->with_session([](soci::session& s) {
        // pg_settings shows this session's values (a database or role may override the server's).
        const soci::rowset<std::string> off =
            (s.prepare << "SELECT name FROM pg_settings WHERE setting = 'off' "
                          "AND name IN ('fsync', 'full_page_writes', 'synchronous_commit') ORDER BY name");
        std::vector<std::string> hazards;
        for (const std::string& name : off) {
            hazards.push_back(name + " = off");
        }
        return hazards;
    });
}

std::pair<std::string, std::vector<std::string>> to_positional(const std::string& sql) {
    std::string out;
    std::vector<std::string> names;
    out.reserve(sql.size());
    const auto is_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    const auto is_part = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t i = 0; i < sql.size();) {
        const char c = sql[i];
        if (c == '\'' || c == '"') {
            const std::size_t end = sql.find(c, i + 1);
            const std::size_t stop = end == std::string::npos ? sql.size() : end + 1;
            out.append(sql, i, stop - i);
            i = stop;
        } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
            out.append("::");
            i += 2;
        } else if (c == ':' && i + 1 < sql.size() && is_start(sql[i + 1])) {
            std::size_t j = i + 1;
            while (j < sql.size() && is_part(sql[j])) {
                ++j;
            }
            const std::string name = sql.substr(i + 1, j - i - 1);
            auto it = std::find(names.begin(), names.end(), name);
            if (it == names.end()) {
                names.push_back(name);
                it = names.end() - 1;
            }
            out.append("$").append(std::to_string(it - names.begin() + 1));
            i = j;
        } else {
            out.push_back(c);
            ++i;
        }
    }
    return {std::move(out), std::move(names)};
}

namespace {

[[noreturn]] void throw_result_error(PGconn* conn, PGresult* res, const char* what) {
    const std::string message = PQresultErrorMessage(res);
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state != nullptr ? state : "";
    PQclear(res);
    if (PQstatus(conn) != CONNECTION_OK) {
        throw DatabaseUnavailable("database connection lost: " + first_line(message));
    }
    throw DatabaseError(std::string(what) + first_line(message), sqlstate);
}

}  // namespace

namespace {

// Runs `sql` with `params` and returns the result, checked: an error throws (see query_row).
PGresult* execute(Connection& c, const std::string& sql, const Params& params, bool planned) {
    PGconn* conn = native_connection(c.session);
    const auto bind = [&](const std::vector<std::string>& names) {
        std::vector<const char*> values;
        values.reserve(names.size());
        for (const std::string& name : names) {
            const auto p = params.find(name);
            values.push_back(p == params.end() || !p->second ? nullptr : p->second->c_str());
        }
        return values;
    };
    PreparedSlot& slot = c.prepared;
    if (slot.conn != conn) {  // a new connection: its statements are gone
        slot.conn = conn;
        slot.statements.clear();
    }
    PGresult* res = nullptr;
    auto it = planned ? slot.statements.end() : slot.statements.find(sql);
    if (planned || (it == slot.statements.end() && slot.statements.size() >= PreparedSlot::kMaxStatements)) {
        auto [text, names] = to_positional(sql);
        const auto values = bind(names);
        res = PQexecParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0);
    } else {
        if (it == slot.statements.end()) {
            auto [text, names] = to_positional(sql);
            PreparedSlot::Statement st{"sb" + std::to_string(++slot.next_name), std::move(names)};
            PGresult* prepared = PQprepare(conn, st.name.c_str(), text.c_str(), 0, nullptr);
            if (PQresultStatus(prepared) != PGRES_COMMAND_OK) {
                throw_result_error(conn, prepared, "prepare failed: ");
            }
            PQclear(prepared);
            it = slot.statements.emplace(sql, std::move(st)).first;
        }
        const auto values = bind(it->second.params);
        res = PQexecPrepared(conn, it->second.name.c_str(), static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0);
    }
    const ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != nullptr && std::string_view(state) == "26000" && it != slot.statements.end()) {
            slot.statements.erase(it);  // the statement vanished (e.g. DISCARD ALL): forget it
        }
        throw_result_error(conn, res, "");
    }
    return res;
}

std::optional<Row> first_row(PGresult* res) {
    std::optional<Row> row;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
        row.emplace();
        for (int i = 0; i < PQnfields(res); ++i) {
            if (PQgetisnull(res, 0, i)) {
                row->emplace_back(std::nullopt);
            } else {
                row->emplace_back(std::string(PQgetvalue(res, 0, i),
                                              static_cast<std::size_t>(PQgetlength(res, 0, i))));
            }
        }
    }
    PQclear(res);
    return row;
}

}  // namespace

std::optional<Row> query_row_planned(Connection& c, const std::string& sql, const Params& params) {
    return first_row(execute(c, sql, params, true));
}

std::optional<Row> query_row(Connection& c, const std::string& sql, const Params& params) {
    return first_row(execute(c, sql, params, false));
}

Rows query_rows(Connection& c, const std::string& sql, const Params& params) {
    return Rows(execute(c, sql, params, false));
}

Rows query_rows_planned(Connection& c, const std::string& sql, const Params& params) {
    return Rows(execute(c, sql, params, true));
}

Rows::~Rows() {
    if (res_ != nullptr) {
        PQclear(res_);
    }
}

int Rows::size() const { return PQresultStatus(res_) == PGRES_TUPLES_OK ? PQntuples(res_) : 0; }

bool Rows::is_null(int row, int col) const { return PQgetisnull(res_, row, col) != 0; }

std::string_view Rows::text(int row, int col) const {
    return {PQgetvalue(res_, row, col), static_cast<std::size_t>(PQgetlength(res_, row, col))};
}

std::optional<std::string_view> Rows::optional_text(int row, int col) const {
    return is_null(row, col) ? std::nullopt : std::optional<std::string_view>(text(row, col));
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
