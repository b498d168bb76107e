#include "tests/e2e/harness.hpp"
#include "tests/support/pg_test_database.hpp"

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <libpq-fe.h>
#include <openssl/ssl.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

using namespace scimbridge::e2e;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::admin_exec;
using scimbridge::tests::PgTestDatabase;

namespace {

boost::json::object json_of(const Response& res) {
    return boost::json::parse(res.body()).as_object();
}

// A fresh database, a tenant and an idp token made through the CLI, as an admin would.
struct Provisioned {
    PgTestDatabase db;
    Env env{{"DATABASE_URL", db.dsn()}};
    std::string token;

    Provisioned() {
        const CliResult tenant = run_cli({"tenant", "create", "acme"}, env);
        REQUIRE_MESSAGE(tenant.exit_code == 0, tenant.err);
        const CliResult made =
            run_cli({"token", "create", "--tenant", "acme", "--kind", "idp", "--name", "okta"}, env);
        REQUIRE_MESSAGE(made.exit_code == 0, made.err);
        token = made.last_line();
    }
};

std::size_t count_lines(const std::string& text) {
    std::size_t n = 0;
    for (const char c : text) {
        n += c == '\n' ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_SUITE("e2e.server") {
TEST_CASE("over TLS: health, readiness, 401 without a token, the tenant with one") {
    Provisioned p;
    ServerProcess server({}, p.env);

    const Response health = https_request(server.tls_port(), {.target = "/healthz"});
    CHECK(health.result_int() == 200);
    CHECK(json_of(health).at("status") == "ok");
    const Response ready = https_request(server.tls_port(), {.target = "/readyz"});
    CHECK(ready.result_int() == 200);

    const Response anonymous = https_request(server.tls_port(), {.target = "/scim/v2/Users"});
    CHECK(anonymous.result_int() == 401);
    CHECK(anonymous[http::field::www_authenticate].starts_with("Bearer"));
    CHECK(anonymous[http::field::content_type] == "application/scim+json");
    CHECK(json_of(anonymous).at("status") == "401");

    const Response wrong =
        https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = p.token + "x"});
    CHECK(wrong.result_int() == 401);

    const Response me =
        https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = p.token});
    CHECK(me.result_int() == 200);
    CHECK(json_of(me).at("tenant") == "acme");
    CHECK(json_of(me).at("kind") == "idp");
}

TEST_CASE("CLI token lifecycle: the printed token works until it is revoked") {
    Provisioned p;
    ServerProcess server({}, p.env);
    const CliResult listed = run_cli({"token", "list", "--tenant", "acme"}, p.env);
    REQUIRE(listed.exit_code == 0);
    const std::string id = p.token.substr(4, 16);
    CHECK(listed.out.find(id) != std::string::npos);
    CHECK(listed.out.find(p.token.substr(21)) == std::string::npos);  // the secret is not shown

    CHECK(https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = p.token})
              .result_int() == 200);
    const CliResult revoked = run_cli({"token", "revoke", id}, p.env);
    CHECK(revoked.exit_code == 0);
    // The server caches verified tokens; the revocation reaches it through NOTIFY, well before
    // the cache TTL (10 s) would expire.
    const auto started = std::chrono::steady_clock::now();
    unsigned status = 200;
    while (status == 200 && std::chrono::steady_clock::now() - started < std::chrono::seconds(3)) {
        status = https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = p.token})
                     .result_int();
    }
    CHECK(status == 401);
}

TEST_CASE("tokens are never written to the log") {
    Provisioned p;
    ServerProcess server({}, p.env);
    https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = p.token});
    https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = p.token + "x"});
    server.signal(SIGTERM);
    REQUIRE(server.wait_exit(std::chrono::seconds(30)) == 0);
    const std::string log = server.log();
    CHECK(log.find("\"route\":\"/admin/v1/whoami\"") != std::string::npos);
    CHECK(log.find(p.token.substr(21)) == std::string::npos);
}

TEST_CASE("X-Request-Id is accepted, echoed and logged") {
    Provisioned p;
    ServerProcess server({}, p.env);
    const Response res = https_request(
        server.tls_port(), {.target = "/healthz", .headers = {{"X-Request-Id", "okta-7f3a"}}});
    CHECK(res["X-Request-Id"] == "okta-7f3a");
    CHECK(server.log().find("\"request_id\":\"okta-7f3a\"") != std::string::npos);
}

TEST_CASE("an oversized body gets 413 with a SCIM error before it is read") {
    Provisioned p;
    ServerProcess server({}, p.env);
    const std::string head = "POST /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\n"
                             "Authorization: Bearer " + p.token +
                             "\r\nContent-Type: application/scim+json\r\n"
                             "Content-Length: 2097152\r\n\r\n";
    const std::string answer = raw_exchange(server.tls_port(), true, head + std::string(1024, '{'));
    CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(answer.find("Connection: close") != std::string::npos);
    CHECK(answer.find(R"("status":"413")") != std::string::npos);
    CHECK(answer.find("urn:ietf:params:scim:api:messages:2.0:Error") != std::string::npos);

    // A chunked body that grows past the limit is cut off the same way.
    std::string chunked = "POST /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) {
        chunked += "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
    }
    const std::string cut = raw_exchange(server.tls_port(), true, chunked);
    CHECK(cut.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("a body below the limit is accepted; the limit is configurable") {
    Provisioned p;
    ServerProcess server({"--max-body-bytes", "4096"}, p.env);
    const Response small = https_request(
        server.tls_port(), {.method = http::verb::post, .target = "/healthz",
                            .body = std::string(4000, 'x')});
    CHECK(small.result_int() == 405);  // read completely, then routed
    const std::string head = "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n";
    CHECK(raw_exchange(server.tls_port(), true, head + std::string(100, 'x')).rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("oversized headers get 431; malformed requests get 400; both as SCIM errors") {
    Provisioned p;
    ServerProcess server({}, p.env, true, true);
    const std::string big = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " +
                            std::string(20000, 'a') + "\r\n\r\n";
    const std::string a431 = raw_exchange(server.tls_port(), true, big);
    CHECK(a431.rfind("HTTP/1.1 431", 0) == 0);
    CHECK(a431.find(R"("status":"431")") != std::string::npos);

    const std::string a400 = raw_exchange(server.http_port(), false, "GET /healthz HTTP/1.1\r\nHost localhost\r\n\r\n");
    CHECK(a400.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(a400.find(R"("status":"400")") != std::string::npos);
}

TEST_CASE("TLS 1.2 and 1.3 only") {
    Provisioned p;
    ServerProcess server({}, p.env);
    CHECK(tls_handshake_succeeds(server.tls_port(), TLS1_3_VERSION));
    CHECK(tls_handshake_succeeds(server.tls_port(), TLS1_2_VERSION));
    CHECK_FALSE(tls_handshake_succeeds(server.tls_port(), TLS1_1_VERSION));
    CHECK_FALSE(tls_handshake_succeeds(server.tls_port(), TLS1_VERSION));
}

TEST_CASE("plain HTTP only when asked for") {
    Provisioned p;
    ServerProcess tls_only({}, p.env);
    CHECK(tls_only.http_port() == 0);
    CHECK(tls_only.log().find("\"scheme\":\"http\"") == std::string::npos);
    ServerProcess both({}, p.env, true, true);
    CHECK(http_request(both.http_port(), {.target = "/healthz"}).result_int() == 200);
}

TEST_CASE("SIGTERM: stop accepting, let the request in flight finish, exit 0") {
    Provisioned p;
    ServerProcess server({}, p.env);
    // Hold a lock that /readyz needs, so a readiness request is in flight in the worker pool.
    PGconn* blocker = PQconnectdb(p.db.dsn().c_str());
    REQUIRE(PQstatus(blocker) == CONNECTION_OK);
    PQclear(PQexec(blocker, "BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE"));

    auto in_flight = std::async(std::launch::async, [&] {
        return https_request(server.tls_port(), {.target = "/readyz"});
    });
    // Wait until the server's query is really waiting on the lock.
    bool waiting = false;
    for (int i = 0; i < 500 && !waiting; ++i) {
        waiting = p.db.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             "'scim-bridge' AND wait_event_type = 'Lock'") != "0";
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(waiting);

    server.signal(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(server.running());  // still finishing the request
    CHECK_THROWS(https_request(server.tls_port(), {.target = "/healthz"}));  // not accepting

    PQclear(PQexec(blocker, "COMMIT"));
    PQfinish(blocker);
    const Response res = in_flight.get();
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::connection] == "close");
    CHECK(server.wait_exit(std::chrono::seconds(30)) == 0);
}

TEST_CASE("SIGTERM does not wait for idle keep-alive connections") {
    Provisioned p;
    ServerProcess server({}, p.env, false, true);
    // An idle keep-alive connection: one request answered, the socket left open.
    boost::asio::io_context ioc;
    boost::beast::tcp_stream idle(ioc);
    idle.connect({boost::asio::ip::make_address("127.0.0.1"), server.http_port()});
    http::request<http::string_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "localhost");
    http::write(idle, req);
    boost::beast::flat_buffer buffer;
    Response res;
    http::read(idle, buffer, res);
    REQUIRE(res.keep_alive());

    const auto started = std::chrono::steady_clock::now();
    server.signal(SIGTERM);
    CHECK(server.wait_exit(std::chrono::seconds(20)) == 0);
    // Far below the 25 s grace period: the idle connection was closed, not waited for.
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("start-up validation: one clear line and a non-zero exit") {
    PgTestDatabase db;
    const Env env{{"DATABASE_URL", db.dsn()}};
    struct Case {
        std::vector<std::string> args;
        Env env;
        const char* expect;
    };
    const std::vector<Case> cases = {
        {{"serve", "--http-listen", "127.0.0.1:70000", "--listen", "off"}, env,
         "port must be a number from 0 to 65535"},
        {{"serve", "--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.crt", "--tls-key",
          "/nonexistent.key"},
         env, "cannot read TLS certificate /nonexistent.crt"},
        {{"serve", "--listen", "127.0.0.1:0"}, env, "needs tls_cert and tls_key"},
        {{"serve", "--http-listen", "127.0.0.1:0", "--listen", "off"},
         {{"DATABASE_URL", "host=127.0.0.1 port=1 user=x dbname=x connect_timeout=2"}},
         "cannot connect to PostgreSQL"},
        {{"serve", "--http-listen", "127.0.0.1:0", "--listen", "off"},
         {{"DATABASE_URL", db.dsn()}, {"SCIM_BRIDGE_MAX_BODY_BYTES", "huge"}},
         "environment: max_body_bytes must be an integer"},
        {{"serve", "--config", "/nonexistent.json"}, env, "cannot read config file"},
        {{"frobnicate"}, env, "unknown command"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.expect);
        const CliResult r = run_cli(c.args, c.env);
        CHECK(r.exit_code != 0);
        CHECK(r.err.find(c.expect) != std::string::npos);
        CHECK(count_lines(r.err) == 1);
    }
    // A port already in use is reported the same way.
    ServerProcess holder({}, env, false, true);
    const CliResult busy = run_cli({"serve", "--listen", "off", "--http-listen",
                                    "127.0.0.1:" + std::to_string(holder.http_port()),
                                    "--allow-unsafe-durability", "true"},
                                   env);
    CHECK(busy.exit_code != 0);
    CHECK(busy.err.find("cannot listen on 127.0.0.1:") != std::string::npos);
    CHECK(busy.err.find("scim-bridge: error:") != std::string::npos);
}

TEST_CASE("a PostgreSQL that may lose acknowledged commits is refused unless the data is declared disposable") {
    PgTestDatabase db;
    // synchronous_commit off for this database's sessions, whatever the test server's own settings.
    admin_exec("ALTER DATABASE " + db.name() + " SET synchronous_commit = off");
    const Env env{{"DATABASE_URL", db.dsn()}};
    const CliResult refused = run_cli({"serve", "--listen", "off", "--http-listen", "127.0.0.1:0"}, env);
    CHECK(refused.exit_code != 0);
    CHECK(refused.err.find("may lose acknowledged writes") != std::string::npos);
    CHECK(refused.err.find("synchronous_commit = off") != std::string::npos);
    CHECK(refused.err.find("allow_unsafe_durability") != std::string::npos);
    // One line says why (after the migrations' log line): the error is the last one.
    const auto error_at = refused.err.find("scim-bridge: error: PostgreSQL may lose");
    REQUIRE(error_at != std::string::npos);
    CHECK(refused.err.find('\n', error_at) == refused.err.size() - 1);
    // Declared disposable: it serves, and says so in its log.
    ServerProcess server({"--allow-unsafe-durability", "true"}, env, false, true);
    CHECK(server.http_port() != 0);
    const std::string log = server.log();
    CHECK(log.find("serving anyway") != std::string::npos);
    CHECK(log.find("synchronous_commit = off") != std::string::npos);
}

TEST_CASE("embedded PostgreSQL: started on first run, data kept across restarts, stopped on exit") {
    TempDir dir;
    const std::string data_dir = dir.path() + "/state";
    const std::vector<std::string> args = {"--data-dir", data_dir};
    std::string token;
    {
        ServerProcess server(args, {});
        CHECK(std::filesystem::exists(data_dir + "/pg/PG_VERSION"));
        CHECK(server.log().find("\"initialised_now\":true") != std::string::npos);
        CHECK(https_request(server.tls_port(), {.target = "/readyz"}).result_int() == 200);

        // The CLI works on the same data directory while the server runs.
        std::vector<std::string> create = {"tenant", "create", "acme", "--data-dir", data_dir};
        REQUIRE(run_cli(create).exit_code == 0);
        const CliResult made = run_cli({"token", "create", "--tenant", "acme", "--kind", "admin",
                                        "--data-dir", data_dir});
        REQUIRE(made.exit_code == 0);
        token = made.last_line();
        CHECK(https_request(server.tls_port(), {.target = "/admin/v1/whoami", .token = token})
                  .result_int() == 200);
        // A second server on the same data directory is refused.
        const CliResult second = run_cli({"serve", "--listen", "off", "--http-listen",
                                          "127.0.0.1:0", "--data-dir", data_dir});
        CHECK(second.exit_code != 0);
        CHECK(second.err.find("another scim-bridge serve is using") != std::string::npos);

        server.signal(SIGTERM);
        CHECK(server.wait_exit(std::chrono::seconds(60)) == 0);
    }
    CHECK_FALSE(std::filesystem::exists(data_dir + "/pg/postmaster.pid"));  // cluster stopped

    // A cluster made before the bridge set max_wal_size gets it at its next start, once.
    const std::string conf_path = data_dir + "/pg/postgresql.conf";
    const auto wal_lines = [&] {
        std::ifstream in(conf_path);
        int n = 0;
        for (std::string line; std::getline(in, line);) n += line == "max_wal_size = 4GB" ? 1 : 0;
        return n;
    };
    CHECK(wal_lines() == 1);
    {
        std::ifstream in(conf_path);
        std::string text, line;
        while (std::getline(in, line)) {
            if (line != "max_wal_size = 4GB") text += line + "\n";
        }
        in.close();
        std::ofstream(conf_path, std::ios::trunc) << text;
    }
    REQUIRE(wal_lines() == 0);

    ServerProcess again(args, {});
    CHECK(wal_lines() == 1);
    CHECK(again.log().find("\"initialised_now\":false") != std::string::npos);
    const Response me = https_request(again.tls_port(), {.target = "/admin/v1/whoami", .token = token});
    CHECK(me.result_int() == 200);
    CHECK(json_of(me).at("tenant") == "acme");
    again.signal(SIGINT);
    CHECK(again.wait_exit(std::chrono::seconds(60)) == 0);
    CHECK_FALSE(std::filesystem::exists(data_dir + "/pg/postmaster.pid"));
}

TEST_CASE("embedded PostgreSQL: a cluster left running by a crash is adopted and stopped") {
    TempDir dir;
    const std::string data_dir = dir.path() + "/state";
    {
        ServerProcess crashed({"--data-dir", data_dir}, {});
        crashed.signal(SIGKILL);
        crashed.wait_exit(std::chrono::seconds(10));
    }
    CHECK(std::filesystem::exists(data_dir + "/pg/postmaster.pid"));  // orphaned cluster
    ServerProcess next({"--data-dir", data_dir}, {});
    CHECK(https_request(next.tls_port(), {.target = "/readyz"}).result_int() == 200);
    next.signal(SIGTERM);
    CHECK(next.wait_exit(std::chrono::seconds(60)) == 0);
    CHECK_FALSE(std::filesystem::exists(data_dir + "/pg/postmaster.pid"));
}
TEST_CASE("embedded PostgreSQL: a start that fails after the cluster came up stops it again") {
    PgTestDatabase db;
    ServerProcess holder({}, {{"DATABASE_URL", db.dsn()}}, false, true);  // holds a port
    TempDir dir;
    const std::string data_dir = dir.path() + "/state";
    const CliResult busy = run_cli({"serve", "--listen", "off", "--http-listen",
                                    "127.0.0.1:" + std::to_string(holder.http_port()),
                                    "--data-dir", data_dir});
    CHECK(busy.exit_code == 1);
    CHECK(busy.err.find("cannot listen on") != std::string::npos);
    CHECK(std::filesystem::exists(data_dir + "/pg/PG_VERSION"));       // it did start
    CHECK_FALSE(std::filesystem::exists(data_dir + "/pg/postmaster.pid"));  // and was stopped
}
}
