#include "server/http_client.hpp"

#include "server/address_policy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <fstream>
#include <stdexcept>

namespace scimbridge::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using mappers::HttpRequest;
using mappers::HttpResponse;
using Outcome = HttpResponse::Outcome;

namespace {

// How long past the deadline an I/O operation may take to notice it (the stream's own timer
// fires at the deadline; this only guards against a stuck operation).
constexpr std::chrono::seconds kGrace{1};
constexpr std::size_t kReadChunk = 16 * 1024;
// The most any request may ask to read (HttpRequest::max_body): directory pages, never more.
constexpr std::size_t kMaxRequestBody = std::size_t{16} * 1024 * 1024;

HttpResponse failure(Outcome outcome, std::string why) {
    HttpResponse r;
    r.outcome = outcome;
    r.error = std::move(why);
    return r;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = ascii_lower(c);
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

// RFC 9110 token characters.
bool valid_field_name(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    for (const char c : name) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

bool valid_field_value(std::string_view value) {
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers the client owns: framing and connection management are never the caller's.
bool is_reserved_header(std::string_view name) {
    return iequals(name, "host") || iequals(name, "content-length") ||
           iequals(name, "transfer-encoding") || iequals(name, "connection") ||
           iequals(name, "keep-alive") || iequals(name, "upgrade") || iequals(name, "te");
}

// Records the completion of one asynchronous operation; shared with the handler so that an
// abandoned operation (a DNS lookup past the deadline) can still complete harmlessly later.
struct Completion {
    bool done = false;
    beast::error_code ec;
    std::size_t bytes = 0;
    tcp::resolver::results_type endpoints;
};

struct Completer {
    std::shared_ptr<Completion> c;
    void operator()(beast::error_code ec) const { finish(ec); }
    void operator()(beast::error_code ec, std::size_t n) const {
        c->bytes = n;
        finish(ec);
    }
    void operator()(beast::error_code ec, const tcp::endpoint& /*connected*/) const { finish(ec); }
    void operator()(beast::error_code ec, tcp::resolver::results_type results) const {
        c->endpoints = std::move(results);
        finish(ec);
    }
    void finish(beast::error_code ec) const {
        c->ec = ec;
        c->done = true;
    }
};

struct Connection {
    std::string key;
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
    Clock::time_point idle_since;

    beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }

    // A cheap look before reuse: a peer that closed the idle connection has sent a FIN.
    bool looks_alive() {
        if (buffer.size() != 0) {
            return false;
        }
        char byte = 0;
        const ssize_t n =
            ::recv(tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) {
            return false;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        // Plain HTTP: bytes before a request are not ours to read. TLS: a post-handshake
        // record (session ticket) is normal; a close_notify shows up as a failed reuse.
        return tls != nullptr;
    }
};

enum class Stage { kConnect, kHandshake, kWrite, kRead };

const char* to_string(Stage stage) {
    switch (stage) {
        case Stage::kConnect: return "connect";
        case Stage::kHandshake: return "TLS handshake";
        case Stage::kWrite: return "write";
        case Stage::kRead: return "read";
    }
    return "?";
}

HttpResponse io_failure(Stage stage, const beast::error_code& ec, Clock::time_point deadline,
                        const std::string& where) {
    if (ec == beast::error::timeout || Clock::now() >= deadline) {
        return failure(Outcome::kTimeout,
                       std::string("deadline passed during ") + to_string(stage) + " (" + where +
                           ")");
    }
    std::string why = std::string(to_string(stage)) + " failed (" + where + "): " + ec.message();
    switch (stage) {
        case Stage::kConnect:
        case Stage::kWrite:
            return failure(Outcome::kConnectError, std::move(why));
        case Stage::kHandshake:
            return failure(Outcome::kTlsError, std::move(why));
        case Stage::kRead:
            break;
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == ssl::error::stream_truncated) {
        return failure(Outcome::kConnectError,
                       "connection closed before a complete response (" + where + ")");
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
        return failure(Outcome::kProtocolError, "not a valid HTTP response (" + where +
                                                    "): " + ec.message());
    }
    if (ec.category() == net::error::get_ssl_category()) {
        return failure(Outcome::kTlsError, std::move(why));
    }
    return failure(Outcome::kConnectError, std::move(why));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// URL parsing

std::string ParsedUrl::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) {
        h += ":" + std::to_string(port);
    }
    return h;
}

std::optional<ParsedUrl> parse_url(std::string_view url, std::string* why) {
    const auto fail = [why](const char* reason) -> std::optional<ParsedUrl> {
        if (why != nullptr) {
            *why = reason;
        }
        return std::nullopt;
    };
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            return fail("the URL contains whitespace, control or non-ASCII characters");
        }
    }
    ParsedUrl out;
    const auto colon = url.find("://");
    if (colon == std::string_view::npos) {
        return fail("not an absolute http(s) URL");
    }
    const std::string scheme = lower(url.substr(0, colon));
    if (scheme == "https") {
        out.tls = true;
        out.port = 443;
    } else if (scheme == "http") {
        out.tls = false;
        out.port = 80;
    } else {
        return fail("the URL scheme must be https (or http where allowed)");
    }
    std::string_view rest = url.substr(colon + 3);
    const auto authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view tail =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        return fail("user information in URLs is not accepted");
    }
    std::string_view host;
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return fail("unterminated IPv6 literal in the URL");
        }
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return fail("unexpected characters after the IPv6 literal");
            }
            port_text = after.substr(1);
        }
        boost::system::error_code ec;
        const auto address = net::ip::make_address_v6(std::string(host), ec);
        if (ec || host.find('%') != std::string_view::npos) {
            return fail("not a valid IPv6 literal");
        }
        out.host = address.to_string();
        out.host_is_ip = true;
    } else {
        const auto port_colon = authority.find(':');
        host = authority.substr(0, port_colon);
        if (port_colon != std::string_view::npos) {
            port_text = authority.substr(port_colon + 1);
        }
        for (const char c : host) {
            const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                            (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
            if (!ok) {
                return fail("the host contains characters not allowed in a host name");
            }
        }
        out.host = lower(host);
        while (!out.host.empty() && out.host.back() == '.') {
            out.host.pop_back();  // "example.com." is example.com
        }
        boost::system::error_code ec;
        const auto address = net::ip::make_address_v4(out.host, ec);
        out.host_is_ip = !ec;
        if (out.host_is_ip) {
            out.host = address.to_string();
        }
    }
    if (out.host.empty()) {
        return fail("the URL has no host");
    }
    if (authority.find(':') != std::string_view::npos && authority.back() == ':') {
        return fail("empty port in the URL");
    }
    if (!port_text.empty()) {
        unsigned value = 0;
        for (const char c : port_text) {
            if (c < '0' || c > '9' || value > 65535) {
                return fail("the port must be a number from 1 to 65535");
            }
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) {
            return fail("the port must be a number from 1 to 65535");
        }
        out.port = static_cast<unsigned short>(value);
    }
    const auto hash = tail.find('#');
    tail = tail.substr(0, hash);
    if (tail.empty()) {
        out.target = "/";
    } else if (tail.front() == '?') {
        out.target = "/" + std::string(tail);
    } else {
        out.target = std::string(tail);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// The client

struct HttpClient::Impl {
    HttpClientOptions options;
    std::vector<Cidr> allowed;
    ssl::context tls{ssl::context::tls_client};

    explicit Impl(HttpClientOptions o) : options(std::move(o)) {
        for (const auto& text : options.allowed_cidrs) {
            auto cidr = parse_cidr(text);
            if (!cidr) {
                throw std::invalid_argument("not a CIDR: " + text);
            }
            allowed.push_back(*cidr);
        }
        tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1 | ssl::context::no_compression);
        SSL_CTX* native = tls.native_handle();
        SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
        SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
        tls.set_verify_mode(ssl::verify_peer);
        boost::system::error_code ec;
        if (options.ca_file.empty()) {
            tls.set_default_verify_paths(ec);
            if (ec) {
                throw std::runtime_error("cannot load the system CA certificates: " +
                                         ec.message());
            }
        } else {
            if (!std::ifstream(options.ca_file)) {
                throw std::runtime_error("cannot read CA file " + options.ca_file);
            }
            tls.load_verify_file(options.ca_file, ec);
            if (ec) {
                throw std::runtime_error("cannot load CA file " + options.ca_file + ": " +
                                         ec.message());
            }
        }
    }
};

struct HttpClient::PerThread {
    HttpClient& client;
    Impl& impl;
    net::io_context io;
    std::map<std::string, std::deque<std::unique_ptr<Connection>>> idle;

    PerThread(HttpClient& c, Impl& i) : client(c), impl(i) {}

    HttpResponse send(const HttpRequest& request);

private:
    struct Exchange {
        HttpResponse response;
        bool reusable = false;
        bool nothing_received = false;  // failed before a byte of the response arrived
    };

    // Runs this thread's io_context until `c` completes (true) or `limit` passes (false).
    bool drive(const Completion& c, Clock::time_point limit) {
        io.restart();
        while (!c.done) {
            if (io.run_one_until(limit) == 0) {
                if (c.done) {
                    break;
                }
                if (io.stopped() || Clock::now() >= limit) {
                    return false;
                }
            }
        }
        return true;
    }

    // An I/O operation on `conn`, bounded by the stream's deadline (and, should the stream not
    // notice it, by closing the socket shortly after).
    template <class Start>
    Completion io_op(Connection& conn, Clock::time_point deadline, Start&& start) {
        auto c = std::make_shared<Completion>();
        start(Completer{c});
        if (!drive(*c, deadline + kGrace)) {
            conn.tcp().close();
            drive(*c, Clock::now() + std::chrono::seconds(60));
            c->ec = beast::error::timeout;
        }
        return *c;
    }

    std::unique_ptr<Connection> take_idle(const std::string& key);
    void put_idle(std::unique_ptr<Connection> conn);
    std::unique_ptr<Connection> open(const ParsedUrl& url, const std::string& key,
                                     Clock::time_point deadline, HttpResponse& error);
    Exchange exchange(Connection& conn, const http::request<http::string_body>& request,
                      std::size_t body_cap, Clock::time_point deadline, const std::string& where);
    template <class Stream>
    Exchange exchange_on(Stream& stream, Connection& conn,
                         const http::request<http::string_body>& request, std::size_t body_cap,
                         Clock::time_point deadline, const std::string& where);
};

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

HttpClient::PerThread& HttpClient::this_thread_state() {
    const std::lock_guard lock(threads_mutex_);
    auto& slot = threads_[std::this_thread::get_id()];
    if (!slot) {
        slot = std::make_unique<PerThread>(*this, *impl_);
    }
    return *slot;
}

HttpResponse HttpClient::send(const HttpRequest& request) {
    return this_thread_state().send(request);
}

std::unique_ptr<Connection> HttpClient::PerThread::take_idle(const std::string& key) {
    const auto it = idle.find(key);
    if (it == idle.end()) {
        return nullptr;
    }
    auto& list = it->second;
    const auto now = Clock::now();
    while (!list.empty()) {
        std::unique_ptr<Connection> conn = std::move(list.back());  // most recently used first
        list.pop_back();
        if (now - conn->idle_since < impl.options.max_idle_time && conn->looks_alive()) {
            return conn;
        }
    }
    return nullptr;
}

void HttpClient::PerThread::put_idle(std::unique_ptr<Connection> conn) {
    if (impl.options.max_idle_per_host == 0) {
        return;
    }
    conn->tcp().expires_never();
    conn->idle_since = Clock::now();
    auto& list = idle[conn->key];
    list.push_back(std::move(conn));
    while (list.size() > impl.options.max_idle_per_host) {
        list.pop_front();
    }
    // Drop connections that idled too long, to any host.
    const auto now = Clock::now();
    for (auto& [key, conns] : idle) {
        while (!conns.empty() && now - conns.front()->idle_since >= impl.options.max_idle_time) {
            conns.pop_front();
        }
    }
}

std::unique_ptr<Connection> HttpClient::PerThread::open(const ParsedUrl& url,
                                                        const std::string& key,
                                                        Clock::time_point deadline,
                                                        HttpResponse& error) {
    const std::string where = url.host_header();

    // 1. Resolve (an IP literal needs no lookup). The lookup runs on Asio's resolver thread; if
    // it outlives the deadline it is abandoned, and completes into its own Completion later.
    std::vector<tcp::endpoint> candidates;
    if (url.host_is_ip) {
        candidates.emplace_back(net::ip::make_address(url.host), url.port);
    } else {
        tcp::resolver resolver(io);
        auto c = std::make_shared<Completion>();
        resolver.async_resolve(url.host, std::to_string(url.port),
                               tcp::resolver::numeric_service, Completer{c});
        if (!drive(*c, deadline)) {
            error = failure(Outcome::kTimeout, "deadline passed during DNS lookup (" + where + ")");
            return nullptr;
        }
        if (c->ec || c->endpoints.empty()) {
            error = failure(Outcome::kConnectError,
                            "cannot resolve " + url.host + ": " +
                                (c->ec ? c->ec.message() : std::string("no addresses")));
            return nullptr;
        }
        for (const auto& entry : c->endpoints) {
            candidates.push_back(entry.endpoint());
        }
    }

    // 2. The SSRF guard: every address the name has must be allowed, so that which one a
    // connect (or a rebinding DNS server) picks cannot matter.
    for (const auto& endpoint : candidates) {
        if (!target_allowed(endpoint.address(), impl.allowed)) {
            error = failure(Outcome::kForbiddenTarget,
                            url.host + " resolves to " + endpoint.address().to_string() + " (" +
                                std::string(to_string(classify_address(endpoint.address()))) +
                                "), which is not an allowed target");
            return nullptr;
        }
    }

    // 3. Connect to the vetted addresses only.
    auto conn = std::make_unique<Connection>();
    conn->key = key;
    if (url.tls) {
        conn->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(io, impl.tls);
    } else {
        conn->plain = std::make_unique<beast::tcp_stream>(io);
    }
    beast::tcp_stream& tcp_stream = conn->tcp();
    tcp_stream.expires_at(deadline);
    const Completion connected = io_op(*conn, deadline, [&](Completer done) {
        tcp_stream.async_connect(candidates, std::move(done));
    });
    if (connected.ec) {
        error = io_failure(Stage::kConnect, connected.ec, deadline, where);
        return nullptr;
    }
    beast::error_code ec;
    const tcp::endpoint peer = tcp_stream.socket().remote_endpoint(ec);
    if (ec || !target_allowed(peer.address(), impl.allowed)) {
        error = failure(Outcome::kForbiddenTarget, "connected peer is not an allowed target");
        return nullptr;
    }
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);
    client.connections_opened_.fetch_add(1);

    // 4. TLS: SNI for names (never for IP literals, RFC 6066), and OpenSSL checks the
    // certificate against the name or the IP (RFC 6125: SAN only, no partial wildcards).
    if (url.tls) {
        SSL* native = conn->tls->native_handle();
        X509_VERIFY_PARAM* param = SSL_get0_param(native);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = 0;
        if (url.host_is_ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
        } else {
            // SSL_set_tlsext_host_name is a macro with an old-style cast.
            ok = static_cast<int>(SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                           TLSEXT_NAMETYPE_host_name,
                                           const_cast<char*>(url.host.c_str()))) == 1 &&
                 SSL_set1_host(native, url.host.c_str()) == 1;
        }
        if (ok != 1) {
            error = failure(Outcome::kTlsError, "cannot set up TLS verification for " + where);
            return nullptr;
        }
        const Completion shaken = io_op(*conn, deadline, [&](Completer done) {
            conn->tls->async_handshake(ssl::stream_base::client, std::move(done));
        });
        if (shaken.ec) {
            error = io_failure(Stage::kHandshake, shaken.ec, deadline, where);
            const long verify = SSL_get_verify_result(native);
            if (error.outcome == Outcome::kTlsError && verify != X509_V_OK) {
                error.error += std::string(" (certificate: ") +
                               X509_verify_cert_error_string(verify) + ")";
            }
            return nullptr;
        }
    }
    return conn;
}

HttpClient::PerThread::Exchange HttpClient::PerThread::exchange(
    Connection& conn, const http::request<http::string_body>& request, std::size_t body_cap,
    Clock::time_point deadline, const std::string& where) {
    conn.tcp().expires_at(deadline);
    if (conn.tls) {
        return exchange_on(*conn.tls, conn, request, body_cap, deadline, where);
    }
    return exchange_on(*conn.plain, conn, request, body_cap, deadline, where);
}

template <class Stream>
HttpClient::PerThread::Exchange HttpClient::PerThread::exchange_on(
    Stream& stream, Connection& conn, const http::request<http::string_body>& request,
    std::size_t body_cap, Clock::time_point deadline, const std::string& where) {
    Exchange out;
    const Completion written = io_op(conn, deadline, [&](Completer done) {
        http::async_write(stream, request, std::move(done));
    });
    if (written.ec) {
        out.response = io_failure(Stage::kWrite, written.ec, deadline, where);
        out.nothing_received = true;
        return out;
    }

    // Interim 1xx responses (100 Continue, 103 Early Hints) are skipped: the final one follows.
    std::optional<http::response_parser<http::buffer_body>> final_parser;
    bool interim_seen = false;
    for (;;) {
        auto& p = final_parser.emplace();
        p.header_limit(static_cast<std::uint32_t>(impl.options.max_header));
        p.body_limit(boost::none);  // the cap below keeps what we read; the rest is not read
        if (request.method() == http::verb::head) {
            p.skip(true);
        }
        const Completion header = io_op(conn, deadline, [&](Completer done) {
            http::async_read_header(stream, conn.buffer, p, std::move(done));
        });
        if (header.ec) {
            out.response = io_failure(Stage::kRead, header.ec, deadline, where);
            out.nothing_received = !interim_seen && !p.got_some() && conn.buffer.size() == 0;
            return out;
        }
        const unsigned status = p.get().result_int();
        if (status < 100 || status >= 200 || status == 101) {
            break;
        }
        interim_seen = true;
    }
    auto& parser = *final_parser;

    HttpResponse& res = out.response;
    std::array<char, kReadChunk> chunk{};
    const std::size_t cap = body_cap;
    while (!parser.is_done()) {
        const std::size_t want = std::min(chunk.size(), cap + 1 - res.body.size());
        auto& body = parser.get().body();
        body.data = chunk.data();
        body.size = want;
        const Completion got = io_op(conn, deadline, [&](Completer done) {
            http::async_read(stream, conn.buffer, parser, std::move(done));
        });
        res.body.append(chunk.data(), want - parser.get().body().size);
        if (got.ec && got.ec != http::error::need_buffer) {
            HttpResponse failed = io_failure(Stage::kRead, got.ec, deadline, where);
            out.response = std::move(failed);
            return out;
        }
        if (res.body.size() > cap) {
            res.body.resize(cap);
            res.body_truncated = true;  // and the connection is closed: the rest is never read
            break;
        }
    }

    const auto& message = parser.get();
    res.outcome = Outcome::kOk;
    res.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
        const std::string name = lower(field.name_string());
        const auto [it, inserted] = res.headers.emplace(name, std::string(field.value()));
        if (!inserted) {
            it->second += ", ";
            it->second += field.value();
        }
    }
    out.reusable = !res.body_truncated && parser.is_done() && message.keep_alive() &&
                   res.status != 101 && conn.buffer.size() == 0;
    return out;
}

HttpResponse HttpClient::PerThread::send(const HttpRequest& request) {
    const auto deadline = Clock::now() + request.deadline;

    std::string why;
    const auto url = parse_url(request.url, &why);
    if (!url) {
        return failure(Outcome::kBadUrl, why);
    }
    if (!url->tls && !impl.options.allow_plain_http) {
        return failure(Outcome::kBadUrl, "plain http:// is not allowed; use https://");
    }
    const http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
        return failure(Outcome::kBadUrl, "unsupported HTTP method " + request.method);
    }

    http::request<http::string_body> message{verb, url->target, 11};
    for (const auto& [name, value] : request.headers) {
        if (!valid_field_name(name) || !valid_field_value(value)) {
            return failure(Outcome::kProtocolError, "invalid request header " + name);
        }
        if (!is_reserved_header(name)) {
            message.insert(name, value);
        }
    }
    message.set(http::field::host, url->host_header());
    if (message.find(http::field::user_agent) == message.end()) {
        message.set(http::field::user_agent, impl.options.user_agent);
    }
    message.set(http::field::connection, "keep-alive");
    message.body() = request.body;
    message.prepare_payload();

    const std::string key = std::string(url->tls ? "https://" : "http://") + url->host + ":" +
                            std::to_string(url->port);
    const std::string where = url->host_header();
    // A request that keeps the default cap gets the client's configured one; one that asks for
    // its own (directory pages) gets that, up to kMaxRequestBody.
    static const std::size_t kDefaultRequestCap = HttpRequest{}.max_body;
    const std::size_t body_cap = std::min(
        request.max_body == kDefaultRequestCap ? impl.options.max_body : request.max_body,
        kMaxRequestBody);

    // A pooled connection the server has closed meanwhile is not an error: if nothing of the
    // response arrived on it, the request goes once more on a fresh connection.
    std::unique_ptr<Connection> conn = take_idle(key);
    for (;;) {
        const bool reused = conn != nullptr;
        if (!reused) {
            HttpResponse error;
            conn = open(*url, key, deadline, error);
            if (!conn) {
                return error;
            }
        } else {
            client.connections_reused_.fetch_add(1);
        }
        Exchange result = exchange(*conn, message, body_cap, deadline, where);
        if (result.response.outcome == Outcome::kOk) {
            if (result.reusable) {
                put_idle(std::move(conn));
            }
            return std::move(result.response);
        }
        const bool stale = reused && result.nothing_received &&
                           result.response.outcome != Outcome::kTimeout;
        if (!stale) {
            return std::move(result.response);
        }
        idle.erase(key);  // its siblings most likely went the same way
        conn.reset();
    }
}

}  // namespace scimbridge::server
