#include "server/http_server.hpp"

#include "server/log.hpp"
#include "server/responses.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <stdexcept>

namespace scimbridge::server {

namespace beast = boost::beast;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::seconds kTlsShutdownTimeout{5};

// Errors that are the normal end of a connection, not worth a log line.
bool is_routine(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
           ec == net::error::eof || ec == net::error::connection_reset ||
           ec == ssl::error::stream_truncated || ec == beast::error::timeout;
}

// A malformed request (bad method, bad header, bad chunk...), as opposed to a network event.
bool is_http_parse_error(const beast::error_code& ec) {
    return ec && ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message &&
           ec != http::error::need_more && ec != http::error::need_buffer;
}

void log_io_error(const beast::error_code& ec, const char* what) {
    if (is_routine(ec)) {
        log::debug("connection ended", {{"stage", what}, {"error", ec.message()}});
        return;
    }
    log::warn("connection error", {{"stage", what}, {"error", ec.message()}});
}

template <class Stream>
beast::tcp_stream& tcp_of(Stream& stream) {
    return beast::get_lowest_layer(stream);
}

// Runs handle() on the worker pool and resumes the awaiting coroutine (on its strand) with the
// response: one post to the pool and one back. co_spawn added a coroutine frame and a second
// hand-off into the pool per request; without them /healthz went from 24,000 to 35,000
// requests/s, and a lookup costs 3.9 context switches instead of 5.6. The work guard keeps the
// I/O context running while the request is away.
template <class Handle>
auto on_workers(net::thread_pool& workers, Handle handle) {
    return net::async_initiate<const net::use_awaitable_t<>&, void(Response)>(
        [&workers](auto resume, Handle job) {
            auto io = net::get_associated_executor(resume);
            net::post(workers, [resume = std::move(resume), job = std::move(job),
                                work = net::make_work_guard(io)]() mutable {
                Response response = job();
                auto to = work.get_executor();
                net::post(to, [resume = std::move(resume), response = std::move(response)]() mutable {
                    std::move(resume)(std::move(response));
                });
            });
        },
        net::use_awaitable, std::move(handle));
}

}  // namespace

struct HttpServer::SessionState {
    std::uint64_t id = 0;
    net::any_io_executor executor;  // the connection's strand; set before the state is shared
    bool idle = false;   // waiting for the next request (touched on the session's strand only)
    bool alive = true;   // the coroutine frame (and its stream) still exists
    beast::tcp_stream* tcp = nullptr;
};

Limits limits_from(const Config& c) {
    return Limits{c.max_body_bytes, c.max_header_bytes, c.handshake_timeout, c.read_timeout,
                  c.write_timeout,  c.idle_timeout,     c.shutdown_grace};
}

HttpServer::HttpServer(net::io_context& ioc, Workers workers, Dispatcher& dispatcher,
                       Metrics& metrics, const Limits& limits)
    : ioc_(ioc),
      workers_(workers),
      dispatcher_(dispatcher),
      metrics_(metrics),
      limits_(limits),
      control_(net::make_strand(ioc)),
      grace_timer_(control_) {}

HttpServer::~HttpServer() = default;

ListenAddress HttpServer::listen(const ListenAddress& address, ssl::context* tls) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto results = resolver.resolve(address.host, std::to_string(address.port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service,
                                          ec);
    if (ec || results.empty()) {
        throw std::runtime_error("cannot listen on " + address.to_string() + ": " +
                                 (ec ? ec.message() : "host not found"));
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    auto acceptor = std::make_unique<tcp::acceptor>(control_);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor->set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor->bind(endpoint, ec);
    }
    if (!ec) {
        acceptor->listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::runtime_error("cannot listen on " + address.to_string() + ": " + ec.message());
    }
    const tcp::endpoint bound = acceptor->local_endpoint();
    ListenAddress result{bound.address().to_string(), bound.port()};
    log::info("listening", {{"scheme", tls != nullptr ? "https" : "http"},
                            {"address", result.to_string()},
                            {"port", result.port}});
    net::co_spawn(control_, accept_loop(*acceptor, tls), net::detached);
    acceptors_.push_back(std::move(acceptor));
    return result;
}

net::awaitable<void> HttpServer::accept_loop(tcp::acceptor& acceptor, ssl::context* tls) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(ioc_), kUseTuple);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // e.g. EMFILE: back off briefly instead of spinning.
            log::warn("accept failed", {{"error", ec.message()}});
            net::steady_timer pause(control_, std::chrono::milliseconds(50));
            co_await pause.async_wait(kUseTuple);
            continue;
        }
        const auto executor = socket.get_executor();
        net::co_spawn(executor, run_session(std::move(socket), tls), net::detached);
    }
}

net::awaitable<void> HttpServer::run_session(tcp::socket socket, ssl::context* tls) {
    auto state = std::make_shared<SessionState>();
    state->executor = socket.get_executor();
    {
        const std::lock_guard lock(sessions_mutex_);
        state->id = ++next_session_id_;
        sessions_.emplace(state->id, state);
    }
    try {
        if (tls == nullptr) {
            beast::tcp_stream stream(std::move(socket));
            state->tcp = &stream;
            co_await serve_requests(stream, *state, false);
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        } else {
            ssl::stream<beast::tcp_stream> stream(std::move(socket), *tls);
            state->tcp = &tcp_of(stream);
            tcp_of(stream).expires_after(limits_.handshake_timeout);
            auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
            if (ec) {
                log_io_error(ec, "handshake");
            } else {
                co_await serve_requests(stream, *state, true);
                tcp_of(stream).expires_after(kTlsShutdownTimeout);
                auto [sec] = co_await stream.async_shutdown(kUseTuple);
                if (sec) {
                    log_io_error(sec, "tls shutdown");
                }
            }
        }
    } catch (const std::exception& e) {
        log::error("session failed", {{"error", e.what()}});
    }
    state->alive = false;
    state->tcp = nullptr;
    session_ended(state->id);
}

template <class Stream>
net::awaitable<void> HttpServer::serve_requests(Stream& stream, SessionState& state,
                                                bool secure) {
    beast::tcp_stream& lowest = tcp_of(stream);
    boost::system::error_code peer_error;
    const net::ip::address peer = lowest.socket().remote_endpoint(peer_error).address();
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
        parser.body_limit(limits_.max_body_bytes);

        state.idle = true;
        if (draining_.load()) {
            co_return;
        }
        lowest.expires_after(first ? limits_.read_timeout : limits_.idle_timeout);
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
        state.idle = false;
        first = false;

        std::optional<scim::Error> reject;
        if (hec == http::error::header_limit) {
            reject = scim::Error::header_too_large("request header exceeds " +
                                                   std::to_string(limits_.max_header_bytes) +
                                                   " bytes");
        } else if (hec == http::error::body_limit) {
            reject = scim::Error::payload_too_large(
                "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
        } else if (hec == http::error::end_of_stream || hec == net::error::operation_aborted) {
            co_return;
        } else if (is_http_parse_error(hec)) {
            // Any other HTTP parse error: the request is malformed.
            reject = scim::Error::bad_request("malformed HTTP request: " + hec.message());
        } else if (hec) {
            log_io_error(hec, "read header");
            co_return;
        }

        if (!reject) {
            if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                http::response<http::empty_body> cont{http::status::continue_, 11};
                lowest.expires_after(limits_.write_timeout);
                auto [cec, cn] = co_await http::async_write(stream, cont, kUseTuple);
                if (cec) {
                    log_io_error(cec, "write 100-continue");
                    co_return;
                }
            }
            // A request without a body (most GETs) is complete with its header: no second read,
            // which would only post its completion through the strand.
            beast::error_code bec;
            if (!parser.is_done()) {
                lowest.expires_after(limits_.read_timeout);
                auto [ec, bn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
                bec = ec;
            }
            if (bec == http::error::body_limit) {
                reject = scim::Error::payload_too_large(
                    "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
            } else if (is_http_parse_error(bec)) {
                reject = scim::Error::bad_request("malformed HTTP request: " + bec.message());
            } else if (bec) {
                log_io_error(bec, "read body");
                co_return;
            }
        }

        if (reject) {
            // The rest of the request was not read, so the connection cannot be reused.
            const unsigned version = parser.is_header_done() ? parser.get().version() : 11;
            Response res = render_error(*reject, version, false);
            const std::string request_id =
                parser.is_header_done() ? request_id_for(parser.get()) : fresh_request_id();
            res.set("X-Request-Id", request_id);
            metrics_.record_request("(edge)", "-", res.result_int(), std::chrono::nanoseconds(0));
            log::info("request rejected", {{"request_id", request_id},
                                           {"status", res.result_int()},
                                           {"reason", reject->detail}});
            lowest.expires_after(limits_.write_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, kUseTuple);
            if (wec) {
                log_io_error(wec, "write");
            }
            co_return;
        }

        Request request = parser.release();
        net::thread_pool& workers =
            reads_only(request.method(), request.target()) ? workers_.reads : workers_.writes;
        // A named local, not a temporary in the co_await expression (GCC 12 mishandles those).
        auto job = [this, secure, &peer, request = std::move(request)]() mutable noexcept {
            return dispatcher_.handle(std::move(request), secure, peer);
        };
        Response response = co_await on_workers(workers, std::move(job));
        const bool keep_alive = response.keep_alive() && !draining_.load();
        response.keep_alive(keep_alive);
        lowest.expires_after(limits_.write_timeout);
        auto [wec, wn] = co_await http::async_write(stream, response, kUseTuple);
        if (wec) {
            log_io_error(wec, "write");
            co_return;
        }
        if (!keep_alive) {
            co_return;
        }
    }
}

void HttpServer::session_ended(std::uint64_t id) {
    bool last = false;
    {
        const std::lock_guard lock(sessions_mutex_);
        sessions_.erase(id);
        last = sessions_.empty();
    }
    if (last && draining_.load()) {
        net::post(control_, [this] { grace_timer_.cancel(); });
    }
}

void HttpServer::shutdown() {
    net::post(control_, [this] {
        if (draining_.exchange(true)) {
            return;
        }
        log::info("shutting down: no new connections; finishing requests in flight");
        for (auto& acceptor : acceptors_) {
            beast::error_code ignored;
            acceptor->close(ignored);
        }
        std::vector<std::shared_ptr<SessionState>> open;
        {
            const std::lock_guard lock(sessions_mutex_);
            for (const auto& [id, state] : sessions_) {
                open.push_back(state);
            }
        }
        for (const auto& state : open) {
            // Runs on the session's strand, so idle/alive/tcp cannot change underneath.
            net::dispatch(state->executor, [state] {
                if (state->alive && state->idle && state->tcp != nullptr) {
                    state->tcp->cancel();
                }
            });
        }
        if (open.empty()) {
            return;
        }
        grace_timer_.expires_after(limits_.shutdown_grace);
        grace_timer_.async_wait([this](const beast::error_code& ec) {
            if (ec) {
                return;  // every session ended in time
            }
            log::warn("shutdown grace period over; closing remaining connections");
            ioc_.stop();
        });
    });
}

}  // namespace scimbridge::server
