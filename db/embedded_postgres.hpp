#pragma once
// The embedded default database: a private PostgreSQL cluster under a data directory, used when no
// DATABASE_URL is configured. It listens only on a Unix socket inside the cluster directory (no TCP
// port, socket mode 0700), is initialised on first use, reused afterwards, and stopped by the
// process that started it.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace scimbridge::db {

struct EmbeddedOptions {
    std::filesystem::path data_dir;    // the cluster lives in data_dir/pg
    std::string run_as = "postgres";   // OS user for the cluster when we are root (initdb refuses root)
    std::string bin_dir;               // PostgreSQL server binaries; empty: search the usual places
    // serve: hold data_dir/serve.lock for the life of the object (one server per data directory)
    // and own the cluster even if it was already running (left behind by a crash), so it stops
    // when the server does.
    bool exclusive = false;
};

class EmbeddedPostgres {
public:
    // Initialises (first run) and starts the cluster unless it is already running. Throws
    // std::runtime_error with a one-line reason.
    static std::unique_ptr<EmbeddedPostgres> start(const EmbeddedOptions& options);
    ~EmbeddedPostgres();  // stops the cluster if this object started it
    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

    const std::string& dsn() const { return dsn_; }
    bool initialised_now() const { return initialised_now_; }
    bool started_here() const { return started_here_; }
    // Stops the cluster if this object started it; idempotent.
    void stop();

private:
    EmbeddedPostgres() = default;
    std::vector<std::string> as_owner(std::vector<std::string> argv) const;
    std::string tool(const std::string& name) const;

    std::filesystem::path cluster_dir_;
    std::string bin_dir_;
    std::string run_as_;  // empty when not root
    std::string dsn_;
    std::filesystem::path lock_path_;
    int lock_fd_ = -1;  // held by serve only
    bool initialised_now_ = false;
    bool started_here_ = false;
};

}  // namespace scimbridge::db
