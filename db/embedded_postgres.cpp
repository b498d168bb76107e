#include "db/embedded_postgres.hpp"

#include "db/process.hpp"

#include <libpq-fe.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace scimbridge::db {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kDatabaseName = "scim_bridge";
constexpr std::string_view kSuperuser = "scim_bridge";
// sockaddr_un.sun_path is 108 bytes; the socket file is "<dir>/.s.PGSQL.5432".
constexpr std::size_t kMaxSocketDirLength = 107 - std::string_view("/.s.PGSQL.5432").size();

std::string find_bin_dir(const std::string& configured, const fs::path& cluster_dir) {
    if (!configured.empty()) {
        if (!fs::exists(fs::path(configured) / "initdb")) {
            throw std::runtime_error("no initdb in SCIM_BRIDGE_PG_BINDIR=" + configured);
        }
        return configured;
    }
    // An existing cluster needs the major version that created it.
    std::string existing;
    std::ifstream(cluster_dir / "PG_VERSION") >> existing;
    if (!existing.empty()) {
        const fs::path dir = fs::path("/usr/lib/postgresql") / existing / "bin";
        if (!fs::exists(dir / "pg_ctl")) {
            throw std::runtime_error("the cluster in " + cluster_dir.string() +
                                     " needs PostgreSQL " + existing + " server binaries");
        }
        return dir.string();
    }
    constexpr std::array kVersions = {"15", "16", "17", "18", "14", "13"};
    for (const char* v : kVersions) {
        const fs::path dir = fs::path("/usr/lib/postgresql") / v / "bin";
        if (fs::exists(dir / "initdb") && fs::exists(dir / "pg_ctl")) {
            return dir.string();
        }
    }
    throw std::runtime_error(
        "PostgreSQL server binaries not found (install postgresql-15, set "
        "SCIM_BRIDGE_PG_BINDIR, or configure DATABASE_URL)");
}

std::string last_line(const std::string& text) {
    std::string trimmed = text;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) {
        trimmed.pop_back();
    }
    const auto nl = trimmed.rfind('\n');
    return nl == std::string::npos ? trimmed : trimmed.substr(nl + 1);
}

// A libpq keyword value, quoted: host='/path with spaces'.
std::string quote_conninfo(const std::string& value) {
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

void make_dir(const fs::path& dir, mode_t mode) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw std::runtime_error("cannot create data directory " + dir.string() + ": " +
                                 ec.message());
    }
    ::chmod(dir.c_str(), mode);
}

}  // namespace

std::vector<std::string> EmbeddedPostgres::as_owner(std::vector<std::string> argv) const {
    if (run_as_.empty()) {
        return argv;
    }
    std::vector<std::string> wrapped = {"runuser", "-u", run_as_, "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
}

std::string EmbeddedPostgres::tool(const std::string& name) const {
    return (fs::path(bin_dir_) / name).string();
}

std::unique_ptr<EmbeddedPostgres> EmbeddedPostgres::start(const EmbeddedOptions& options) {
    std::unique_ptr<EmbeddedPostgres> pg(new EmbeddedPostgres());
    const fs::path data_dir = fs::absolute(options.data_dir).lexically_normal();
    pg->cluster_dir_ = data_dir / "pg";
    pg->bin_dir_ = find_bin_dir(options.bin_dir, pg->cluster_dir_);
    const std::string cluster = pg->cluster_dir_.string();
    if (cluster.size() > kMaxSocketDirLength) {
        throw std::runtime_error("data directory path is too long for a Unix socket (" +
                                 std::to_string(cluster.size()) + " > " +
                                 std::to_string(kMaxSocketDirLength) +
                                 " characters); choose a shorter --data-dir");
    }

    if (::geteuid() == 0) {
        // PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
        pg->run_as_ = options.run_as;
        const passwd* owner = ::getpwnam(pg->run_as_.c_str());
        if (owner == nullptr) {
            throw std::runtime_error("running as root, but there is no '" + pg->run_as_ +
                                     "' user to own the embedded PostgreSQL cluster");
        }
        make_dir(data_dir, 0755);
        make_dir(pg->cluster_dir_, 0700);
        if (::chown(cluster.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
            throw std::runtime_error("cannot give " + cluster + " to user " + pg->run_as_ + ": " +
                                     std::strerror(errno));
        }
        const ProcessResult probe =
            run_process(pg->as_owner({"test", "-w", cluster, "-a", "-x", cluster}));
        if (probe.exit_code != 0) {
            throw std::runtime_error("user " + pg->run_as_ + " cannot reach " + cluster +
                                     " (a parent directory is not searchable); choose a "
                                     "--data-dir outside private home directories");
        }
    } else {
        make_dir(pg->cluster_dir_, 0700);
    }

    pg->lock_path_ = data_dir / "serve.lock";
    if (options.exclusive) {
        const fs::path& lock_path = pg->lock_path_;
        pg->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (pg->lock_fd_ < 0) {
            throw std::runtime_error("cannot open " + lock_path.string() + ": " +
                                     std::strerror(errno));
        }
        if (::flock(pg->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
            throw std::runtime_error("another scim-bridge serve is using data directory " +
                                     data_dir.string());
        }
    }

    if (!fs::exists(pg->cluster_dir_ / "PG_VERSION")) {
        const ProcessResult init = run_process(pg->as_owner(
            {pg->tool("initdb"), "-D", cluster, "-U", std::string(kSuperuser), "-E", "UTF8",
             "--locale=C", "--lc-ctype=C.UTF-8", "--auth-local=trust", "--auth-host=reject"}));
        if (init.exit_code != 0) {
            throw std::runtime_error("initdb failed: " + last_line(init.output));
        }
        // Unix socket only, inside the cluster directory, reachable by its owner (and root).
        std::ofstream conf(pg->cluster_dir_ / "postgresql.conf", std::ios::app);
        conf << "\n# scim-bridge embedded cluster\n"
             << "listen_addresses = ''\n"
             << "unix_socket_directories = '" << cluster << "'\n"
             << "unix_socket_permissions = 0700\n";
        if (!conf) {
            throw std::runtime_error("cannot write " + cluster + "/postgresql.conf");
        }
        pg->initialised_now_ = true;
    }
    // Settings added after a cluster may have been made: appended once to clusters without them
    // (read at the next start of the server).
    {
        const fs::path conf_path = pg->cluster_dir_ / "postgresql.conf";
        std::ifstream in(conf_path);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find("\nmax_wal_size = 4GB") == std::string::npos) {
            std::ofstream conf(conf_path, std::ios::app);
            // An IdP's initial sync with fan-out writes ~9 MB of WAL a second on 2 cores: with
            // the default 1 GB a checkpoint began every 1-2 minutes, each followed by full-page
            // images that doubled the WAL every commit waits for. 4 GB leaves them to
            // checkpoint_timeout (5 min); between bursts PostgreSQL recycles the segments.
            conf << "max_wal_size = 4GB\n";
            if (!conf) {
                throw std::runtime_error("cannot write " + cluster + "/postgresql.conf");
            }
        }
    }

    const ProcessResult status =
        run_process(pg->as_owner({pg->tool("pg_ctl"), "status", "-D", cluster}));
    if (status.exit_code == 0 && options.exclusive) {
        pg->started_here_ = true;  // adopted: no other server holds the lock
    } else if (status.exit_code != 0) {
        const ProcessResult started = run_process(pg->as_owner(
            {pg->tool("pg_ctl"), "start", "-D", cluster, "-w", "-t", "60", "-s", "-l",
             (pg->cluster_dir_ / "postgres.log").string()}));
        if (started.exit_code != 0) {
            // Another process may have started it in the meantime.
            const ProcessResult again =
                run_process(pg->as_owner({pg->tool("pg_ctl"), "status", "-D", cluster}));
            if (again.exit_code != 0) {
                throw std::runtime_error("embedded PostgreSQL did not start: " +
                                         last_line(started.output) + " (see " + cluster +
                                         "/postgres.log)");
            }
        } else {
            pg->started_here_ = true;
        }
    }

    const std::string admin_dsn =
        "host=" + quote_conninfo(cluster) + " dbname=postgres user=" + std::string(kSuperuser);
    PGconn* conn = PQconnectdb(admin_dsn.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        const std::string message = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("cannot connect to the embedded PostgreSQL: " + last_line(message));
    }
    PGresult* exists = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = 'scim_bridge'");
    const bool have_db = PQresultStatus(exists) == PGRES_TUPLES_OK && PQntuples(exists) == 1;
    PQclear(exists);
    if (!have_db) {
        PGresult* created = PQexec(conn, "CREATE DATABASE scim_bridge");
        const bool ok = PQresultStatus(created) == PGRES_COMMAND_OK;
        const std::string message = PQresultErrorMessage(created);
        PQclear(created);
        // 42P04 duplicate_database: a concurrent first start created it first.
        if (!ok && message.find("already exists") == std::string::npos) {
            PQfinish(conn);
            throw std::runtime_error("cannot create database: " + last_line(message));
        }
    }
    PQfinish(conn);

    pg->dsn_ = "host=" + quote_conninfo(cluster) + " dbname=" + std::string(kDatabaseName) +
               " user=" + std::string(kSuperuser);
    return pg;
}

void EmbeddedPostgres::stop() {
    if (!started_here_) {
        return;
    }
    started_here_ = false;
    if (lock_fd_ < 0) {
        // A command that started the cluster leaves it to a server that came up meanwhile.
        const int fd = ::open(lock_path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            const bool server_running = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
            ::close(fd);
            if (server_running) {
                return;
            }
        }
    }
    run_process(as_owner({tool("pg_ctl"), "stop", "-D", cluster_dir_.string(), "-m", "fast", "-w",
                          "-t", "60", "-s"}));
}

EmbeddedPostgres::~EmbeddedPostgres() {
    stop();
    if (lock_fd_ >= 0) {
        ::close(lock_fd_);
    }
}

}  // namespace scimbridge::db
