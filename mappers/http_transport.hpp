#pragma once
// The outbound HTTP port of the connectors. mappers/ builds requests and reads answers; the edge
// (server/http_client.cpp, Beast + OpenSSL) implements it with the limits every downstream call
// needs: a total deadline, no redirects followed, a bounded response body, TLS verification and
// the SSRF guard (loopback, private and link-local addresses refused unless allowed).

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace scimbridge::mappers {

struct HttpRequest {
    std::string method = "POST";  // GET POST PUT PATCH DELETE
    std::string url;              // https://host[:port]/path?query (http:// only where allowed)
    std::map<std::string, std::string> headers;  // Host, Content-Length and User-Agent are added
    std::string body;
    std::chrono::milliseconds deadline{15000};  // connect + TLS + write + read, all of it
    // Response body cap: webhook answers are small; directory pages ask for more. The transport
    // never reads more than 16 MiB, whatever is asked.
    std::size_t max_body = 64 * 1024;
};

struct HttpResponse {
    // Transport outcome. kOk means a complete HTTP response was read (any status).
    enum class Outcome {
        kOk,
        kTimeout,       // the deadline passed
        kConnectError,  // refused, reset, unreachable, DNS failure
        kTlsError,      // handshake or certificate verification failed
        kForbiddenTarget,  // the SSRF guard refused the address
        kBadUrl,        // not a URL this transport accepts
        kProtocolError  // not HTTP, or the response broke framing
    };
    Outcome outcome = Outcome::kOk;
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;            // at most the request's body cap (max_body)
    bool body_truncated = false;
    std::string error;           // human-readable cause when outcome != kOk

    std::optional<std::string> header(const std::string& lower_name) const {
        const auto it = headers.find(lower_name);
        if (it == headers.end()) {
            return std::nullopt;
        }
        return it->second;
    }
};

// Blocking; safe to call from several threads at once (implementations keep per-thread state).
class HttpTransport {
public:
    virtual ~HttpTransport() = default;
    virtual HttpResponse send(const HttpRequest& request) = 0;
};

}  // namespace scimbridge::mappers
