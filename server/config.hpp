#pragma once
// Configuration of the scim-bridge process: defaults < config file (JSON) < environment < flags.
// Everything is validated once, at start-up; a bad value is one clear line and a non-zero exit.

#include "server/address_policy.hpp"

#include <boost/system/result.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace scimbridge::server {

struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
    std::string to_string() const;
};

// The request workers, each with its own PostgreSQL connection. A request that only reads is CPU
// work for PostgreSQL: more of them at once than it has cores only take turns (on 2 cores, with
// PostgreSQL on the same machine, 2 read workers answered ~25 % more userName lookups/s than 4,
// and 4 30 % more than 8). So the read workers are as many as the CPUs, at least 2. A write also
// waits for its commit to reach the disk, and more of them at once share those flushes: twice
// the CPU count, from 4 to 32.
inline std::size_t default_read_workers() {
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, 32);
}
inline std::size_t default_write_workers() {
    return std::clamp<std::size_t>(2 * std::thread::hardware_concurrency(), 4, 32);
}
// One I/O thread per 4 CPUs, at least one: on 2 cores a second I/O thread cost lookups ~15 % (a
// second thread to wake and to take turns with).
inline std::size_t default_io_threads() {
    return std::max<std::size_t>(1, std::thread::hardware_concurrency() / 4);
}

struct Config {
    std::optional<ListenAddress> listen;       // TLS
    std::optional<ListenAddress> http_listen;  // plain HTTP, only when asked for
    std::string database_url;                  // empty: embedded cluster under data_dir
    std::string data_dir = ".scim-bridge";
    std::string pg_bindir;                     // embedded cluster: PostgreSQL binaries
    std::string pg_user = "postgres";          // embedded cluster owner when running as root
    std::string tls_cert;
    std::string tls_key;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds read_timeout{30'000};
    std::chrono::milliseconds write_timeout{30'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds shutdown_grace{25'000};
    std::size_t io_threads = default_io_threads();
    std::size_t read_workers = default_read_workers();    // see above; each has a connection
    std::size_t write_workers = default_write_workers();  // likewise
    std::chrono::milliseconds db_lease_timeout{5'000};
    std::chrono::milliseconds db_statement_timeout{30'000};
    std::string log_level = "info";
    // Base of the URLs responses name (meta.location, $ref), e.g. https://scim.example.com;
    // empty: taken from the request's Host header.
    std::string public_base_url;
    std::int64_t max_results = 1000;
    // How long a verified token is trusted without asking the database again. Revocations are
    // pushed to every server at once (LISTEN/NOTIFY); this bounds staleness if that link is down.
    std::chrono::milliseconds auth_cache_ttl{10'000};
    // Which PATCHes answer 204 without a body instead of 200 with the resource, as
    // "source:ResourceType" entries ("*" matches any). By default group PATCHes do: Entra expects
    // it, and a group's member list is the one thing a PATCH response should never have to read.
    // A request that names `attributes` or `excludedAttributes` always gets the resource.
    std::vector<std::string> patch_no_content{"*:Group"};
    std::size_t bulk_max_operations = 1000;  // RFC 7644 §3.7 maxOperations
    // Fan-out (delivery workers, outbound HTTP).
    std::size_t delivery_workers = 64;          // threads sending deliveries (0: no delivery here)
    std::size_t delivery_app_concurrency = 32;  // in-flight deliveries per app, all processes
    std::size_t delivery_db_pool_size = 8;      // connections of the delivery workers
    std::chrono::milliseconds delivery_lease{60'000};
    std::chrono::milliseconds delivery_poll{1'000};  // polling fallback when NOTIFY is missed
    std::chrono::milliseconds delivery_first_retry{5'000};
    std::size_t delivery_dead_after_hours = 72;
    double delivery_time_scale = 1.0;           // tests shrink retry delays and windows
    std::chrono::milliseconds outbound_deadline{15'000};
    std::vector<std::string> outbound_allow_cidrs;  // private/loopback targets allowed (SSRF)
    bool outbound_allow_http = false;               // plain http:// targets allowed
    // The reverse proxies whose X-Forwarded-For names the client (for the attempt limiter).
    std::vector<Cidr> trusted_proxies;
    // Invalid claim links and access codes a client may try (AttemptLimiter; 0: no limit), and
    // how often one more is allowed once they are used up.
    std::size_t claim_attempts = 30;
    std::chrono::milliseconds claim_attempt_refill{10'000};
    // Serve although PostgreSQL may lose acknowledged commits (fsync, synchronous_commit or
    // full_page_writes off): for disposable data (tests) only. Otherwise `serve` refuses to start.
    bool allow_unsafe_durability = false;
    std::string outbound_ca_file;                   // CA bundle for outbound TLS (default: system)
    // Lifecycle and schedules (DESIGN §5, §7).
    double time_scale = 1.0;                // tests shrink lifecycle windows and schedule periods
    std::string test_clock_file;            // tests move the lifecycle's clock by an offset in this file
    std::string secret_key_file;            // claim tokens and access codes; default <data_dir>/secret.key
    bool scheduler = true;                  // take part in the scheduler's leader election
    std::chrono::milliseconds scheduler_tick{1'000};
    std::chrono::milliseconds lifecycle_interval{60'000};  // reminders, expiry, purges
    std::size_t resync_period_minutes = 300;                // default period of directory pulls and reconciliation
    double job_duty = 0.5;                                  // share of its time a run works while requests are served
    std::size_t job_nice = 10;                              // niceness of scheduled runs' threads (0: none)
    std::size_t invitation_ttl_hours = 168;
    std::string smtp_url;                   // empty: invitations are not mailed
    std::string smtp_username;
    std::string smtp_password;              // prefer SCIM_BRIDGE_SMTP_PASSWORD; never logged
    std::string smtp_from;
    std::string smtp_from_name = "scim-bridge";
    std::string smtp_ca_file;
    std::chrono::milliseconds smtp_timeout{30'000};
    std::string mail_template_dir;          // overrides of the built-in invitation templates
};

// Whether a PATCH from `source` on `resource_type` answers 204 (entries: patch_no_content).
bool patch_answers_no_content(const std::vector<std::string>& entries, const std::string& source,
                              const std::string& resource_type);

using ConfigResult = boost::system::result<Config, std::string>;

// One configuration source each; keys are the config-file keys (e.g. "listen", "max_body_bytes").
using Settings = std::map<std::string, std::string>;

// Environment variables that configure the bridge: DATABASE_URL and SCIM_BRIDGE_<KEY>.
Settings settings_from_environment(char** envp);

// A JSON object of the config-file keys; values may be strings, numbers or booleans.
boost::system::result<Settings, std::string> settings_from_json(const std::string& text);

// Applies file, then environment, then flags over the defaults, validating each value.
ConfigResult build_config(const Settings& file, const Settings& env, const Settings& flags);

// What `serve` needs beyond a valid config: something to listen on, and a certificate for TLS.
std::optional<std::string> validate_for_serve(const Config& config);

// Every key a config file, SCIM_BRIDGE_<KEY> or --<key with dashes> may set.
const std::vector<std::string>& config_keys();

boost::system::result<ListenAddress, std::string> parse_listen_address(const std::string& text);

}  // namespace scimbridge::server
