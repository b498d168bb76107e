// `scim-bridge app import` with the real binary and a real PostgreSQL: a YAML file and the
// equivalent JSON file store the same apps, and a file with an error stores nothing.
#include "tests/e2e/harness.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::PgTestDatabase;

namespace {

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
}

// Every app of a tenant as stored: name, connector, flags and definition (jsonb text, so key
// order does not matter), one line each.
std::string stored_apps(const PgTestDatabase& db, const std::string& tenant) {
    return db.query(
        "SELECT coalesce(string_agg(a.name || ' ' || a.connector || ' ' || a.enabled || ' ' || "
        "a.groups || ' ' || a.definition::text, E'\\n' ORDER BY a.name), '') "
        "FROM app a JOIN tenant t ON t.id = a.tenant_id WHERE t.name = '" +
        tenant + "'");
}

constexpr const char* kAppsJson = R"json({"apps": [
  {"name": "CRM", "connector": "webhook", "enabled": true,
   "scope": {"filter": "userName ew \"@example.com\""},
   "mapping": {"email": "[emails[type eq \"work\"].value]",
               "name": "Join(\" \", [name.givenName], [name.familyName])",
               "login": "ToLower([userName])"},
   "groups": {"enabled": true, "filter": "displayName sw \"crm-\"",
              "mapping": {"name": "[displayName]"}},
   "policies": {"invite": "later", "activation": "on_claim", "approval": "domains",
                "approve_domains": ["example.com"], "orphans": "ignore"},
   "webhook": {"url": "https://crm.example.com/hooks/scim",
               "secrets": ["whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"]}},
  {"name": "Wiki", "connector": "scim", "enabled": false,
   "scim": {"base_url": "https://wiki.example.com/scim/v2", "token": "t0k3n",
            "delete_users": true, "member_chunk": 500}}
]})json";

constexpr const char* kAppsYaml = R"yaml(# The apps of kAppsJson, as people write YAML.
apps:
  - name: CRM
    connector: webhook
    enabled: true
    scope:
      filter: userName ew "@example.com"
    mapping:
      email: '[emails[type eq "work"].value]'
      name: "Join(\" \", [name.givenName], [name.familyName])"
      login: ToLower([userName])
    groups: {enabled: true, filter: 'displayName sw "crm-"', mapping: {name: "[displayName]"}}
    policies:
      invite: later
      activation: on_claim
      approval: domains
      approve_domains: [example.com]
      orphans: ignore
    webhook:
      url: https://crm.example.com/hooks/scim
      secrets:
        - whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0
  - name: Wiki
    connector: scim
    enabled: false
    scim:
      base_url: https://wiki.example.com/scim/v2
      token: t0k3n
      delete_users: true
      member_chunk: 500
)yaml";

}  // namespace

TEST_SUITE("e2e.app_import") {

TEST_CASE("app import of a YAML file stores the same apps as the equivalent JSON file") {
    PgTestDatabase db;
    const Env env{{"DATABASE_URL", db.dsn()}};
    REQUIRE(run_cli({"tenant", "create", "from-json"}, env).exit_code == 0);
    REQUIRE(run_cli({"tenant", "create", "from-yaml"}, env).exit_code == 0);
    TempDir dir;

    const CliResult json = run_cli(
        {"app", "import", "--tenant", "from-json", write_file(dir, "apps.json", kAppsJson)}, env);
    REQUIRE_MESSAGE(json.exit_code == 0, json.err);
    const CliResult yaml = run_cli(
        {"app", "import", "--tenant", "from-yaml", write_file(dir, "apps.yaml", kAppsYaml)}, env);
    REQUIRE_MESSAGE(yaml.exit_code == 0, yaml.err);
    CHECK(yaml.out.find("created app CRM") != std::string::npos);
    CHECK(yaml.out.find("created app Wiki") != std::string::npos);

    const std::string from_json = stored_apps(db, "from-json");
    CHECK(from_json.find("CRM webhook true true ") == 0);
    CHECK(from_json.find("Join(\\\" \\\", [name.givenName], [name.familyName])") !=
          std::string::npos);
    CHECK(stored_apps(db, "from-yaml") == from_json);

    // Applied again (.yml, upper-case extension too): the same apps are updated, not duplicated.
    const CliResult again = run_cli(
        {"app", "import", "--tenant", "from-yaml", write_file(dir, "APPS.YML", kAppsYaml)}, env);
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(again.out.find("updated app CRM") != std::string::npos);
    CHECK(stored_apps(db, "from-yaml") == from_json);

    // `app list`: id, name, connector, enabled, version, tab-separated, the name as written.
    const CliResult listed = run_cli({"app", "list", "--tenant", "from-yaml"}, env);
    REQUIRE(listed.exit_code == 0);
    CHECK(listed.out.find("\tCRM\twebhook\tenabled\tversion ") != std::string::npos);
    CHECK(listed.out.find("\tWiki\tscim\tdisabled\tversion ") != std::string::npos);
    CHECK(listed.out.find('"') == std::string::npos);
}

TEST_CASE("app import of a YAML file with an error imports nothing and names the line") {
    PgTestDatabase db;
    const Env env{{"DATABASE_URL", db.dsn()}};
    REQUIRE(run_cli({"tenant", "create", "acme"}, env).exit_code == 0);
    TempDir dir;

    // The first app is fine; the second repeats a key on line 7.
    const std::string duplicate = write_file(dir, "apps.yaml", R"(- name: CRM
  connector: webhook
  webhook: {url: "https://crm.example.com/hooks"}
- name: Wiki
  connector: webhook
  webhook: {url: "https://wiki.example.com/hooks"}
  name: Other
)");
    const CliResult r = run_cli({"app", "import", "--tenant", "acme", duplicate}, env);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(duplicate + ": line 7, column 3: duplicate key \"name\"") !=
          std::string::npos);

    const std::string alias = write_file(dir, "alias.yml", R"(- &crm
  name: CRM
  connector: webhook
  webhook: {url: "https://crm.example.com/hooks"}
- *crm
)");
    const CliResult aliased = run_cli({"app", "import", "--tenant", "acme", alias}, env);
    CHECK(aliased.exit_code == 2);
    CHECK(aliased.err.find("line 1, column 3: anchors and aliases (&crm) are not supported") !=
          std::string::npos);

    // Valid YAML, but the second app is not a valid app: still nothing is written.
    const std::string invalid = write_file(dir, "invalid.yaml", R"(- name: CRM
  connector: webhook
  webhook: {url: "https://crm.example.com/hooks"}
- name: Wiki
  connector: ftp
)");
    const CliResult refused = run_cli({"app", "import", "--tenant", "acme", invalid}, env);
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("app 2") != std::string::npos);

    CHECK(db.query("SELECT count(*) FROM app") == "0");
    const CliResult listed = run_cli({"app", "list", "--tenant", "acme"}, env);
    CHECK(listed.exit_code == 0);
    CHECK(listed.out.empty());
}
}
