#include "server/cli.hpp"

#include <doctest/doctest.h>

using namespace scimbridge::server;  // NOLINT(google-build-using-namespace): test brevity

namespace {
boost::system::result<Command, std::string> parse(std::vector<std::string> words) {
    words.insert(words.begin(), "scim-bridge");
    return parse_command_line(words);
}
}  // namespace

TEST_SUITE("server.cli") {
TEST_CASE("serve with the documented flags") {
    const auto c = parse({"serve", "--listen", "0.0.0.0:8443", "--http-listen=127.0.0.1:8080",
                          "--database-url", "postgresql://db/x", "--data-dir", "/var/lib/sb",
                          "--config", "/etc/sb.json"});
    REQUIRE(c.has_value());
    CHECK(c->name == "serve");
    CHECK(c->config_flags.at("listen") == "0.0.0.0:8443");
    CHECK(c->config_flags.at("http_listen") == "127.0.0.1:8080");
    CHECK(c->config_flags.at("database_url") == "postgresql://db/x");
    CHECK(c->config_flags.at("data_dir") == "/var/lib/sb");
    CHECK(c->config_file == "/etc/sb.json");
}

TEST_CASE("token create takes --tenant, --kind and an optional --name") {
    const auto c = parse({"token", "create", "--tenant", "acme", "--kind", "idp", "--name", "Okta"});
    REQUIRE(c.has_value());
    CHECK(c->action == "create");
    CHECK(c->options.at("tenant") == "acme");
    CHECK(c->options.at("kind") == "idp");
    CHECK(c->options.at("name") == "Okta");
}

TEST_CASE("every subcommand honours --database-url and --data-dir") {
    for (const auto& words : std::vector<std::vector<std::string>>{
             {"migrate"}, {"tenant", "list"}, {"tenant", "create", "a"},
             {"token", "list", "--tenant", "a"}, {"token", "revoke", "0123456789abcdef"}}) {
        auto w = words;
        w.insert(w.end(), {"--database-url", "postgresql://x/y", "--data-dir", "/d"});
        const auto c = parse(w);
        REQUIRE(c.has_value());
        CHECK(c->config_flags.at("database_url") == "postgresql://x/y");
        CHECK(c->config_flags.at("data_dir") == "/d");
    }
}

TEST_CASE("usage errors say what is wrong") {
    struct Case {
        std::vector<std::string> words;
        const char* expect;
    };
    const std::vector<Case> cases = {
        {{}, "missing command"},
        {{"serf"}, "unknown command 'serf'"},
        {{"tenant"}, "usage: scim-bridge tenant create|list"},
        {{"tenant", "create"}, "usage: scim-bridge tenant create NAME"},
        {{"token", "create", "--kind", "idp"}, "needs --tenant"},
        {{"token", "create", "--tenant", "a"}, "needs --kind"},
        {{"token", "revoke"}, "usage: scim-bridge token revoke ID"},
        {{"serve", "--tenant", "a"}, "unknown option --tenant for 'serve'"},
        {{"serve", "--listen"}, "option --listen needs a value"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.expect);
        const auto r = parse(c.words);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().find(c.expect) != std::string::npos);
    }
}

TEST_CASE("help and version") {
    CHECK(parse({"--help"})->name == "help");
    CHECK(parse({"help"})->name == "help");
    CHECK(parse({"--version"})->name == "version");
    CHECK(usage().find("token create --tenant NAME --kind idp|admin") != std::string::npos);
}
}
