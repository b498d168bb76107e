// An HTTP load generator for scim-bridge benchmarks: N keep-alive connections (plain or TLS),
// closed loop by default (each sends the next request when the previous answer arrives), for a
// fixed time or a fixed number of requests. Prints one JSON line: requests, errors, req/s, p50/p90/p99/max ms.
//   http_bench --port P [--tls CA_FILE] [--method GET] [--path /x] [--body TEMPLATE]
//              [--token T] [--connections 8] [--threads 1] [--seconds 10] [--requests N]
//              [--ids FILE] [--rate R] [--latencies FILE]
// --rate R makes it open-loop, like wrk2: request n is due at start + n/R (R per second over all
// connections), goes out on a free connection at or after that time, and its latency counts from
// when it was due, so a stall is charged to every request it delayed (no coordinated omission).
// Give it enough connections for R × the expected latency; a late request never makes up a slot.
// --latencies FILE appends every request's latency (ms, one per line), so that windows can be
// pooled into one distribution (the mean of windows' p99s is not a p99).
// In --path and --body, {seq} is a number unique across the run, and {id} / {name} / {col3} /
// {col4} are the first / second / third / fourth tab-separated column of a random line of --ids
// (percent-encoded in --path, as they are in a query string; verbatim in --body); {parity} is
// false / true by the parity of {seq}. --ids-in-order true takes line {seq} % n instead.
//   http_bench --port P [--tls CA_FILE] [--token T] --walk /scim/v2/Users?count=1000
// walks a list with RFC 9865 cursors on one connection: PATH&cursor= first, then
// PATH&cursor=<nextCursor> until a page has no nextCursor. Prints users (Resources seen), pages,
// seconds, users_per_s, cursor_supported (false when the first page has no nextCursor) and
// complete (false when --walk-max-seconds S stopped it first).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    unsigned short port = 0;
    std::string ca;
    http::verb method = http::verb::get;
    std::string path = "/healthz";
    std::string body;
    std::string token;
    int connections = 8;
    int threads = 1;  // event loops the connections are spread over
    int seconds = 10;
    long requests = 0;  // 0: run for `seconds`
    std::vector<std::vector<std::string>> ids;  // tab-separated columns of --ids
    bool ids_in_order = false;                   // --ids-in-order: line seq % n, not a random one
    std::string walk;                            // --walk PATH: cursor walk mode
    int walk_max_seconds = 0;                    // --walk-max-seconds: stop a walk early (0: never)
    double rate = 0;                             // --rate: requests/s, open loop (0: closed loop)
    std::string latencies;                       // --latencies FILE: append each latency (ms)
    Clock::time_point start;                     // when request 0 is due (open loop)
};

std::atomic<long> g_seq{0};
std::atomic<long> g_budget{0};

// Percent-encodes everything but unreserved characters and '@' (a value inside a query string).
std::string url_encode(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '@') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4U]);
            out.push_back(kHex[c & 15U]);
        }
    }
    return out;
}

std::string expand(const std::string& text, long seq, const std::vector<std::string>* row,
                   bool encode) {
    static const char* const kColumns[] = {"{id}", "{name}", "{col3}", "{col4}"};
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (text.compare(i, 5, "{seq}") == 0) {
            out += std::to_string(seq);
            i += 5;
            continue;
        }
        if (text.compare(i, 8, "{parity}") == 0) {
            out += seq % 2 == 0 ? "false" : "true";
            i += 8;
            continue;
        }
        bool matched = false;
        for (std::size_t c = 0; row != nullptr && c < 4; ++c) {
            const std::string key = kColumns[c];
            if (text.compare(i, key.size(), key) == 0) {
                const std::string value = c < row->size() ? (*row)[c] : std::string();
                out += encode ? url_encode(value) : value;
                i += key.size();
                matched = true;
                break;
            }
        }
        if (!matched) {
            out.push_back(text[i++]);
        }
    }
    return out;
}

// What one event loop's connections measured (each loop has its own: no locking per request).
struct Tally {
    std::vector<double> latencies_ms;
    long errors = 0;
};

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// One connection's closed loop: the next request goes out when the previous answer is in.
// Connections are coroutines multiplexed on --threads event loops (default 1), like wrk: a
// thread per connection would spend the cores the server is measured on in wake-ups.
template <class Stream>
net::awaitable<void> loop(Stream& stream, const Options& o, Clock::time_point until, Tally& tally) {
    std::mt19937_64 rng(std::random_device{}());
    beast::flat_buffer buffer;
    while (Clock::now() < until) {
        if (o.requests > 0 && g_budget.fetch_sub(1) <= 0) {
            break;
        }
        const long seq = g_seq.fetch_add(1);
        Clock::time_point due{};
        if (o.rate > 0) {
            due = o.start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(seq) / o.rate));
            if (due >= until) {
                break;
            }
            if (Clock::now() < due) {
                net::steady_timer timer(co_await net::this_coro::executor, due);
                co_await timer.async_wait(kUseTuple);
            }
        }
        const std::vector<std::string>* row =
            o.ids.empty() ? nullptr
                          : &o.ids[o.ids_in_order ? static_cast<std::size_t>(seq) % o.ids.size()
                                                  : rng() % o.ids.size()];
        http::request<http::string_body> req{o.method, expand(o.path, seq, row, true), 11};
        req.set(http::field::host, "localhost");
        if (!o.token.empty()) {
            req.set(http::field::authorization, "Bearer " + o.token);
        }
        if (!o.body.empty()) {
            req.set(http::field::content_type, "application/scim+json");
            req.body() = expand(o.body, seq, row, false);
        }
        req.keep_alive(true);
        req.prepare_payload();
        const auto t0 = o.rate > 0 ? due : Clock::now();
        auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
        http::response<http::string_body> res;
        beast::error_code ec = wec;
        if (!ec) {
            auto [rec, rn] = co_await http::async_read(stream, buffer, res, kUseTuple);
            ec = rec;
        }
        if (ec) {
            ++tally.errors;
            break;
        }
        if (res.result_int() >= 400) {
            if (tally.errors == 0) {
                std::fprintf(stderr, "HTTP %u: %s\n", res.result_int(), res.body().c_str());
            }
            ++tally.errors;
        }
        tally.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
}

// Connects (plain, or TLS verified against --tls) and runs the loop on that connection.
net::awaitable<void> connection(const Options& o, ssl::context* tls, Clock::time_point until,
                                Tally& tally) {
    const net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), o.port);
    auto ex = co_await net::this_coro::executor;
    try {
        if (tls == nullptr) {
            beast::tcp_stream stream(ex);
            co_await stream.async_connect(ep, net::use_awaitable);
            co_await loop(stream, o, until, tally);
        } else {
            ssl::stream<beast::tcp_stream> stream(ex, *tls);
            co_await beast::get_lowest_layer(stream).async_connect(ep, net::use_awaitable);
            co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
            co_await loop(stream, o, until, tally);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "connection failed: %s\n", e.what());
        ++tally.errors;
    }
}

// Opens one connection to the server (plain, or TLS verified against --tls) and runs fn on it
// (the blocking cursor walk).
template <class Fn>
auto on_connection(const Options& o, Fn&& fn) {
    net::io_context ioc;
    const net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), o.port);
    if (o.ca.empty()) {
        beast::tcp_stream stream(ioc);
        stream.connect(ep);
        return fn(stream);
    }
    ssl::context ctx{ssl::context::tls_client};
    ctx.load_verify_file(o.ca);
    ctx.set_verify_mode(ssl::verify_peer);
    ssl::stream<beast::tcp_stream> stream(ioc, ctx);
    beast::get_lowest_layer(stream).connect(ep);
    stream.handshake(ssl::stream_base::client);
    return fn(stream);
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[i];
}

// One GET on a keep-alive stream; the status and body.
template <class Stream>
std::pair<unsigned, std::string> get(Stream& stream, beast::flat_buffer& buffer, const Options& o,
                                     const std::string& target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    if (!o.token.empty()) {
        req.set(http::field::authorization, "Bearer " + o.token);
    }
    req.keep_alive(true);
    http::write(stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1U << 30U);
    http::read(stream, buffer, parser);
    return {parser.get().result_int(), std::move(parser.get().body())};
}

template <class Stream>
int walk_on(Stream& stream, const Options& o) {
    const std::string base = o.walk + (o.walk.find('?') == std::string::npos ? "?" : "&") + "cursor=";
    beast::flat_buffer buffer;
    long users = 0;
    long pages = 0;
    bool supported = true;
    bool complete = true;
    std::string cursor;
    const auto start = Clock::now();
    for (;;) {
        if (o.walk_max_seconds > 0 && Clock::now() - start >= std::chrono::seconds(o.walk_max_seconds)) {
            complete = false;
            break;
        }
        auto [status, body] = get(stream, buffer, o, base + url_encode(cursor));
        if (status != 200) {
            std::fprintf(stderr, "HTTP %u: %s\n", status, body.c_str());
            if (pages == 0) {
                supported = false;
                break;
            }
            return 1;
        }
        ++pages;
        const boost::json::value page = boost::json::parse(body);
        const boost::json::object& obj = page.as_object();
        if (const auto* r = obj.if_contains("Resources"); r != nullptr && r->is_array()) {
            users += static_cast<long>(r->as_array().size());
        }
        const auto* next = obj.if_contains("nextCursor");
        if (next == nullptr || !next->is_string() || next->as_string().empty()) {
            if (pages == 1 && obj.if_contains("nextCursor") == nullptr &&
                obj.if_contains("previousCursor") == nullptr) {
                // RFC 9865: a page that is not the last carries nextCursor. None on the first
                // page of a list that holds more than it: the server does not do cursors.
                const auto* total = obj.if_contains("totalResults");
                if (total != nullptr && total->is_int64() && total->as_int64() > users) {
                    supported = false;
                }
            }
            break;
        }
        cursor = std::string(next->as_string());
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("{\"users\":%ld,\"pages\":%ld,\"seconds\":%.3f,\"users_per_s\":%.0f,"
                "\"cursor_supported\":%s,\"complete\":%s}\n",
                users, pages, seconds, seconds > 0 ? static_cast<double>(users) / seconds : 0.0,
                supported ? "true" : "false", complete ? "true" : "false");
    return 0;
}

int walk(const Options& o) {
    return on_connection(o, [&](auto& stream) { return walk_on(stream, o); });
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const std::string v = argv[i + 1];
        if (k == "--port") {
            o.port = static_cast<unsigned short>(std::stoi(v));
        } else if (k == "--tls") {
            o.ca = v;
        } else if (k == "--path") {
            o.path = v;
        } else if (k == "--method") {
            o.method = http::string_to_verb(v);
        } else if (k == "--body") {
            o.body = v;
        } else if (k == "--requests") {
            o.requests = std::stol(v);
        } else if (k == "--ids") {
            std::ifstream in(v);
            std::string line;
            while (std::getline(in, line)) {
                std::vector<std::string> cols;
                std::size_t from = 0;
                for (std::size_t tab = line.find('\t'); tab != std::string::npos;
                     tab = line.find('\t', from)) {
                    cols.push_back(line.substr(from, tab - from));
                    from = tab + 1;
                }
                cols.push_back(line.substr(from));
                o.ids.push_back(std::move(cols));
            }
        } else if (k == "--ids-in-order") {
            o.ids_in_order = v == "true";
        } else if (k == "--token") {
            o.token = v;
        } else if (k == "--threads") {
            o.threads = std::stoi(v);
        } else if (k == "--connections") {
            o.connections = std::stoi(v);
        } else if (k == "--seconds") {
            o.seconds = std::stoi(v);
        } else if (k == "--walk") {
            o.walk = v;
        } else if (k == "--rate") {
            o.rate = std::stod(v);
        } else if (k == "--walk-max-seconds") {
            o.walk_max_seconds = std::stoi(v);
        } else if (k == "--latencies") {
            o.latencies = v;
        }
    }
    if (!o.walk.empty()) {
        try {
            return walk(o);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "walk failed: %s\n", e.what());
            return 1;
        }
    }
    g_budget = o.requests;
    std::optional<ssl::context> tls;
    if (!o.ca.empty()) {
        tls.emplace(ssl::context::tls_client);
        tls->load_verify_file(o.ca);
        tls->set_verify_mode(ssl::verify_peer);
    }
    const int loops = std::clamp(o.threads, 1, std::max(1, o.connections));
    std::vector<Tally> tallies(static_cast<std::size_t>(loops));
    const auto start = Clock::now();
    o.start = start + std::chrono::milliseconds(50);  // the connections are open by then
    // Open loop: R × seconds requests are due, from o.start on.
    const auto until =
        (o.rate > 0 ? o.start : start) + std::chrono::seconds(o.requests > 0 ? 3600 : o.seconds);
    std::vector<std::thread> threads;
    for (int t = 0; t < loops; ++t) {
        threads.emplace_back([&, t] {
            net::io_context ioc(1);
            Tally& tally = tallies[static_cast<std::size_t>(t)];
            for (int c = t; c < o.connections; c += loops) {
                net::co_spawn(ioc, connection(o, tls ? &*tls : nullptr, until, tally), net::detached);
            }
            ioc.run();
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    Tally totals;
    for (Tally& t : tallies) {
        totals.latencies_ms.insert(totals.latencies_ms.end(), t.latencies_ms.begin(), t.latencies_ms.end());
        totals.errors += t.errors;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    auto& l = totals.latencies_ms;
    std::sort(l.begin(), l.end());
    if (!o.latencies.empty()) {
        if (FILE* f = std::fopen(o.latencies.c_str(), "a"); f != nullptr) {
            for (const double ms : l) std::fprintf(f, "%.3f\n", ms);
            std::fclose(f);
        }
    }
    std::printf(
        "{\"requests\":%zu,\"errors\":%ld,\"rps\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
        l.size(), totals.errors, static_cast<double>(l.size()) / elapsed, percentile(l, 0.50),
        percentile(l, 0.90), percentile(l, 0.99), l.empty() ? 0.0 : l.back());
    return totals.errors == 0 ? 0 : 1;
}
