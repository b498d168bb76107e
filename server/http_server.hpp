#pragma once
// The HTTP/1.1 edge: acceptors (TLS and, when asked for, plain HTTP), one coroutine per
// connection on its own strand, limits and deadlines on every read and write, and a graceful
// drain. Requests are handed to a worker pool, which runs the Dispatcher: the read workers for
// requests that only read (reads_only), the write workers for the others.

#include "server/config.hpp"
#include "server/dispatcher.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace scimbridge::server {

namespace net = boost::asio;

struct Limits {
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds read_timeout{30'000};
    std::chrono::milliseconds write_timeout{30'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds shutdown_grace{25'000};
};

Limits limits_from(const Config& config);

// The worker pools requests run on, each sized to its share of the connection pool.
struct Workers {
    net::thread_pool& reads;
    net::thread_pool& writes;
};

class HttpServer {
public:
    HttpServer(net::io_context& ioc, Workers workers, Dispatcher& dispatcher, Metrics& metrics,
               const Limits& limits);
    ~HttpServer();

    // Binds and starts accepting; returns the bound address (port 0 → the port chosen).
    // Throws std::runtime_error "cannot listen on ...: reason".
    ListenAddress listen(const ListenAddress& address, net::ssl::context* tls);

    // Stop accepting, close idle keep-alive connections, let requests in flight finish (each
    // answered with Connection: close), and cut what is left after the grace period.
    // Thread-safe; io_context::run returns once everything has ended.
    void shutdown();

private:
    struct SessionState;
    net::awaitable<void> accept_loop(net::ip::tcp::acceptor& acceptor, net::ssl::context* tls);
    net::awaitable<void> run_session(net::ip::tcp::socket socket, net::ssl::context* tls);
    template <class Stream>
    net::awaitable<void> serve_requests(Stream& stream, SessionState& state, bool secure);
    void session_ended(std::uint64_t id);

    net::io_context& ioc_;
    Workers workers_;
    Dispatcher& dispatcher_;
    Metrics& metrics_;
    Limits limits_;
    net::strand<net::io_context::executor_type> control_;
    std::vector<std::unique_ptr<net::ip::tcp::acceptor>> acceptors_;
    net::steady_timer grace_timer_;
    std::atomic<bool> draining_{false};

    std::mutex sessions_mutex_;
    std::uint64_t next_session_id_ = 0;
    std::map<std::uint64_t, std::shared_ptr<SessionState>> sessions_;
};

}  // namespace scimbridge::server
