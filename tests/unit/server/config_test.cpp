#include "server/config.hpp"

#include <doctest/doctest.h>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity

TEST_SUITE("server.config") {
TEST_CASE("defaults: TLS on 127.0.0.1:8443, no plain HTTP, embedded database, 1 MiB bodies") {
    const auto c = build_config({}, {}, {});
    REQUIRE(c.has_value());
    REQUIRE(c->listen.has_value());
    CHECK(c->listen->to_string() == "127.0.0.1:8443");
    CHECK_FALSE(c->http_listen.has_value());
    CHECK(c->database_url.empty());
    CHECK(c->data_dir == ".scim-bridge");
    CHECK(c->max_body_bytes == 1024 * 1024);
}

TEST_CASE("precedence: flags over environment over file") {
    const Settings file = {
        {"data_dir", "/from/file"}, {"write_workers", "4"}, {"log_level", "warn"}};
    const Settings env = {{"data_dir", "/from/env"}, {"write_workers", "6"}};
    const Settings flags = {{"data_dir", "/from/flag"}};
    const auto c = build_config(file, env, flags);
    REQUIRE(c.has_value());
    CHECK(c->data_dir == "/from/flag");
    CHECK(c->write_workers == 6);
    CHECK(c->log_level == "warn");
}

TEST_CASE("asking only for plain HTTP does not also open the default TLS listener") {
    const auto c = build_config({}, {}, {{"http_listen", "127.0.0.1:8080"}});
    REQUIRE(c.has_value());
    CHECK_FALSE(c->listen.has_value());
    REQUIRE(c->http_listen.has_value());
    CHECK(c->http_listen->port == 8080);
    CHECK_FALSE(validate_for_serve(*c).has_value());
}

TEST_CASE("serve needs a certificate for its TLS listener") {
    const auto c = build_config({}, {}, {});
    REQUIRE(c.has_value());
    const auto err = validate_for_serve(*c);
    REQUIRE(err.has_value());
    CHECK(err->find("tls_cert") != std::string::npos);
}

TEST_CASE("bad values are one clear line naming the source and the key") {
    struct Case {
        const char* key;
        const char* value;
        const char* expect;
    };
    const Case cases[] = {
        {"listen", "127.0.0.1:99999", "port must be a number from 0 to 65535"},
        {"listen", "localhost", "expected HOST:PORT"},
        {"listen", ":8443", "missing host"},
        {"http_listen", "[::1]8080", "expected [IPv6]:PORT"},
        {"max_body_bytes", "lots", "max_body_bytes must be an integer"},
        {"max_body_bytes", "10", "max_body_bytes must be an integer from 1024"},
        {"read_workers", "0", "read_workers must be an integer from 1"},
        {"write_workers", "0", "write_workers must be an integer from 1"},
        {"log_level", "loud", "log_level must be one of"},
        {"job_duty", "0", "job_duty must be a number in (0.05, 1]"},
        {"job_duty", "1.5", "job_duty must be a number in (0.05, 1]"},
        {"delivery_time_scale", "fast", "delivery_time_scale must be a number in (0, 1]"},
        {"lsiten", "127.0.0.1:1", "unknown setting 'lsiten'"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.key);
        CAPTURE(c.value);
        const auto r = build_config({}, {}, {{c.key, c.value}});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().find("command line: ") == 0);
        CHECK(r.error().find(c.expect) != std::string::npos);
        CHECK(r.error().find('\n') == std::string::npos);
    }
}

TEST_CASE("IPv6 listen addresses") {
    const auto a = parse_listen_address("[::1]:8443");
    REQUIRE(a.has_value());
    CHECK(a->host == "::1");
    CHECK(a->port == 8443);
    CHECK(a->to_string() == "[::1]:8443");
}

TEST_CASE("environment: DATABASE_URL and SCIM_BRIDGE_<KEY>") {
    std::string e1 = "DATABASE_URL=postgresql://db/scim";
    std::string e2 = "SCIM_BRIDGE_HTTP_LISTEN=0.0.0.0:8080";
    std::string e3 = "SCIM_BRIDGE_UNKNOWN=x";
    std::string e4 = "HOME=/root";
    char* envp[] = {e1.data(), e2.data(), e3.data(), e4.data(), nullptr};
    const Settings s = settings_from_environment(envp);
    CHECK(s.size() == 2);
    CHECK(s.at("database_url") == "postgresql://db/scim");
    CHECK(s.at("http_listen") == "0.0.0.0:8080");
}

TEST_CASE("config file: a JSON object of keys") {
    const auto s = settings_from_json(R"({"listen": "0.0.0.0:443", "max_body_bytes": 2097152})");
    REQUIRE(s.has_value());
    CHECK(s->at("max_body_bytes") == "2097152");
    const auto c = build_config(*s, {}, {});
    REQUIRE(c.has_value());
    CHECK(c->max_body_bytes == 2097152);
    CHECK(c->listen->port == 443);

    CHECK_FALSE(settings_from_json("{not json").has_value());
    CHECK_FALSE(settings_from_json("[1,2]").has_value());
    CHECK_FALSE(settings_from_json(R"({"listen": ["a"]})").has_value());
    const auto typo = build_config(*settings_from_json(R"({"max_body_byte": 1})"), {}, {});
    REQUIRE_FALSE(typo.has_value());
    CHECK(typo.error() == "config file: unknown setting 'max_body_byte'");
}
}

TEST_CASE("patch_no_content: which PATCHes answer 204, by source and resource type") {
    const auto defaults = build_config({}, {}, {});
    REQUIRE(defaults.has_value());
    CHECK(patch_answers_no_content(defaults->patch_no_content, "okta", "Group"));
    CHECK_FALSE(patch_answers_no_content(defaults->patch_no_content, "entra", "User"));
    const auto set = build_config({}, {}, {{"patch_no_content", "entra:*, okta:User"}});
    REQUIRE(set.has_value());
    CHECK(patch_answers_no_content(set->patch_no_content, "entra", "User"));
    CHECK(patch_answers_no_content(set->patch_no_content, "okta", "User"));
    CHECK_FALSE(patch_answers_no_content(set->patch_no_content, "okta", "Group"));
    const auto none = build_config({}, {}, {{"patch_no_content", ""}});
    REQUIRE(none.has_value());
    CHECK_FALSE(patch_answers_no_content(none->patch_no_content, "entra", "Group"));
    const auto bad = build_config({}, {}, {{"patch_no_content", "entra:Users"}});
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().find("patch_no_content") != std::string::npos);
    CHECK_FALSE(build_config({}, {}, {{"bulk_max_operations", "0"}}).has_value());
}

TEST_CASE("trusted_proxies and the claim attempt limit") {
    const auto defaults = build_config({}, {}, {});
    REQUIRE(defaults.has_value());
    CHECK(defaults->trusted_proxies.empty());
    CHECK(defaults->claim_attempts == 30);
    const auto set = build_config({}, {}, {{"trusted_proxies", "10.0.0.0/8, ::1"}, {"claim_attempts", "0"}});
    REQUIRE(set.has_value());
    REQUIRE(set->trusted_proxies.size() == 2);
    CHECK(set->trusted_proxies[0].to_string() == "10.0.0.0/8");
    CHECK(set->claim_attempts == 0);
    const auto bad = build_config({}, {}, {{"trusted_proxies", "10.0.0.0/8, proxy.local"}});
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().find("proxy.local") != std::string::npos);
}
