// A closed-loop HTTP load generator for scim-bridge benchmarks: N keep-alive connections (plain
// or TLS), each sending the next request when the previous answer arrives, for a fixed time.
// Prints one JSON line: requests, errors, req/s, p50/p90/p99/max latency in milliseconds.
//   http_bench --port P [--tls CA_FILE] [--path /x] [--token T] [--connections 8] [--seconds 10]
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
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
    std::string path = "/healthz";
    std::string token;
    int connections = 8;
    int seconds = 10;
};

struct Totals {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    long errors = 0;
};

template <class Stream>
void loop(Stream& stream, const Options& o, Clock::time_point until, Totals& totals) {
    http::request<http::empty_body> req{http::verb::get, o.path, 11};
    req.set(http::field::host, "localhost");
    if (!o.token.empty()) {
        req.set(http::field::authorization, "Bearer " + o.token);
    }
    req.keep_alive(true);
    std::vector<double> mine;
    long errors = 0;
    beast::flat_buffer buffer;
    while (Clock::now() < until) {
        const auto t0 = Clock::now();
        beast::error_code ec;
        http::write(stream, req, ec);
        http::response<http::string_body> res;
        if (!ec) {
            http::read(stream, buffer, res, ec);
        }
        if (ec) {
            ++errors;
            break;
        }
        if (res.result_int() >= 400) {
            ++errors;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    const std::lock_guard lock(totals.mutex);
    totals.latencies_ms.insert(totals.latencies_ms.end(), mine.begin(), mine.end());
    totals.errors += errors;
}

void worker(const Options& o, Clock::time_point until, Totals& totals) {
    net::io_context ioc;
    const net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), o.port);
    if (o.ca.empty()) {
        beast::tcp_stream stream(ioc);
        stream.connect(ep);
        loop(stream, o, until, totals);
        return;
    }
    ssl::context ctx{ssl::context::tls_client};
    ctx.load_verify_file(o.ca);
    ctx.set_verify_mode(ssl::verify_peer);
    ssl::stream<beast::tcp_stream> stream(ioc, ctx);
    beast::get_lowest_layer(stream).connect(ep);
    stream.handshake(ssl::stream_base::client);
    loop(stream, o, until, totals);
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[i];
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
        } else if (k == "--token") {
            o.token = v;
        } else if (k == "--connections") {
            o.connections = std::stoi(v);
        } else if (k == "--seconds") {
            o.seconds = std::stoi(v);
        }
    }
    Totals totals;
    const auto start = Clock::now();
    const auto until = start + std::chrono::seconds(o.seconds);
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
        threads.emplace_back([&] {
            try {
                worker(o, until, totals);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "connection failed: %s\n", e.what());
                const std::lock_guard lock(totals.mutex);
                ++totals.errors;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    auto& l = totals.latencies_ms;
    std::sort(l.begin(), l.end());
    std::printf(
        "{\"requests\":%zu,\"errors\":%ld,\"rps\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
        l.size(), totals.errors, static_cast<double>(l.size()) / elapsed, percentile(l, 0.50),
        percentile(l, 0.90), percentile(l, 0.99), l.empty() ? 0.0 : l.back());
    return totals.errors == 0 ? 0 : 1;
}
