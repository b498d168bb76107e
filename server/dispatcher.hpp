#pragma once
// Dispatch is a pure, total function from request to response: no sockets, testable by hand.
//
//   session (I/O strand): TLS, read header + body with limits and deadlines
//      │  hop to the worker pool (database work never runs on I/O threads)
//      ▼
//   Dispatcher::handle(request)          noexcept
//      ├─ request id (X-Request-Id accepted when sane, else made; always echoed)
//      ├─ route match                    404 / 405 + Allow
//      ├─ auth by the route's Access     401 + WWW-Authenticate: Bearer, 403
//      ├─ handler(context)               decode → service → render
//      ├─ DatabaseUnavailable            503
//      └─ anything else                  500 with the request id; cause logged
//      ▼
//   metrics + one access-log line (route pattern, never the raw path or any credential)

#include "server/credentials.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"

#include <string>
#include <string_view>

namespace scimbridge::server {

class Dispatcher {
public:
    Dispatcher(const Router& router, Credentials& credentials, Metrics& metrics)
        : router_(router), credentials_(credentials), metrics_(metrics) {}

    // secure: the request arrived over TLS (for the URLs the response names); peer: the address
    // that connected.
    Response handle(Request request, bool secure = true,
                    const boost::asio::ip::address& peer = {}) noexcept;

private:
    const Router& router_;
    Credentials& credentials_;
    Metrics& metrics_;
};

// The request id to use: the client's X-Request-Id when it is 1..128 characters of
// [A-Za-z0-9._:-], else a new random one.
std::string request_id_for(const Request& request);

// A new request id: 16 hex digits, unique in practice (not secret, not for tokens).
std::string fresh_request_id();

// Whether a request only reads (GET, HEAD, POST to a /.search endpoint), so it runs on the read
// workers, whose number is held near PostgreSQL's cores; the others (writes, which spend part of
// their time waiting for the commit to reach the disk) run on the write workers.
bool reads_only(http::verb method, std::string_view target);

}  // namespace scimbridge::server
