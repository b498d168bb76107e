// The outbound HTTP client (server/http_client) against a real fake app over real sockets:
// TLS verification, the total deadline, no redirects, the body cap, the SSRF guard, keep-alive.
// No database and no scim-bridge process: select with -tc='*http client*'.

#include "mappers/webhook_signature.hpp"
#include "server/http_client.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/support/fake_app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>
#include <vector>

namespace {

using scimbridge::mappers::HttpRequest;
using scimbridge::mappers::HttpResponse;
using scimbridge::server::HttpClient;
using scimbridge::server::HttpClientOptions;
using scimbridge::tests::FakeApp;
using scimbridge::tests::FakeAppOptions;
using Outcome = HttpResponse::Outcome;
using namespace std::chrono_literals;

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::kOk: return "ok";
        case Outcome::kTimeout: return "timeout";
        case Outcome::kConnectError: return "connect error";
        case Outcome::kTlsError: return "tls error";
        case Outcome::kForbiddenTarget: return "forbidden target";
        case Outcome::kBadUrl: return "bad url";
        case Outcome::kProtocolError: return "protocol error";
    }
    return "?";
}

// Loopback is where the fake apps live: tests allow it explicitly (production does not).
HttpClientOptions loopback_options() {
    HttpClientOptions o;
    o.allowed_cidrs = {"127.0.0.0/8", "::1/128"};
    o.allow_plain_http = true;
    o.ca_file = scimbridge::e2e::dev_certs().ca();
    return o;
}

FakeAppOptions tls_app() {
    FakeAppOptions o;
    o.tls = true;
    o.cert_file = scimbridge::e2e::dev_certs().cert();
    o.key_file = scimbridge::e2e::dev_certs().key();
    return o;
}

HttpRequest post(const std::string& url, std::string body = R"({"hello":"world"})",
                 std::chrono::milliseconds deadline = 10s) {
    HttpRequest r;
    r.method = "POST";
    r.url = url;
    r.headers["Content-Type"] = "application/json";
    r.body = std::move(body);
    r.deadline = deadline;
    return r;
}

// Sends and reports the outcome, so that a failing CHECK shows why.
HttpResponse send(HttpClient& client, const HttpRequest& request) {
    HttpResponse r = client.send(request);
    INFO("outcome " << to_string(r.outcome) << ": " << r.error);
    return r;
}

// A one-shot server that answers the first connection with fixed bytes, then closes.
class RawServer {
public:
    explicit RawServer(std::string reply)
        : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
          thread_([this, r = std::move(reply)] { serve(r); }) {}
    ~RawServer() { thread_.join(); }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/";
    }

private:
    void serve(const std::string& reply) {
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket socket = acceptor_.accept(ec);
        if (ec) {
            return;
        }
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
            const std::size_t n = socket.read_some(boost::asio::buffer(buf), ec);
            if (ec) {
                return;
            }
            request.append(buf, n);
        }
        boost::asio::write(socket, boost::asio::buffer(reply), ec);
        socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
        socket.read_some(boost::asio::buffer(buf), ec);  // until the client closes
    }

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

}  // namespace

TEST_SUITE("e2e.http_client") {
TEST_CASE("http client: 200 with a JSON body, request headers as the app saw them") {
    FakeApp app;
    app.respond_ok("acct-42");
    HttpClient client(loopback_options());
    HttpRequest req = post(app.url("/hooks/scim?x=1"));
    req.headers["X-Trace"] = "abc";
    const HttpResponse res = send(client, req);
    REQUIRE(res.outcome == Outcome::kOk);
    CHECK(res.status == 200);
    CHECK(res.body == R"({"account_id":"acct-42"})");
    CHECK_FALSE(res.body_truncated);
    CHECK(res.header("content-type") == "application/json");  // names are lower-cased
    CHECK(res.header("server").has_value());

    const auto records = app.records();
    REQUIRE(records.size() == 1);
    const auto& seen = records[0];
    CHECK(seen.method == "POST");
    CHECK(seen.target == "/hooks/scim?x=1");
    CHECK(seen.raw_body == R"({"hello":"world"})");
    CHECK(seen.body.as_object().at("hello") == "world");
    CHECK(seen.headers.at("host") == "127.0.0.1:" + std::to_string(app.port()));
    CHECK(seen.headers.at("content-length") == "17");
    CHECK(seen.headers.at("user-agent").rfind("scim-bridge/", 0) == 0);
    CHECK(seen.headers.at("connection") == "keep-alive");
    CHECK(seen.headers.at("x-trace") == "abc");
}

TEST_CASE("http client: the caller cannot override framing headers or inject lines") {
    FakeApp app;
    HttpClient client(loopback_options());
    HttpRequest req = post(app.url());
    req.headers["Content-Length"] = "1";
    req.headers["Host"] = "evil.example";
    req.headers["Transfer-Encoding"] = "chunked";
    REQUIRE(send(client, req).outcome == Outcome::kOk);
    const auto seen = app.records().at(0);
    CHECK(seen.headers.at("content-length") == "17");
    CHECK(seen.headers.at("host") == "127.0.0.1:" + std::to_string(app.port()));
    CHECK(seen.headers.count("transfer-encoding") == 0);

    HttpRequest bad = post(app.url());
    bad.headers["X-Evil"] = "a\r\nX-Injected: 1";
    CHECK(send(client, bad).outcome == Outcome::kProtocolError);
    CHECK(app.request_count() == 1);
}

TEST_CASE("http client: TLS verifies the dev CA's certificate for an IP and for a host name") {
    FakeApp app(tls_app());
    app.respond_ok("acct-tls");
    HttpClient client(loopback_options());
    for (const std::string host : {"127.0.0.1", "localhost"}) {
        CAPTURE(host);
        const HttpResponse res = send(client, post(app.url("/hook", host)));
        REQUIRE(res.outcome == Outcome::kOk);
        CHECK(res.status == 200);
        CHECK(res.body == R"({"account_id":"acct-tls"})");
    }
}

TEST_CASE("http client: TLS fails with kTlsError under another CA, the system CAs, or no TLS") {
    FakeApp app(tls_app());
    // A second, unrelated development CA.
    scimbridge::e2e::TempDir other;
    const std::string cmd = scimbridge::e2e::source_dir() + "/certs/make-dev-certs.sh " +
                            other.path() + "/certs >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);  // NOLINT(cert-env33-c): our own script
    HttpClientOptions wrong = loopback_options();
    wrong.ca_file = other.path() + "/certs/ca.crt";
    HttpClient wrong_ca(wrong);
    HttpResponse res = send(wrong_ca, post(app.url()));
    CHECK(res.outcome == Outcome::kTlsError);
    CHECK(res.error.find("certificate") != std::string::npos);

    HttpClientOptions system = loopback_options();
    system.ca_file.clear();
    HttpClient system_cas(system);
    CHECK(send(system_cas, post(app.url())).outcome == Outcome::kTlsError);
    CHECK(app.request_count() == 0);

    // https:// to a plain HTTP server: never falls back to plaintext.
    FakeApp plain;
    HttpClient client(loopback_options());
    const std::string url = "https://127.0.0.1:" + std::to_string(plain.port()) + "/";
    CHECK(send(client, post(url)).outcome == Outcome::kTlsError);
    CHECK(plain.request_count() == 0);

    // A CA file that does not exist is a startup error.
    HttpClientOptions missing = loopback_options();
    missing.ca_file = other.path() + "/nope.crt";
    CHECK_THROWS_AS(HttpClient{missing}, std::runtime_error);
}

TEST_CASE("http client: TLS refuses a trusted certificate issued for another name") {
    // Signed by the dev CA, for wrong.example only; CN=localhost must not count (RFC 6125: the
    // subjectAltName decides when present).
    scimbridge::e2e::TempDir dir;
    const auto& ca = scimbridge::e2e::dev_certs();
    const std::string d = dir.path();
    const std::string cmd =
        "cd " + d + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-subj /CN=localhost -keyout leaf.key -out leaf.csr >/dev/null 2>&1 && "
        "printf 'subjectAltName=DNS:wrong.example\\n' > leaf.ext && "
        "openssl x509 -req -in leaf.csr -CA " + ca.ca() + " -CAkey " + ca.dir + "/ca.key "
        "-CAcreateserial -CAserial " + d + "/ca.srl -days 2 -extfile leaf.ext -out leaf.crt "
        ">/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);  // NOLINT(cert-env33-c): fixed command, temp dir
    FakeAppOptions options;
    options.tls = true;
    options.cert_file = d + "/leaf.crt";
    options.key_file = d + "/leaf.key";
    FakeApp app(options);
    HttpClient client(loopback_options());
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        CAPTURE(host);
        const HttpResponse res = send(client, post(app.url("/", host)));
        CHECK(res.outcome == Outcome::kTlsError);
        CHECK(res.error.find("mismatch") != std::string::npos);  // not another TLS failure
    }
    CHECK(app.request_count() == 0);
}

TEST_CASE("http client: URLs other than https are refused unless plain http is allowed") {
    HttpClientOptions strict;
    strict.allowed_cidrs = {"127.0.0.0/8"};
    HttpClient client(strict);
    HttpResponse res = send(client, post("http://127.0.0.1:9/"));
    CHECK(res.outcome == Outcome::kBadUrl);
    CHECK(res.error.find("https") != std::string::npos);
    for (const char* bad :
         {"", "example.com/hook", "ftp://example.com/", "https://user:pw@example.com/",
          "https:///path", "https://:443/", "https://example.com:0/", "https://example.com:65536/",
          "https://example.com:/", "https://exa mple.com/", "https://example.com/a b",
          "https://[::1/", "https://[nonsense]/", "https://ex%41mple.com/", "//example.com/"}) {
        CAPTURE(bad);
        CHECK(send(client, post(bad)).outcome == Outcome::kBadUrl);
    }
    HttpRequest weird = post("https://example.com/");
    weird.method = "BREW";
    CHECK(send(client, weird).outcome == Outcome::kBadUrl);
}

TEST_CASE("http client: URL parsing keeps host, port and target") {
    using scimbridge::server::parse_url;
    auto u = parse_url("HTTPS://Example.COM/a/b?c=d#frag");
    REQUIRE(u.has_value());
    CHECK(u->tls);
    CHECK(u->host == "example.com");
    CHECK(u->port == 443);
    CHECK(u->target == "/a/b?c=d");
    CHECK(u->host_header() == "example.com");
    u = parse_url("http://127.0.0.1:8080");
    REQUIRE(u.has_value());
    CHECK_FALSE(u->tls);
    CHECK(u->host_is_ip);
    CHECK(u->target == "/");
    CHECK(u->host_header() == "127.0.0.1:8080");
    u = parse_url("https://[::1]:8443?q");
    REQUIRE(u.has_value());
    CHECK(u->host == "::1");
    CHECK(u->host_is_ip);
    CHECK(u->target == "/?q");
    CHECK(u->host_header() == "[::1]:8443");
}

TEST_CASE("http client: the total deadline bounds an app that never answers") {
    FakeApp app;
    app.hang();
    HttpClient client(loopback_options());
    const auto deadline = 1500ms;
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse res = send(client, post(app.url(), "{}", deadline));
    CHECK(res.outcome == Outcome::kTimeout);
    CHECK(std::chrono::steady_clock::now() - start < deadline + 5s);
    CHECK(app.request_count() == 1);
    app.respond_ok();  // releases the hung request
}

TEST_CASE("http client: the total deadline bounds a slow-drip app (not a per-read timeout)") {
    FakeApp app;
    app.slow_drip(200ms);  // every read makes progress; the response takes ~30 s in all
    HttpClient client(loopback_options());
    const auto deadline = 1500ms;
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse res = send(client, post(app.url(), "{}", deadline));
    CHECK(res.outcome == Outcome::kTimeout);
    CHECK(std::chrono::steady_clock::now() - start < deadline + 5s);
}

TEST_CASE("http client: the total deadline bounds a TLS handshake that never completes") {
    // A listener that never accepts: the kernel completes the TCP handshake, nobody answers
    // the ClientHello.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor silent(
        ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    HttpClient client(loopback_options());
    const std::string url = "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse res = send(client, post(url, "{}", 1000ms));
    CHECK(res.outcome == Outcome::kTimeout);
    CHECK(std::chrono::steady_clock::now() - start < 1000ms + 5s);
}

TEST_CASE("http client: the total deadline bounds a hanging app over TLS") {
    FakeApp app(tls_app());
    app.hang();
    HttpClient client(loopback_options());
    const HttpResponse res = send(client, post(app.url(), "{}", 1500ms));
    CHECK(res.outcome == Outcome::kTimeout);
    app.respond_ok();
}

TEST_CASE("http client: redirects are returned, never followed") {
    FakeApp app;
    app.redirect();
    HttpClient client(loopback_options());
    const HttpResponse res = send(client, post(app.url("/hook")));
    REQUIRE(res.outcome == Outcome::kOk);
    CHECK(res.status == 307);
    CHECK(res.header("location") == app.url("/hook"));
    CHECK(app.request_count() == 1);
}

TEST_CASE("http client: a huge body is cut at 64 KiB and the connection is not reused") {
    FakeApp app;
    app.huge_body(1024 * 1024);
    HttpClient client(loopback_options());
    HttpResponse res = send(client, post(app.url()));
    REQUIRE(res.outcome == Outcome::kOk);
    CHECK(res.status == 200);
    CHECK(res.body.size() == 64 * 1024);
    CHECK(res.body_truncated);
    CHECK(res.header("content-length") == "1048576");

    // Exactly the cap is not truncated, and that connection goes back to the pool.
    app.huge_body(64 * 1024);
    res = send(client, post(app.url()));
    REQUIRE(res.outcome == Outcome::kOk);
    CHECK(res.body.size() == 64 * 1024);
    CHECK_FALSE(res.body_truncated);
    app.respond_ok();
    CHECK(send(client, post(app.url())).outcome == Outcome::kOk);
    CHECK(app.connections_accepted() == 2);
    CHECK(client.connections_opened() == 2);

    // The cap is configurable; over TLS too.
    FakeApp tls(tls_app());
    tls.huge_body(100000);
    HttpClientOptions small = loopback_options();
    small.max_body = 1000;
    HttpClient small_client(small);
    res = send(small_client, post(tls.url()));
    REQUIRE(res.outcome == Outcome::kOk);
    CHECK(res.body == std::string(1000, 'x'));
    CHECK(res.body_truncated);
}

TEST_CASE("http client: a reset connection is a connect or protocol error") {
    FakeApp app;
    app.reset();
    HttpClient client(loopback_options());
    const HttpResponse res = send(client, post(app.url()));
    CHECK((res.outcome == Outcome::kConnectError || res.outcome == Outcome::kProtocolError));
    CHECK(app.request_count() == 1);

    // Applied, then dropped: the app has it although the client saw an error.
    app.apply_then_drop();
    HttpRequest req = post(app.url());
    req.headers["webhook-id"] = "evt-dropped";
    const HttpResponse dropped = send(client, req);
    CHECK((dropped.outcome == Outcome::kConnectError ||
           dropped.outcome == Outcome::kProtocolError));
    CHECK(app.applied("evt-dropped"));
}

TEST_CASE("http client: SSRF guard refuses loopback, private and metadata targets") {
    FakeApp app;
    HttpClientOptions guarded;
    guarded.allow_plain_http = true;  // no allowed CIDRs: production's default
    HttpClient client(guarded);
    const std::string port = std::to_string(app.port());
    for (const std::string& url :
         {"http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/",
          "http://[::1]:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/",
          "http://2130706433:" + port + "/", "http://0.0.0.0:" + port + "/",
          std::string("http://169.254.169.254/latest/meta-data/"), std::string("http://10.0.0.1/"),
          std::string("http://192.168.1.1/"), std::string("http://[fe80::1]/"),
          std::string("http://100.64.0.1/")}) {
        CAPTURE(url);
        const HttpResponse res = send(client, post(url, "{}", 3s));
        CHECK(res.outcome == Outcome::kForbiddenTarget);
    }
    CHECK(app.connections_accepted() == 0);

    // Allowed explicitly: loopback passes, and nothing else does.
    HttpClientOptions allowed = guarded;
    allowed.allowed_cidrs = {"127.0.0.0/8"};
    HttpClient local(allowed);
    CHECK(send(local, post("http://127.0.0.1:" + port + "/")).outcome == Outcome::kOk);
    // The dual-stack spelling of an allowed address is allowed (it may still fail to connect
    // where IPv6 is off).
    CHECK(send(local, post("http://[::ffff:127.0.0.1]:" + port + "/")).outcome !=
          Outcome::kForbiddenTarget);
    CHECK(send(local, post("http://169.254.169.254/", "{}", 3s)).outcome ==
          Outcome::kForbiddenTarget);
    CHECK(send(local, post("http://[::1]:" + port + "/", "{}", 3s)).outcome ==
          Outcome::kForbiddenTarget);

    HttpClientOptions broken = guarded;
    broken.allowed_cidrs = {"127.0.0.0/33"};
    CHECK_THROWS_AS(HttpClient{broken}, std::invalid_argument);
}

TEST_CASE("http client: keep-alive sends 20 sequential requests on one connection") {
    for (const bool tls : {false, true}) {
        CAPTURE(tls);
        FakeApp app(tls ? tls_app() : FakeAppOptions{});
        HttpClient client(loopback_options());
        for (int i = 0; i < 20; ++i) {
            REQUIRE(send(client, post(app.url())).outcome == Outcome::kOk);
        }
        CHECK(app.request_count() == 20);
        CHECK(app.connections_accepted() == 1);
        CHECK(client.connections_opened() == 1);
        CHECK(client.connections_reused() == 19);
    }
}

TEST_CASE("http client: a pooled connection the app closed is replaced without an error") {
    FakeApp app;
    HttpClient client(loopback_options());
    REQUIRE(send(client, post(app.url())).outcome == Outcome::kOk);

    // Closed while idle (a restart, an idle timeout): noticed before reuse.
    app.close_connections();
    REQUIRE(app.wait_for_open_connections_at_most(0, 5s));
    CHECK(send(client, post(app.url())).outcome == Outcome::kOk);
    CHECK(app.connections_accepted() == 2);

    // Closed as the request arrives, before any byte of a response: sent once more on a fresh
    // connection.
    app.reset(1);
    const HttpResponse res = send(client, post(app.url()));
    CHECK(res.outcome == Outcome::kOk);
    CHECK(res.status == 200);
    CHECK(app.connections_accepted() == 3);
    CHECK(app.request_count() == 4);

    // A fresh connection that fails is not retried.
    app.reset(1);
    app.close_connections();
    REQUIRE(app.wait_for_open_connections_at_most(0, 5s));
    HttpClientOptions no_pool = loopback_options();
    no_pool.max_idle_per_host = 0;
    HttpClient unpooled(no_pool);
    const HttpResponse failed = send(unpooled, post(app.url()));
    CHECK(failed.outcome != Outcome::kOk);
}

TEST_CASE("http client: interim 1xx responses are skipped, and non-HTTP is a protocol error") {
    HttpClient client(loopback_options());
    {
        RawServer server(
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
            "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        const HttpResponse res = send(client, post(server.url()));
        REQUIRE(res.outcome == Outcome::kOk);
        CHECK(res.status == 201);
        CHECK(res.body == "ok");
    }
    {
        RawServer server("SSH-2.0-OpenSSH_9.2\r\n\r\n");
        CHECK(send(client, post(server.url())).outcome == Outcome::kProtocolError);
    }
    {
        // The header promises more body than arrives before the server closes.
        RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        CHECK(send(client, post(server.url())).outcome == Outcome::kConnectError);
    }
}

TEST_CASE("http client: 429 with Retry-After and injected statuses are returned as they are") {
    FakeApp app;
    app.throttle(7, 1);
    HttpClient client(loopback_options());
    HttpResponse res = send(client, post(app.url()));
    REQUIRE(res.outcome == Outcome::kOk);
    CHECK(res.status == 429);
    CHECK(res.header("retry-after") == "7");
    app.fail_with(503, 2);
    CHECK(send(client, post(app.url())).status == 503);
    CHECK(send(client, post(app.url())).status == 503);
    CHECK(send(client, post(app.url())).status == 200);
}

TEST_CASE("http client: many threads send at once, each on its own pooled connection") {
    FakeApp app;
    HttpClient client(loopback_options());
    constexpr int kThreads = 8;
    constexpr int kEach = 25;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) {
                if (client.send(post(app.url())).outcome == Outcome::kOk) {
                    ++ok;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(ok.load() == kThreads * kEach);
    CHECK(app.request_count() == kThreads * kEach);
    CHECK(app.connections_accepted() <= kThreads);
}

TEST_CASE("http client + fake app: signatures verified, each webhook-id applied once, order") {
    const std::string old_secret = scimbridge::mappers::generate_webhook_secret();
    const std::string new_secret = scimbridge::mappers::generate_webhook_secret();
    FakeAppOptions options;
    options.secrets = {old_secret};
    FakeApp app(options);
    HttpClient client(loopback_options());
    const auto signed_post = [&](const std::string& id, const std::string& resource,
                                 std::int64_t version, const std::vector<std::string>& secrets) {
        const std::string body = R"({"resource":{"id":")" + resource + R"(","version":)" +
                                 std::to_string(version) + "}}";
        const std::int64_t now = std::time(nullptr);
        HttpRequest r = post(app.url(), body);
        r.headers["webhook-id"] = id;
        r.headers["webhook-timestamp"] = std::to_string(now);
        r.headers["webhook-signature"] =
            scimbridge::mappers::signature_header(secrets, id, now, body);
        return client.send(r);
    };
    CHECK(signed_post("e1", "u1", 1, {old_secret}).status == 200);
    CHECK(signed_post("e1", "u1", 1, {old_secret}).status == 200);  // a redelivery
    CHECK(signed_post("e2", "u1", 2, {new_secret}).status == 401);  // app not rotated yet
    CHECK(app.invalid_signatures() == 1);
    CHECK(signed_post("e2", "u1", 2, {old_secret, new_secret}).status == 200);
    app.set_secrets({new_secret});
    CHECK(signed_post("e3", "u2", 5, {new_secret}).status == 200);
    CHECK(signed_post("e4", "u2", 4, {new_secret}).status == 200);  // out of order

    CHECK(app.wait_for_applied(4, 5s));
    CHECK(app.applied_count() == 4);
    CHECK(app.attempts("e1") == 2);
    CHECK(app.attempts("e2") == 2);
    const auto records = app.records();
    REQUIRE(records.size() == 6);
    CHECK(records[0].applied);
    CHECK_FALSE(records[1].applied);
    CHECK(records[1].attempt == 2);
    CHECK(records[2].signature_valid == false);
    CHECK(app.applied_versions().at("u1") == std::vector<std::int64_t>{1, 2});
    const auto order = app.check_order();
    CHECK_FALSE(order.ok);
    REQUIRE(order.violations.size() == 1);
    CHECK(order.violations[0] == "u2: version 4 applied after 5");
    app.clear();
    CHECK(app.request_count() == 0);
    CHECK(app.check_order().ok);
}
}
