#include "server/config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>

namespace scimbridge::server {

namespace {

using Setter = std::function<std::optional<std::string>(Config&, const std::string&)>;

std::optional<std::string> parse_size(const std::string& key, const std::string& text,
                                      std::size_t min, std::size_t max, std::size_t& out) {
    std::size_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
        return key + " must be an integer from " + std::to_string(min) + " to " +
               std::to_string(max) + ", got '" + text + "'";
    }
    out = value;
    return std::nullopt;
}

Setter size_setter(std::size_t Config::*field, std::size_t min, std::size_t max,
                   std::string key) {
    return [=](Config& c, const std::string& v) { return parse_size(key, v, min, max, c.*field); };
}

// A share: a number in (min, 1].
Setter share_setter(double Config::*field, double min, std::string key) {
    return [=](Config& c, const std::string& v) -> std::optional<std::string> {
        char* end = nullptr;
        const double share = std::strtod(v.c_str(), &end);
        if (v.empty() || end != v.c_str() + v.size() || !(share > min) || share > 1.0) {
            std::ostringstream bounds;
            bounds << "(" << min << ", 1]";
            return key + " must be a number in " + bounds.str() + ", got '" + v + "'";
        }
        c.*field = share;
        return std::nullopt;
    };
}

Setter millis_setter(std::chrono::milliseconds Config::*field, std::size_t min, std::size_t max,
                     std::string key) {
    return [=](Config& c, const std::string& v) -> std::optional<std::string> {
        std::size_t ms = 0;
        if (auto err = parse_size(key, v, min, max, ms)) {
            return err;
        }
        c.*field = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
        return std::nullopt;
    };
}

Setter string_setter(std::string Config::*field) {
    return [=](Config& c, const std::string& v) -> std::optional<std::string> {
        c.*field = v;
        return std::nullopt;
    };
}

Setter bool_setter(bool Config::*field, std::string key) {
    return [=](Config& c, const std::string& v) -> std::optional<std::string> {
        if (v != "true" && v != "false") {
            return key + " must be true or false, got '" + v + "'";
        }
        c.*field = v == "true";
        return std::nullopt;
    };
}

Setter listen_setter(std::optional<ListenAddress> Config::*field, std::string key) {
    return [=](Config& c, const std::string& v) -> std::optional<std::string> {
        if (v.empty() || v == "off") {
            c.*field = std::nullopt;
            return std::nullopt;
        }
        auto parsed = parse_listen_address(v);
        if (!parsed) {
            return key + ": " + parsed.error();
        }
        c.*field = *parsed;
        return std::nullopt;
    };
}

// A comma-separated list, each entry trimmed of spaces; empty entries dropped.
std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> entries;
    std::size_t pos = 0;
    while (pos <= v.size()) {
        const std::size_t comma = std::min(v.find(',', pos), v.size());
        std::string entry = v.substr(pos, comma - pos);
        entry.erase(0, entry.find_first_not_of(' '));
        entry.erase(entry.find_last_not_of(' ') + 1);
        if (!entry.empty()) {
            entries.push_back(std::move(entry));
        }
        pos = comma + 1;
    }
    return entries;
}

const std::vector<std::pair<std::string, Setter>>& setters() {
    static const std::vector<std::pair<std::string, Setter>> kSetters = {
        {"listen", listen_setter(&Config::listen, "listen")},
        {"http_listen", listen_setter(&Config::http_listen, "http_listen")},
        {"database_url", string_setter(&Config::database_url)},
        {"data_dir", string_setter(&Config::data_dir)},
        {"pg_bindir", string_setter(&Config::pg_bindir)},
        {"pg_user", string_setter(&Config::pg_user)},
        {"tls_cert", string_setter(&Config::tls_cert)},
        {"tls_key", string_setter(&Config::tls_key)},
        {"max_body_bytes", size_setter(&Config::max_body_bytes, 1024, 1024UL * 1024 * 1024,
                                       "max_body_bytes")},
        {"max_header_bytes",
         size_setter(&Config::max_header_bytes, 1024, 1024 * 1024, "max_header_bytes")},
        {"handshake_timeout_ms", millis_setter(&Config::handshake_timeout, 100, 600'000,
                                               "handshake_timeout_ms")},
        {"read_timeout_ms",
         millis_setter(&Config::read_timeout, 100, 3'600'000, "read_timeout_ms")},
        {"write_timeout_ms",
         millis_setter(&Config::write_timeout, 100, 3'600'000, "write_timeout_ms")},
        {"idle_timeout_ms",
         millis_setter(&Config::idle_timeout, 100, 3'600'000, "idle_timeout_ms")},
        {"shutdown_grace_ms",
         millis_setter(&Config::shutdown_grace, 0, 3'600'000, "shutdown_grace_ms")},
        {"auth_cache_ttl_ms",
         millis_setter(&Config::auth_cache_ttl, 0, 3'600'000, "auth_cache_ttl_ms")},
        {"io_threads", size_setter(&Config::io_threads, 1, 256, "io_threads")},
        {"bulk_max_operations",
         size_setter(&Config::bulk_max_operations, 1, 100'000, "bulk_max_operations")},
        {"patch_no_content",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             std::vector<std::string> entries = split_list(v);
             for (const std::string& entry : entries) {
                 const auto colon = entry.find(':');
                 const std::string type = colon == std::string::npos ? "" : entry.substr(colon + 1);
                 if (colon == 0 || colon == std::string::npos ||
                     (type != "User" && type != "Group" && type != "*")) {
                     return "patch_no_content takes entries like entra:Group or *:User, got '" + entry +
                            "'";
                 }
             }
             c.patch_no_content = std::move(entries);
             return std::nullopt;
         }},
        {"read_workers", size_setter(&Config::read_workers, 1, 1024, "read_workers")},
        {"write_workers", size_setter(&Config::write_workers, 1, 1024, "write_workers")},
        {"delivery_workers", size_setter(&Config::delivery_workers, 0, 512, "delivery_workers")},
        {"delivery_app_concurrency", size_setter(&Config::delivery_app_concurrency, 1, 512,
                                                 "delivery_app_concurrency")},
        {"delivery_db_pool_size",
         size_setter(&Config::delivery_db_pool_size, 1, 256, "delivery_db_pool_size")},
        {"delivery_lease_ms",
         millis_setter(&Config::delivery_lease, 1'000, 3'600'000, "delivery_lease_ms")},
        {"delivery_poll_ms", millis_setter(&Config::delivery_poll, 10, 60'000, "delivery_poll_ms")},
        {"delivery_first_retry_ms", millis_setter(&Config::delivery_first_retry, 1, 3'600'000,
                                                  "delivery_first_retry_ms")},
        {"delivery_dead_after_hours", size_setter(&Config::delivery_dead_after_hours, 1, 24 * 365,
                                                  "delivery_dead_after_hours")},
        {"delivery_time_scale", share_setter(&Config::delivery_time_scale, 0.0, "delivery_time_scale")},
        {"outbound_deadline_ms",
         millis_setter(&Config::outbound_deadline, 100, 300'000, "outbound_deadline_ms")},
        {"outbound_allow_cidrs",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             c.outbound_allow_cidrs = split_list(v);
             return std::nullopt;
         }},
        {"trusted_proxies",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             std::vector<Cidr> proxies;
             for (const std::string& entry : split_list(v)) {
                 const auto cidr = parse_cidr(entry);
                 if (!cidr) {
                     return "trusted_proxies takes addresses or CIDRs like 10.0.0.0/8, got '" + entry + "'";
                 }
                 proxies.push_back(*cidr);
             }
             c.trusted_proxies = std::move(proxies);
             return std::nullopt;
         }},
        {"claim_attempts", size_setter(&Config::claim_attempts, 0, 1'000'000, "claim_attempts")},
        {"claim_attempt_refill_ms",
         millis_setter(&Config::claim_attempt_refill, 1, 86'400'000, "claim_attempt_refill_ms")},
        {"outbound_allow_http", bool_setter(&Config::outbound_allow_http, "outbound_allow_http")},
        {"allow_unsafe_durability", bool_setter(&Config::allow_unsafe_durability, "allow_unsafe_durability")},
        {"outbound_ca_file", string_setter(&Config::outbound_ca_file)},
        {"time_scale",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             char* end = nullptr;
             const double scale = std::strtod(v.c_str(), &end);
             if (v.empty() || end != v.c_str() + v.size() || !(scale > 0.0) || scale > 1.0) {
                 return "time_scale must be a number in (0, 1], got '" + v + "'";
             }
             c.time_scale = scale;
             return std::nullopt;
         }},
        {"test_clock_file", string_setter(&Config::test_clock_file)},
        {"secret_key_file", string_setter(&Config::secret_key_file)},
        {"scheduler", bool_setter(&Config::scheduler, "scheduler")},
        {"scheduler_tick_ms", millis_setter(&Config::scheduler_tick, 10, 60'000, "scheduler_tick_ms")},
        {"lifecycle_interval_ms",
         millis_setter(&Config::lifecycle_interval, 10, 3'600'000, "lifecycle_interval_ms")},
        {"resync_period_minutes",
         size_setter(&Config::resync_period_minutes, 1, 7 * 24 * 60, "resync_period_minutes")},
        {"job_nice", size_setter(&Config::job_nice, 0, 19, "job_nice")},
        {"job_duty", share_setter(&Config::job_duty, 0.05, "job_duty")},
        {"invitation_ttl_hours", size_setter(&Config::invitation_ttl_hours, 1, 24 * 90, "invitation_ttl_hours")},
        {"smtp_url", string_setter(&Config::smtp_url)},
        {"smtp_username", string_setter(&Config::smtp_username)},
        {"smtp_password", string_setter(&Config::smtp_password)},
        {"smtp_from", string_setter(&Config::smtp_from)},
        {"smtp_from_name", string_setter(&Config::smtp_from_name)},
        {"smtp_ca_file", string_setter(&Config::smtp_ca_file)},
        {"smtp_timeout_ms", millis_setter(&Config::smtp_timeout, 100, 600'000, "smtp_timeout_ms")},
        {"mail_template_dir", string_setter(&Config::mail_template_dir)},
        {"db_lease_timeout_ms",
         millis_setter(&Config::db_lease_timeout, 1, 600'000, "db_lease_timeout_ms")},
        {"db_statement_timeout_ms", millis_setter(&Config::db_statement_timeout, 1, 86'400'000,
                                                  "db_statement_timeout_ms")},
        {"public_base_url",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             if (!v.empty() && v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0) {
                 return "public_base_url must start with https:// or http://, got '" + v + "'";
             }
             c.public_base_url = v;
             while (!c.public_base_url.empty() && c.public_base_url.back() == '/') {
                 c.public_base_url.pop_back();
             }
             return std::nullopt;
         }},
        {"max_results",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             std::size_t n = 0;
             if (auto err = parse_size("max_results", v, 1, 100000, n)) {
                 return err;
             }
             c.max_results = static_cast<std::int64_t>(n);
             return std::nullopt;
         }},
        {"log_level",
         [](Config& c, const std::string& v) -> std::optional<std::string> {
             if (v != "debug" && v != "info" && v != "warn" && v != "error") {
                 return "log_level must be one of debug, info, warn, error; got '" + v + "'";
             }
             c.log_level = v;
             return std::nullopt;
         }},
    };
    return kSetters;
}

std::optional<std::string> apply(Config& config, const Settings& settings,
                                 const std::string& source) {
    for (const auto& [key, value] : settings) {
        const auto& all = setters();
        const auto it = std::find_if(all.begin(), all.end(),
                                     [&](const auto& s) { return s.first == key; });
        if (it == all.end()) {
            return source + ": unknown setting '" + key + "'";
        }
        if (auto err = it->second(config, value)) {
            return source + ": " + *err;
        }
    }
    return std::nullopt;
}

std::string to_upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
    });
    return s;
}

}  // namespace

std::string ListenAddress::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

boost::system::result<ListenAddress, std::string> parse_listen_address(const std::string& text) {
    std::string host;
    std::string port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return {boost::system::in_place_error, std::string("expected [IPv6]:PORT, got '" + text + "'")};
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            return {boost::system::in_place_error, std::string("expected HOST:PORT, got '" + text + "'")};
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    if (host.empty()) {
        return {boost::system::in_place_error, std::string("missing host in '" + text + "' (use 0.0.0.0 for every interface)")};
    }
    unsigned port = 0;
    const char* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc() || ptr != end || port > 65535) {
        return {boost::system::in_place_error, std::string("port must be a number from 0 to 65535, got '" + port_text + "'")};
    }
    return ListenAddress{host, static_cast<std::uint16_t>(port)};
}

const std::vector<std::string>& config_keys() {
    static const std::vector<std::string> kKeys = [] {
        std::vector<std::string> keys;
        for (const auto& s : setters()) {
            keys.push_back(s.first);
        }
        return keys;
    }();
    return kKeys;
}

Settings settings_from_environment(char** envp) {
    Settings out;
    for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        const std::string name = entry.substr(0, eq);
        const std::string value = entry.substr(eq + 1);
        if (name == "DATABASE_URL") {
            out["database_url"] = value;
            continue;
        }
        for (const std::string& key : config_keys()) {
            if (name == "SCIM_BRIDGE_" + to_upper(key)) {
                out[key] = value;
            }
        }
    }
    return out;
}

boost::system::result<Settings, std::string> settings_from_json(const std::string& text) {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(text, ec);
    if (ec) {
        return std::string("config file is not valid JSON: " + ec.message());
    }
    if (!doc.is_object()) {
        return std::string("config file must hold a JSON object");
    }
    Settings out;
    for (const auto& [key, value] : doc.as_object()) {
        const std::string k(key);
        if (value.is_string()) {
            out[k] = std::string(value.as_string());
        } else if (value.is_int64()) {
            out[k] = std::to_string(value.as_int64());
        } else if (value.is_uint64()) {
            out[k] = std::to_string(value.as_uint64());
        } else if (value.is_bool()) {
            out[k] = value.as_bool() ? "true" : "false";
        } else if (value.is_null()) {
            out[k] = "";
        } else {
            return std::string("config file: '" + k + "' must be a string or a number");
        }
    }
    return out;
}

ConfigResult build_config(const Settings& file, const Settings& env, const Settings& flags) {
    Config config;
    if (auto err = apply(config, file, "config file")) {
        return *err;
    }
    if (auto err = apply(config, env, "environment")) {
        return *err;
    }
    if (auto err = apply(config, flags, "command line")) {
        return *err;
    }
    // TLS on 127.0.0.1:8443 unless some source chose the listeners itself.
    const auto chose = [](const Settings& s) {
        return s.count("listen") != 0 || s.count("http_listen") != 0;
    };
    if (!chose(file) && !chose(env) && !chose(flags)) {
        config.listen = ListenAddress{"127.0.0.1", 8443};
    }
    if (config.database_url.empty() && config.data_dir.empty()) {
        return std::string("data_dir must not be empty when no database_url is given");
    }
    return config;
}

std::optional<std::string> validate_for_serve(const Config& config) {
    if (!config.listen && !config.http_listen) {
        return std::string("nothing to listen on: set listen (TLS) or http_listen");
    }
    if (config.listen && (config.tls_cert.empty() || config.tls_key.empty())) {
        return std::string(
            "TLS listener " + config.listen->to_string() +
            " needs tls_cert and tls_key (--tls-cert/--tls-key or SCIM_BRIDGE_TLS_CERT/"
            "SCIM_BRIDGE_TLS_KEY; certs/make-dev-certs.sh makes a development pair)");
    }
    if (!config.smtp_url.empty()) {
        if (config.smtp_url.rfind("smtp://", 0) != 0 && config.smtp_url.rfind("smtps://", 0) != 0 &&
            config.smtp_url.rfind("smtp+insecure://", 0) != 0) {
            return std::string("smtp_url must start with smtp:// (STARTTLS) or smtps://");
        }
        if (config.smtp_from.empty()) {
            return std::string("smtp_url needs smtp_from (the sender address of invitations)");
        }
    }
    return std::nullopt;
}

bool patch_answers_no_content(const std::vector<std::string>& entries, const std::string& source,
                              const std::string& resource_type) {
    for (const std::string& entry : entries) {
        const auto colon = entry.find(':');
        const std::string s = entry.substr(0, colon);
        const std::string t = entry.substr(colon + 1);
        if ((s == "*" || s == source) && (t == "*" || t == resource_type)) {
            return true;
        }
    }
    return false;
}

}  // namespace scimbridge::server
