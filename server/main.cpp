// The composition root: the only file that knows every concrete type.
#include "db/database.hpp"
#include "db/embedded_postgres.hpp"
#include "db/migrations.hpp"
#include "db/notification_listener.hpp"
#include "db/pg_app_store.hpp"
#include "db/pg_directory_store.hpp"
#include "db/pg_lifecycle_store.hpp"
#include "db/pg_outbox_store.hpp"
#include "db/pg_reconcile_store.hpp"
#include "db/pg_resource_store.hpp"
#include "db/pg_schedule_store.hpp"
#include "db/pg_schema_store.hpp"
#include "db/pg_tenancy_store.hpp"
#include "server/cli.hpp"
#include "server/credentials.hpp"
#include "server/delivery_service.hpp"
#include "server/directory_jobs.hpp"
#include "server/reconcile_jobs.hpp"
#include "server/dispatcher.hpp"
#include "server/handlers/health_handler.hpp"
#include "server/http_client.hpp"
#include "server/http_server.hpp"
#include "server/ids.hpp"
#include "server/lifecycle_jobs.hpp"
#include "server/log.hpp"
#include "server/mail_worker.hpp"
#include "server/routes.hpp"
#include "server/scheduler.hpp"
#include "server/smtp_mailer.hpp"
#include "server/tenant_registries.hpp"
#include "server/thread_name.hpp"
#include "server/tls.hpp"
#include "server/yaml_json.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <sstream>
#include <thread>
#include <tuple>

namespace sb = scimbridge;
namespace server = scimbridge::server;
namespace db = scimbridge::db;

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// A start-up or command failure: unwinds (so an embedded cluster this process started is
// stopped on the way out), then main prints one line and exits with `code`.
struct Failure {
    std::string message;
    int code;
};

[[noreturn]] void fail(const std::string& message, int code = kExitError) {
    throw Failure{message, code};
}

server::Config load_config(const server::Command& cmd, char** envp) {
    const server::Settings env = server::settings_from_environment(envp);
    std::string file_path = cmd.config_file;
    if (file_path.empty()) {
        if (const char* p = std::getenv("SCIM_BRIDGE_CONFIG")) {  // NOLINT(concurrency-mt-unsafe)
            file_path = p;
        }
    }
    server::Settings file;
    if (!file_path.empty()) {
        std::ifstream in(file_path);
        if (!in) {
            fail("cannot read config file " + file_path, kExitUsage);
        }
        std::stringstream text;
        text << in.rdbuf();
        auto parsed = server::settings_from_json(text.str());
        if (!parsed) {
            fail(file_path + ": " + parsed.error(), kExitUsage);
        }
        file = *parsed;
    }
    auto config = server::build_config(file, env, cmd.config_flags);
    if (!config) {
        fail(config.error(), kExitUsage);
    }
    return *config;
}

// The database every command uses: DATABASE_URL when given, else the embedded cluster.
// Members destroy in reverse order: the pool closes before the embedded cluster stops.
struct DatabaseHandle {
    std::unique_ptr<db::EmbeddedPostgres> embedded;
    std::unique_ptr<db::Database> database;
    std::string dsn;
};

db::PoolOptions pool_options(const server::Config& config, std::size_t size) {
    db::PoolOptions options{size, config.db_lease_timeout, config.db_statement_timeout, nullptr};
    if (!config.test_clock_file.empty()) {
        options.clock = std::make_shared<server::OffsetFileClock>(config.test_clock_file);
    }
    return options;
}

DatabaseHandle open_database(const server::Config& config, std::size_t pool_size,
                             bool serving = false) {
    DatabaseHandle handle;
    std::string dsn = config.database_url;
    try {
        if (dsn.empty()) {
            handle.embedded = db::EmbeddedPostgres::start(
                {config.data_dir, config.pg_user, config.pg_bindir, serving});
            dsn = handle.embedded->dsn();
            server::log::info("embedded PostgreSQL",
                              {{"data_dir", config.data_dir},
                               {"initialised_now", handle.embedded->initialised_now()},
                               {"started_here", handle.embedded->started_here()}});
        }
        handle.dsn = dsn;
        handle.database = db::Database::open(dsn, pool_options(config, pool_size));
        const db::MigrationReport report = db::migrate(*handle.database);
        if (!report.applied.empty()) {
            server::log::info("migrations applied",
                              {{"count", report.applied.size()}, {"version", report.version}});
        }
    } catch (const std::exception& e) {
        fail(e.what());
    }
    return handle;
}

// A further pool of `size` connections to the database `handle` opened (already migrated).
std::unique_ptr<db::Database> open_pool(const DatabaseHandle& handle, const server::Config& config,
                                        std::size_t size) {
    try {
        return db::Database::open(handle.dsn, pool_options(config, size));
    } catch (const std::exception& e) {
        fail(e.what());
    }
}

sb::scim::Tenant require_tenant(db::PgTenancyStore& store, const std::string& name) {
    auto tenant = store.find_tenant_by_name(name);
    if (!tenant) {
        fail("no tenant named '" + name + "' (see 'scim-bridge tenant list')");
    }
    return *tenant;
}

int run_migrate(const server::Config& config) {
    DatabaseHandle h = open_database(config, 1);
    std::cout << "schema at version " << db::current_schema_version(*h.database) << "\n";
    return 0;
}

int run_tenant(const server::Command& cmd, const server::Config& config) {
    DatabaseHandle h = open_database(config, 1);
    db::PgTenancyStore store(*h.database);
    if (cmd.action == "list") {
        for (const auto& t : store.list_tenants()) {
            std::cout << t.name << "\t" << t.id << "\t" << t.created_at << "\n";
        }
        return 0;
    }
    auto name = sb::scim::validate_tenant_name(cmd.args.at(0));
    if (!name) {
        fail(name.error().detail, kExitUsage);
    }
    auto created = store.create_tenant(*name);
    if (!created) {
        fail(created.error().detail);
    }
    std::cout << "created tenant " << created->name << " (" << created->id << ")\n";
    return 0;
}

int run_token(const server::Command& cmd, const server::Config& config) {
    DatabaseHandle h = open_database(config, 1);
    db::PgTenancyStore store(*h.database);
    server::Credentials credentials(store);
    if (cmd.action == "revoke") {
        auto revoked = store.revoke_token(cmd.args.at(0));
        if (!revoked) {
            fail(revoked.error().detail);
        }
        std::cout << "revoked token " << revoked->id << " of tenant " << revoked->tenant_name
                  << "\n";
        return 0;
    }
    const sb::scim::Tenant tenant = require_tenant(store, cmd.options.at("tenant"));
    if (cmd.action == "list") {
        for (const auto& t : store.list_tokens(tenant.id)) {
            std::cout << t.id << "\t" << sb::scim::to_string(t.kind) << "\t" << t.source
                      << (t.lenient ? " (lenient)" : "") << (t.strict ? " (strict)" : "") << "\t"
                      << (t.revoked_at ? "revoked " + *t.revoked_at : std::string("active"))
                      << "\t" << t.created_at << "\t" << t.name << "\n";
        }
        return 0;
    }
    const auto kind = sb::scim::parse_token_kind(cmd.options.at("kind"));
    if (!kind) {
        fail("--kind must be idp or admin", kExitUsage);
    }
    const auto option = [&](const char* key, const char* fallback) {
        const auto it = cmd.options.find(key);
        return it == cmd.options.end() ? std::string(fallback) : it->second;
    };
    std::optional<bool> lenient;
    if (const std::string l = option("lenient", ""); !l.empty()) {
        if (l != "true" && l != "false") {
            fail("--lenient must be true or false", kExitUsage);
        }
        lenient = l == "true";
    }
    const std::string strict = option("strict", "false");
    if (strict != "true" && strict != "false") {
        fail("--strict must be true or false", kExitUsage);
    }
    auto made = credentials.create(tenant, *kind, option("name", ""), option("source", "generic"),
                                   lenient, strict == "true");
    if (!made) {
        fail(made.error().detail);
    }
    std::cout << "created " << sb::scim::to_string(*kind) << " token " << made->record.id
              << " for tenant " << tenant.name << "; it is shown only once:\n"
              << made->token << "\n";
    return 0;
}

int run_schema(const server::Command& cmd, const server::Config& config) {
    DatabaseHandle h = open_database(config, 1);
    db::PgTenancyStore tenancy(*h.database);
    db::PgSchemaStore schemas(*h.database);
    const sb::scim::Tenant tenant = require_tenant(tenancy, cmd.options.at("tenant"));
    if (cmd.action == "list") {
        for (const auto& s : schemas.list_schemas(tenant.id)) {
            std::cout << s.definition.at("id").as_string() << "\t" << s.resource_type << "\n";
        }
        return 0;
    }
    const std::string& path = cmd.args.at(0);
    std::ifstream in(path);
    if (!in) {
        fail("cannot read " + path, kExitUsage);
    }
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(text.str(), ec);
    if (ec || !doc.is_object()) {
        fail(path + " is not a JSON object (an RFC 7643 section 7 schema)", kExitUsage);
    }
    const auto type_it = cmd.options.find("resource_type");
    const std::string type = type_it == cmd.options.end() ? "User" : type_it->second;
    if (type != "User" && type != "Group") {
        fail("--resource-type must be User or Group", kExitUsage);
    }
    auto added = schemas.add_schema(tenant.id, {type, doc.as_object()});
    if (!added) {
        fail(added.error().detail);
    }
    std::cout << "added schema " << *added << " to " << type << " for tenant " << tenant.name
              << "\n";
    return 0;
}

// An `app import` file: YAML when its name ends in .yaml or .yml (server/yaml_json.hpp), else
// JSON. Both are held to the same limits, and both end as the same JSON value.
constexpr std::uintmax_t kMaxImportFileBytes = 16U << 20U;
constexpr std::size_t kMaxImportDepth = 32;  // boost::json's default, kept for JSON files

boost::json::value read_import_file(const std::string& path) {
    std::string extension = std::filesystem::path(path).extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool yaml = extension == ".yaml" || extension == ".yml";
    std::error_code size_ec;
    const std::uintmax_t size = std::filesystem::file_size(path, size_ec);
    if (!size_ec && size > kMaxImportFileBytes) {
        fail(path + " is larger than " + std::to_string(kMaxImportFileBytes >> 20U) + " MiB",
             kExitUsage);
    }
    std::ifstream in(path);
    if (!in) {
        fail("cannot read " + path, kExitUsage);
    }
    std::stringstream text;
    text << in.rdbuf();
    if (yaml) {
        auto doc = server::yaml_to_json(text.str(), kMaxImportDepth);
        if (!doc) {
            fail(path + ": " + doc.error(), kExitUsage);
        }
        return std::move(*doc);
    }
    boost::json::parse_options options;
    options.max_depth = kMaxImportDepth;
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(text.str(), ec, {}, options);
    if (ec) {
        fail(path + " is not valid JSON: " + ec.message(), kExitUsage);
    }
    return doc;
}

// `app import`: each app in the file is created, or updated when the tenant has one by that
// name (so a file kept in version control can be applied again); `app list`.
int run_app(const server::Command& cmd, const server::Config& config) {
    DatabaseHandle h = open_database(config, 1);
    db::PgTenancyStore tenancy(*h.database);
    db::PgSchemaStore schemas(*h.database);
    db::PgAppStore apps(*h.database);
    const sb::scim::Tenant tenant = require_tenant(tenancy, cmd.options.at("tenant"));
    auto registry = sb::scim::build_registry(schemas.list_schemas(tenant.id));
    if (!registry) {
        fail(registry.error().detail);
    }
    if (cmd.action == "list") {
        for (const auto& app : apps.list_apps(tenant.id)) {
            const auto& d = app.definition;
            // As text: streaming a json::string writes it as JSON, quoted and escaped.
            std::cout << app.id << "\t" << std::string_view(d.at("name").as_string()) << "\t"
                      << std::string_view(d.at("connector").as_string()) << "\t"
                      << (app.enabled ? "enabled" : "disabled") << "\tversion " << app.version << "\n";
        }
        return 0;
    }
    const std::string& path = cmd.args.at(0);
    const boost::json::value doc = read_import_file(path);
    boost::json::array list;
    if (doc.is_array()) {
        list = doc.as_array();
    } else if (doc.is_object() && doc.as_object().contains("apps") && doc.at("apps").is_array()) {
        list = doc.at("apps").as_array();
    } else if (doc.is_object()) {
        list.push_back(doc);
    } else {
        fail(path + ": expected an app object, an array of apps or {\"apps\": [...]}", kExitUsage);
    }
    // Everything is checked before anything is written.
    std::vector<std::pair<sb::mappers::AppDefinition, boost::json::object>> decoded;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_object()) {
            fail(path + ": app " + std::to_string(i + 1) + " is not an object", kExitUsage);
        }
        auto app = sb::mappers::decode_app(list[i].as_object(), *registry);
        if (!app) {
            fail(path + ": app " + std::to_string(i + 1) + ": " + app.error().detail, kExitUsage);
        }
        decoded.emplace_back(std::move(*app), list[i].as_object());
    }
    const auto existing = apps.list_apps(tenant.id);
    for (auto& [app, raw] : decoded) {
        const auto same = std::find_if(existing.begin(), existing.end(), [&](const auto& e) {
            return sb::scim::iequals(e.definition.at("name").as_string(), app.name);
        });
        if (same == existing.end()) {
            auto made = apps.create_app(tenant.id, app, "cli");
            if (!made) {
                fail(app.name + ": " + made.error().detail);
            }
            std::cout << "created app " << app.name << " (" << made->id << ")";
            const auto* wh = raw.if_contains("webhook");
            const bool secrets_given = wh != nullptr && wh->is_object() && wh->as_object().contains("secrets");
            if (app.connector == "webhook" && !secrets_given) {
                std::cout << "; signing secret (shown once): " << app.webhook.secrets.front();
            }
            std::cout << "\n";
            continue;
        }
        auto merged = sb::mappers::decode_app(sb::mappers::merge_app_json(same->definition, raw), *registry);
        if (!merged) {
            fail(app.name + ": " + merged.error().detail);
        }
        auto updated = apps.update_app(tenant.id, same->id, *merged, std::nullopt, "cli");
        if (!updated) {
            fail(app.name + ": " + updated.error().detail);
        }
        std::cout << "updated app " << app.name << " (" << updated->id << ", version "
                  << updated->version << ")\n";
    }
    return 0;
}

// The key claim tokens and access codes are derived from (mappers/claim_tokens.hpp): read from
// the key file, or created there (mode 0600) on first start. Every process sharing a database
// must use the same file.
sb::mappers::SecretKey load_secret_key(const server::Config& config) {
    const std::string path = config.secret_key_file.empty() ? config.data_dir + "/secret.key"
                                                            : config.secret_key_file;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        const std::string hex = sb::mappers::SecretKey::generate_hex();
        {
            std::ofstream out(path, std::ios::trunc);
            out << hex << "\n";
            if (!out) {
                fail("cannot write the secret key file " + path);
            }
        }
        std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                     std::filesystem::perm_options::replace, ec);
        server::log::info("created the secret key file (claim links and access codes)", {{"path", path}});
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto key = sb::mappers::SecretKey::from_hex(text.str(), error);
    if (!key) {
        fail("secret key file " + path + ": " + error);
    }
    return *key;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds d, double scale) {
    return std::chrono::milliseconds(std::max<std::int64_t>(10, static_cast<std::int64_t>(static_cast<double>(d.count()) * scale)));
}

int run_serve(const server::Config& config) {
    if (auto err = server::validate_for_serve(config)) {
        fail(*err, kExitUsage);
    }
    std::optional<boost::asio::ssl::context> tls;
    if (config.listen) {
        try {
            tls.emplace(server::make_tls_context(config.tls_cert, config.tls_key));
        } catch (const std::exception& e) {
            fail(e.what());
        }
    }
    DatabaseHandle h = open_database(config, config.read_workers + config.write_workers, true);
    db::Database& database = *h.database;
    // Every promise to an IdP and to the apps (a 201 means the change is stored and will be
    // delivered) rests on commits surviving a crash: refuse a server that may lose them
    // (reliability plan F6), unless told that the data is disposable.
    try {
        if (const auto hazards = database.durability_hazards(); !hazards.empty()) {
            std::string list;
            for (const std::string& hz : hazards) list += (list.empty() ? "" : ", ") + hz;
            if (!config.allow_unsafe_durability) {
                fail("PostgreSQL may lose acknowledged writes on a crash (" + list +
                     "): turn these settings on, or set allow_unsafe_durability=true for disposable data");
            }
            server::log::warn("PostgreSQL may lose acknowledged writes on a crash; serving anyway "
                              "(allow_unsafe_durability)", {{"settings", list}});
        }
    } catch (const std::exception& e) {
        fail(e.what());
    }
    if (!config.test_clock_file.empty()) {
        server::log::warn("the lifecycle's and the scheduler's clock is moved by the offset in a file "
                          "(test_clock_file): for tests only",
                          {{"file", config.test_clock_file},
                           {"offset_seconds", server::OffsetFileClock(config.test_clock_file).offset_seconds()}});
    }

    db::PgTenancyStore tenancy(database);
    server::Credentials credentials(tenancy, config.auth_cache_ttl);
    db::PgSchemaStore schema_store(database);
    server::TenantRegistries registries(schema_store, config.auth_cache_ttl);
    // Revoked tokens and changed schemas reach this server's caches at once.
    server::Metrics metrics;
    db::PgResourceStore resources(database, sb::scim::SchemaRegistry::core());

    // Fan-out: delivery workers with their own connections, so a burst of deliveries never
    // makes a SCIM request wait for a connection (and the reverse).
    const std::unique_ptr<db::Database> delivery_db = open_pool(h, config, config.delivery_db_pool_size);
    db::PgOutboxStore outbox(*delivery_db);
    db::PgResourceStore delivery_resources(*delivery_db, sb::scim::SchemaRegistry::core());
    db::PgAppStore app_store(database);
    server::HttpClient http_client({config.outbound_allow_cidrs, config.outbound_allow_http,
                                    config.outbound_ca_file});
    const std::string scim_base = config.public_base_url.empty() ? "" : config.public_base_url + "/scim/v2";
    // Account lifecycle (DESIGN §5): claim links, access codes, invitations.
    const sb::mappers::SecretKey secret_key = load_secret_key(config);
    db::PgLifecycleStore lifecycle_store(database);
    sb::mappers::LifecycleSettings lifecycle_settings;
    lifecycle_settings.time_scale = config.time_scale;
    lifecycle_settings.invitation_ttl = std::chrono::hours(config.invitation_ttl_hours);
    lifecycle_settings.email_enabled = !config.smtp_url.empty();
    lifecycle_settings.public_base_url =
        !config.public_base_url.empty() ? config.public_base_url
        : config.listen                 ? "https://" + config.listen->to_string()
        : config.http_listen            ? "http://" + config.http_listen->to_string()
                                        : "";
    sb::mappers::LifecycleService lifecycle(lifecycle_store, secret_key, lifecycle_settings);

    sb::mappers::DeliveryPolicy delivery_policy;
    delivery_policy.claim_url = [&lifecycle](const std::string& id) { return lifecycle.claim_url(id); };
    delivery_policy.first_retry = config.delivery_first_retry;
    delivery_policy.dead_after = std::chrono::hours(config.delivery_dead_after_hours);
    delivery_policy.time_scale = config.delivery_time_scale;
    delivery_policy.base_url = scim_base;
    delivery_policy.deadline = config.outbound_deadline;
    sb::mappers::DeliveryProcessor processor(
        outbox, delivery_resources, http_client,
        [&registries](const std::string& tenant_id) { return registries.get(tenant_id); },
        delivery_policy);
    processor.set_after_initiated([&lifecycle, &lifecycle_store](const sb::mappers::AccountRef& account) {
        if (auto invited = lifecycle.invite_entered(account); !invited) {
            lifecycle_store.record(account, "bridge", "invitation.refused",
                                   boost::json::object{{"detail", invited.error().detail}});
        }
    });
    server::DeliveryService deliveries(
        outbox, processor, metrics,
        {config.delivery_workers, config.delivery_app_concurrency, config.delivery_lease, config.delivery_poll});

    db::NotificationListener notifications(
        h.dsn, {db::kTokenRevokedChannel, db::kSchemaChangedChannel, db::kOutboxChannel},
        [&](const std::string& channel, const std::string& payload) {
            if (channel == db::kTokenRevokedChannel) {
                credentials.invalidate(payload);
            } else if (channel == db::kSchemaChangedChannel) {
                registries.invalidate(payload);
            } else if (channel == db::kOutboxChannel) {
                deliveries.wake();
            } else {  // reconnected: anything may have been missed
                credentials.invalidate_all();
                registries.invalidate_all();
                deliveries.wake();
            }
        });
    // A committed write may have enqueued deliveries: this process's workers look at once, and
    // the other processes hear of it through one NOTIFY for many writes (see 0019).
    resources.set_on_write([&deliveries, &notifications] {
        deliveries.wake();
        notifications.notify_soon(db::kOutboxChannel);
    });
    if (!notifications.wait_connected(std::chrono::seconds(5))) {
        server::log::warn("not listening for revocations yet; caches rely on their TTL meanwhile");
    }
    metrics.set_pool_gauges([&database] { return database.in_use(); }, database.pool_size());
    const server::HealthHandler health([&database] { return database.ready(); }, metrics);
    const server::SystemClock clock;
    server::RandomIdGenerator ids;
    sb::scim::ResourceService resource_service(resources, clock, ids,
                                               {std::min<std::int64_t>(100, config.max_results),
                                                config.max_results});
    const server::ScimHandler scim_handler(
        resource_service, registries,
        server::ScimOptions{config.public_base_url, config.patch_no_content,
                            config.bulk_max_operations, config.max_body_bytes},
        &metrics);
    const server::AdminHandler admin_handler(app_store, processor, registries);

    // Invitation mails (only with an SMTP relay configured).
    sb::mappers::MailTemplates templates;
    if (!config.mail_template_dir.empty()) {
        std::string why;
        auto loaded = sb::mappers::MailTemplates::load_directory(config.mail_template_dir, &why);
        if (!loaded) {
            fail("mail_template_dir: " + why);
        }
        templates = std::move(*loaded);
    }
    std::unique_ptr<server::SmtpMailer> mailer;
    std::unique_ptr<server::MailWorker> mail_worker;
    if (!config.smtp_url.empty()) {
        try {
            mailer = std::make_unique<server::SmtpMailer>(
                server::SmtpConfig{config.smtp_url, config.smtp_username, config.smtp_password, config.smtp_from,
                                   config.smtp_from_name, config.smtp_ca_file, config.smtp_timeout});
        } catch (const std::exception& e) {
            fail(std::string("smtp: ") + e.what());
        }
        server::MailWorker::Options mail_options;
        mail_options.from = config.smtp_from;
        mail_options.from_name = config.smtp_from_name;
        mail_options.time_scale = config.time_scale;
        mail_options.poll = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(1000), config.scheduler_tick);
        mail_worker = std::make_unique<server::MailWorker>(lifecycle_store, lifecycle, *mailer, templates, mail_options);
    }

    // The scheduler (DESIGN §7): one leader among the processes sharing the database.
    db::PgScheduleStore schedule_store(database, h.dsn);
    server::Scheduler scheduler(
        schedule_store,
        {config.scheduler_tick, scaled(config.lifecycle_interval, config.time_scale),
         scaled(std::chrono::minutes(config.resync_period_minutes), config.time_scale), 2,
         static_cast<int>(config.job_nice), config.job_duty},
        &metrics);
    scheduler.add_job(sb::mappers::kLifecycleJob, server::make_lifecycle_job(lifecycle));
    db::PgDirectoryStore directory_store(database);
    scheduler.add_job(sb::mappers::kDirectoryJob,
                      server::make_directory_job(directory_store, resource_service, http_client, registries));
    // Reconciliation reads through a pool of its own (one connection per run the scheduler may
    // start at once, and one spare): a resync never takes a connection an IdP's request or a
    // delivery is waiting for. Its backends keep their priority: renicing them (tried) made the
    // ingest wait behind them, as a niced backend holding a lock the ingest needs (the WAL, an
    // index page) is the last to run again.
    const std::unique_ptr<db::Database> job_db = open_pool(h, config, 3);
    db::PgReconcileStore reconcile_store(*job_db);
    db::PgResourceStore job_resources(*job_db, sb::scim::SchemaRegistry::core());
    scheduler.add_job(sb::mappers::kReconcileJob,
                      server::make_reconcile_job(reconcile_store, outbox, job_resources, http_client, registries,
                                                 server::ReconcileOptions{scim_base, config.outbound_deadline}));
    const server::LifecycleAdminHandler lifecycle_handler(lifecycle, schedule_store, directory_store,
                                                          [&scheduler] { scheduler.wake(); });
    server::AttemptLimiter claim_limiter(
        {config.claim_attempts, config.claim_attempt_refill, 100'000, config.trusted_proxies});
    const server::ClaimHandler claim_handler(lifecycle, claim_limiter);
    const server::Router router(
        server::make_routes({health, scim_handler, &admin_handler, &lifecycle_handler, &claim_handler}));
    server::Dispatcher dispatcher(router, credentials, metrics);

    boost::asio::io_context ioc(static_cast<int>(config.io_threads));
    // A connection per worker: a worker never waits for a connection another worker holds.
    boost::asio::thread_pool read_workers(config.read_workers);
    boost::asio::thread_pool write_workers(config.write_workers);
    for (auto [pool, size, name] : {std::tuple{&read_workers, config.read_workers, "sb-read"},
                                    std::tuple{&write_workers, config.write_workers, "sb-write"}}) {
        // One naming task per worker thread: each waits for the others, so every thread takes one.
        std::latch named(static_cast<std::ptrdiff_t>(size));
        for (std::size_t i = 0; i < size; ++i) {
            boost::asio::post(*pool, [&named, thread_name = name] {
                server::name_this_thread(thread_name);
                named.arrive_and_wait();
            });
        }
        named.wait();
    }
    server::HttpServer http_server(ioc, {read_workers, write_workers}, dispatcher, metrics,
                                  server::limits_from(config));
    try {
        if (config.listen) {
            http_server.listen(*config.listen, &*tls);
        }
        if (config.http_listen) {
            http_server.listen(*config.http_listen, nullptr);
        }
    } catch (const std::exception& e) {
        fail(e.what());
    }

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (!ec) {
            server::log::info("signal received", {{"signal", signo}});
            http_server.shutdown();
        }
    });
    deliveries.start();
    if (mail_worker) {
        mail_worker->start();
    }
    if (config.scheduler) {
        scheduler.start();
    }
    std::vector<std::thread> io_threads;
    for (std::size_t i = 1; i < config.io_threads; ++i) {
        io_threads.emplace_back([&ioc] {
            server::name_this_thread("sb-io");
            ioc.run();
        });
    }
    ioc.run();
    for (auto& t : io_threads) {
        t.join();
    }
    read_workers.join();
    write_workers.join();
    scheduler.stop();
    if (mail_worker) {
        mail_worker->stop();
    }
    deliveries.stop();
    server::log::info("stopped");
    return 0;
}

}  // namespace

int run(int argc, char** argv, char** envp);

int main(int argc, char** argv, char** envp) {
    try {
        return run(argc, argv, envp);
    } catch (const Failure& f) {
        std::cerr << "scim-bridge: error: " << f.message << "\n";
        return f.code;
    } catch (const std::exception& e) {
        std::cerr << "scim-bridge: error: " << e.what() << "\n";
        return kExitError;
    }
}

int run(int argc, char** argv, char** envp) {
    std::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c): a closed peer is an error_code, not a signal
    if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {  // NOLINT(concurrency-mt-unsafe)
        setenv("PGCONNECT_TIMEOUT", "10", 0);           // NOLINT(concurrency-mt-unsafe)
    }
    const std::vector<std::string> args(argv, argv + argc);
    auto cmd = server::parse_command_line(args);
    if (!cmd) {
        fail(cmd.error(), kExitUsage);
    }
    if (cmd->name == "help") {
        std::cout << server::usage();
        return 0;
    }
    if (cmd->name == "version") {
        std::cout << "scim-bridge " << SCIM_BRIDGE_VERSION << "\n";
        return 0;
    }
    const server::Config config = load_config(*cmd, envp);
    // Commands other than serve print their results on stdout; keep stderr for problems.
    server::log::set_level(cmd->name == "serve" || cmd->config_flags.count("log_level") != 0
                               ? config.log_level
                               : "warn");
    if (cmd->name == "serve") {
        return run_serve(config);
    }
    if (cmd->name == "migrate") {
        return run_migrate(config);
    }
    if (cmd->name == "tenant") {
        return run_tenant(*cmd, config);
    }
    if (cmd->name == "schema") {
        return run_schema(*cmd, config);
    }
    if (cmd->name == "app") {
        return run_app(*cmd, config);
    }
    return run_token(*cmd, config);
}
