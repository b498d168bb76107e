// A closed-loop HTTP load generator for scim-bridge benchmarks: N keep-alive connections (plain
// or TLS), each sending the next request when the previous answer arrives, for a fixed time or a
// fixed number of requests. Prints one JSON line: requests, errors, req/s, p50/p90/p99/max ms.
//   http_bench --port P [--tls CA_FILE] [--method GET] [--path /x] [--body TEMPLATE]
//              [--token T] [--connections 8] [--seconds 10] [--requests N] [--ids FILE]
// In --path and --body, {seq} is a number unique across the run, and {id} / {name} are the
// first / second tab-separated column of a random line of --ids.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
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
    http::verb method = http::verb::get;
    std::string path = "/healthz";
    std::string body;
    std::string token;
    int connections = 8;
    int seconds = 10;
    long requests = 0;  // 0: run for `seconds`
    std::vector<std::pair<std::string, std::string>> ids;
};

std::atomic<long> g_seq{0};
std::atomic<long> g_budget{0};

std::string expand(const std::string& text, long seq, const std::pair<std::string, std::string>* row) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (text.compare(i, 5, "{seq}") == 0) {
            out += std::to_string(seq);
            i += 5;
        } else if (row != nullptr && text.compare(i, 4, "{id}") == 0) {
            out += row->first;
            i += 4;
        } else if (row != nullptr && text.compare(i, 6, "{name}") == 0) {
            out += row->second;
            i += 6;
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

struct Totals {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    long errors = 0;
};

template <class Stream>
void loop(Stream& stream, const Options& o, Clock::time_point until, Totals& totals) {
    std::mt19937_64 rng(std::random_device{}());
    std::vector<double> mine;
    long errors = 0;
    beast::flat_buffer buffer;
    while (Clock::now() < until) {
        if (o.requests > 0 && g_budget.fetch_sub(1) <= 0) {
            break;
        }
        const long seq = g_seq.fetch_add(1);
        const std::pair<std::string, std::string>* row =
            o.ids.empty() ? nullptr : &o.ids[rng() % o.ids.size()];
        http::request<http::string_body> req{o.method, expand(o.path, seq, row), 11};
        req.set(http::field::host, "localhost");
        if (!o.token.empty()) {
            req.set(http::field::authorization, "Bearer " + o.token);
        }
        if (!o.body.empty()) {
            req.set(http::field::content_type, "application/scim+json");
            req.body() = expand(o.body, seq, row);
        }
        req.keep_alive(true);
        req.prepare_payload();
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
            if (errors == 0) {
                std::fprintf(stderr, "HTTP %u: %s\n", res.result_int(), res.body().c_str());
            }
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
                const auto tab = line.find('\t');
                o.ids.emplace_back(line.substr(0, tab),
                                   tab == std::string::npos ? "" : line.substr(tab + 1));
            }
        } else if (k == "--token") {
            o.token = v;
        } else if (k == "--connections") {
            o.connections = std::stoi(v);
        } else if (k == "--seconds") {
            o.seconds = std::stoi(v);
        }
    }
    Totals totals;
    g_budget = o.requests;
    const auto start = Clock::now();
    const auto until = start + std::chrono::seconds(o.requests > 0 ? 3600 : o.seconds);
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
