#pragma once
// End-to-end harness: runs the real scim-bridge binary as a child process and talks to it over
// real sockets (TLS via Beast + OpenSSL, verifying the development CA made by certs/).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scimbridge::e2e {

namespace http = boost::beast::http;
using Response = http::response<http::string_body>;
using Env = std::map<std::string, std::string>;  // value "" with key prefixed '-' removes a var

std::string binary_path();
std::string source_dir();

// A private temporary directory (mode 0755 so that the postgres user can reach a cluster in it).
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// certs/make-dev-certs.sh, run once per test process.
struct DevCerts {
    std::string dir;
    std::string ca() const { return dir + "/ca.crt"; }
    std::string cert() const { return dir + "/server.crt"; }
    std::string key() const { return dir + "/server.key"; }
};
const DevCerts& dev_certs();

struct CliResult {
    int exit_code = -1;
    std::string out;
    std::string err;
    std::string last_line() const;
};

// Runs `scim-bridge ARGS...` to completion.
CliResult run_cli(const std::vector<std::string>& args, const Env& env = {});

class ServerProcess {
public:
    // Starts `scim-bridge serve ARGS...`; with_tls adds --listen 127.0.0.1:0 and the dev certs,
    // with_http adds --http-listen 127.0.0.1:0. Waits until every listener is up.
    ServerProcess(std::vector<std::string> args, const Env& env, bool with_tls = true,
                  bool with_http = false);
    ~ServerProcess();  // SIGKILL if still running
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    unsigned short tls_port() const { return tls_port_; }
    unsigned short http_port() const { return http_port_; }
    void signal(int signo) const;
    bool running();
    // Exit code, or nullopt if it did not exit in time.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    std::string log() const;

private:
    int pid_ = -1;
    std::optional<int> exit_code_;
    std::string log_path_;
    TempDir dir_;
    unsigned short tls_port_ = 0;
    unsigned short http_port_ = 0;
};

struct RequestSpec {
    http::verb method = http::verb::get;
    std::string target = "/";
    std::string token;
    std::string body;
    std::map<std::string, std::string> headers;
};

// One request on a new TLS connection (Connection: close). Throws on I/O errors.
Response https_request(unsigned short port, const RequestSpec& spec);
// The same over plain HTTP.
Response http_request(unsigned short port, const RequestSpec& spec);

// Whether a TLS handshake succeeds when the client offers at most `max_version`
// (TLS1_1_VERSION, TLS1_2_VERSION, ...).
bool tls_handshake_succeeds(unsigned short port, int max_version);

// Writes raw bytes (over TLS or plain), then reads until the server closes or the timeout.
// Write errors after the server answered early (e.g. 413) are ignored: the answer is returned.
std::string raw_exchange(unsigned short port, bool tls, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace scimbridge::e2e
