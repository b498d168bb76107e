#include "tests/e2e/harness.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace scimbridge::e2e {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The child's environment: ours, minus variables that would change what the test means
// (DATABASE_URL, SCIM_BRIDGE_*), plus `env`.
std::vector<std::string> child_environment(const Env& env) {
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const std::string name = entry.substr(0, entry.find('='));
        if (name == "DATABASE_URL" || name.rfind("SCIM_BRIDGE_", 0) == 0 ||
            env.count(name) != 0) {
            continue;
        }
        out.push_back(entry);
    }
    for (const auto& [k, v] : env) {
        out.push_back(k + "=" + v);
    }
    return out;
}

int spawn(const std::vector<std::string>& argv, const Env& env, const std::string& out_path,
          const std::string& err_path) {
    std::vector<std::string> env_strings = child_environment(env);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int in = open("/dev/null", O_RDONLY);
        dup2(out, 1);
        dup2(err, 2);
        dup2(in, 0);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
    return pid;
}

std::optional<int> wait_pid(int pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// SSL_set_tlsext_host_name is a macro with an old-style cast.
void set_sni(SSL* ssl) {
    static char kHost[] = "localhost";
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kHost);
}

ssl::context client_context(int max_version) {
    ssl::context ctx{ssl::context::tls_client};
    ctx.load_verify_file(dev_certs().ca());
    ctx.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    if (max_version < TLS1_2_VERSION) {
        // Let the client offer old protocols so that it is the server that refuses them.
        SSL_CTX_set_security_level(ctx.native_handle(), 0);
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
        SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
    }
    return ctx;
}

http::request<http::string_body> make_request(const RequestSpec& spec) {
    http::request<http::string_body> req{spec.method, spec.target, 11};
    req.set(http::field::host, "localhost");
    if (!spec.token.empty()) {
        req.set(http::field::authorization, "Bearer " + spec.token);
    }
    for (const auto& [k, v] : spec.headers) {
        req.set(k, v);
    }
    req.body() = spec.body;
    req.keep_alive(false);
    req.prepare_payload();
    return req;
}

}  // namespace

std::string binary_path() { return SCIM_BRIDGE_BINARY; }
std::string source_dir() { return SCIM_BRIDGE_SOURCE_DIR; }

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sbe2e.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
    chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

const DevCerts& dev_certs() {
    static const DevCerts certs = [] {
        static TempDir dir;  // lives until the test process ends
        DevCerts c{dir.path() + "/certs"};
        const std::string cmd =
            source_dir() + "/certs/make-dev-certs.sh " + c.dir + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) {  // NOLINT(cert-env33-c): our own script, fixed path
            throw std::runtime_error("certs/make-dev-certs.sh failed");
        }
        return c;
    }();
    return certs;
}

std::string CliResult::last_line() const {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') {
        s.pop_back();
    }
    const auto nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
}

CliResult run_cli(const std::vector<std::string>& args, const Env& env) {
    TempDir dir;
    std::vector<std::string> argv = {binary_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const int pid = spawn(argv, env, dir.path() + "/out", dir.path() + "/err");
    CliResult r;
    r.exit_code = wait_pid(pid, std::chrono::seconds(120)).value_or(-1);
    r.out = read_file(dir.path() + "/out");
    r.err = read_file(dir.path() + "/err");
    return r;
}

ServerProcess::ServerProcess(std::vector<std::string> args, const Env& env, bool with_tls,
                             bool with_http) {
    std::vector<std::string> argv = {binary_path(), "serve"};
    if (with_tls) {
        argv.insert(argv.end(), {"--listen", "127.0.0.1:0", "--tls-cert", dev_certs().cert(),
                                 "--tls-key", dev_certs().key()});
    } else {
        argv.insert(argv.end(), {"--listen", "off"});
    }
    if (with_http) {
        argv.insert(argv.end(), {"--http-listen", "127.0.0.1:0"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    // The test PostgreSQL runs with fsync off (disposable data), which serve refuses unless told.
    if (std::find(args.begin(), args.end(), "--allow-unsafe-durability") == args.end()) {
        argv.insert(argv.end(), {"--allow-unsafe-durability", "true"});
    }
    log_path_ = dir_.path() + "/server.log";
    pid_ = spawn(argv, env, dir_.path() + "/stdout", log_path_);

    static const std::regex kListening(
        R"re("msg":"listening","scheme":"(https?)","address":"[^"]*","port":(\d+))re");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
        const std::string text = read_file(log_path_);
        for (auto it = std::sregex_iterator(text.begin(), text.end(), kListening);
             it != std::sregex_iterator(); ++it) {
            const auto port = static_cast<unsigned short>(std::stoi((*it)[2]));
            ((*it)[1] == "https" ? tls_port_ : http_port_) = port;
        }
        if ((!with_tls || tls_port_ != 0) && (!with_http || http_port_ != 0)) {
            return;
        }
        if (!running() || std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("server did not start; log:\n" + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

ServerProcess::~ServerProcess() {
    if (running()) {
        kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(10));
    }
}

void ServerProcess::signal(int signo) const { kill(pid_, signo); }

bool ServerProcess::running() {
    if (exit_code_) {
        return false;
    }
    exit_code_ = wait_pid(pid_, std::chrono::milliseconds(0));
    return !exit_code_.has_value();
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (!exit_code_) {
        exit_code_ = wait_pid(pid_, timeout);
    }
    return exit_code_;
}

std::string ServerProcess::log() const { return read_file(log_path_); }

Response https_request(unsigned short port, const RequestSpec& spec) {
    net::io_context ioc;
    ssl::context ctx = client_context(TLS1_3_VERSION);
    ssl::stream<beast::tcp_stream> stream(ioc, ctx);
    set_sni(stream.native_handle());
    stream.set_verify_callback(ssl::host_name_verification("localhost"));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    auto req = make_request(spec);
    http::write(stream, req);
    beast::flat_buffer buffer;
    Response res;
    http::read(stream, buffer, res);
    beast::error_code ignored;
    stream.shutdown(ignored);
    return res;
}

Response http_request(unsigned short port, const RequestSpec& spec) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    auto req = make_request(spec);
    http::write(stream, req);
    beast::flat_buffer buffer;
    Response res;
    http::read(stream, buffer, res);
    return res;
}

bool tls_handshake_succeeds(unsigned short port, int max_version) {
    net::io_context ioc;
    ssl::context ctx = client_context(max_version);
    ssl::stream<beast::tcp_stream> stream(ioc, ctx);
    set_sni(stream.native_handle());
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    return !ec;
}

std::string raw_exchange(unsigned short port, bool tls, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
    net::io_context ioc;
    ssl::context ctx = client_context(TLS1_3_VERSION);
    ssl::stream<beast::tcp_stream> tls_stream(ioc, ctx);
    beast::tcp_stream& tcp_stream = beast::get_lowest_layer(tls_stream);
    tcp_stream.expires_after(timeout);
    tcp_stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    std::string received;
    char buf[4096];
    const auto exchange = [&](auto& stream) {
        net::write(stream, net::buffer(bytes), ec);
        for (;;) {
            const std::size_t n = stream.read_some(net::buffer(buf), ec);
            received.append(buf, n);
            if (ec) {
                break;
            }
        }
    };
    if (tls) {
        set_sni(tls_stream.native_handle());
        tls_stream.handshake(ssl::stream_base::client);
        exchange(tls_stream);
    } else {
        exchange(tcp_stream);
    }
    return received;
}

}  // namespace scimbridge::e2e
