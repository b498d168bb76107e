#include "tests/support/fake_smtp.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <list>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "server/tls.hpp"

namespace scimbridge::tests {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxCommandLine = 4096;
constexpr std::size_t kMaxMessage = 10 * 1024 * 1024;
constexpr std::string_view kCrlf = "\r\n";

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// Base64 (RFC 4648 §4); whitespace and line breaks skipped; nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    std::uint32_t acc = 0;
    unsigned bits = 0;
    bool padding = false;
    for (const char c : text) {
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
            continue;
        }
        if (c == '=') {
            padding = true;
            continue;
        }
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        }
        if (v < 0 || padding) {
            return std::nullopt;  // a stray character, or data after the padding
        }
        acc = acc << 6U | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(acc >> bits & 0xFFU);
        }
    }
    return out;
}

// Quoted-printable (RFC 2045 §6.7): "=XX" a byte, "=" CRLF a soft break, the rest literal.
std::optional<std::string> qp_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '=') {
            out += text[i];
            continue;
        }
        if (text.substr(i + 1, 2) == kCrlf) {
            i += 2;
            continue;
        }
        if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
        i += 2;
    }
    return out;
}

// Header block (CRLF-separated, no blank line) → fields, unfolded.
std::vector<std::pair<std::string, std::string>> parse_headers(std::string_view block) {
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t pos = 0;
    while (pos < block.size()) {
        std::size_t end = block.find(kCrlf, pos);
        if (end == std::string_view::npos) {
            end = block.size();
        }
        const std::string_view line = block.substr(pos, end - pos);
        pos = end + kCrlf.size();
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
            fields.back().second += line;  // unfolding removes the CRLF only (RFC 5322 §2.2.3)
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            fields.emplace_back(lower(line), "");
            continue;
        }
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        fields.emplace_back(lower(line.substr(0, colon)), std::string(value));
    }
    return fields;
}

std::optional<std::string> find_header(
    const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name) {
    for (const auto& [n, v] : fields) {
        if (n == name) {
            return v;
        }
    }
    return std::nullopt;
}

// A Content-Type parameter (boundary="..." or boundary=token).
std::string content_type_param(std::string_view content_type, std::string_view name) {
    const std::string lowered = lower(content_type);
    const std::size_t at = lowered.find(std::string(name) + "=");
    if (at == std::string::npos) {
        return {};
    }
    std::string_view value = content_type.substr(at + name.size() + 1);
    if (!value.empty() && value.front() == '"') {
        value.remove_prefix(1);
        return std::string(value.substr(0, value.find('"')));
    }
    return std::string(value.substr(0, value.find_first_of("; \t")));
}

struct Entity {
    std::string content_type;
    std::string encoding;
    std::string body;  // decoded
};

std::optional<Entity> decode_entity(const std::vector<std::pair<std::string, std::string>>& fields,
                                    std::string_view raw_body,
                                    std::string& why) {
    Entity e;
    e.content_type = lower(find_header(fields, "content-type").value_or("text/plain"));
    e.encoding = lower(find_header(fields, "content-transfer-encoding").value_or("7bit"));
    std::optional<std::string> body;
    if (e.encoding == "quoted-printable") {
        body = qp_decode(raw_body);
    } else if (e.encoding == "base64") {
        body = base64_decode(raw_body);
    } else if (e.encoding == "7bit" || e.encoding == "8bit") {
        body = std::string(raw_body);
    } else {
        why = "unknown transfer encoding " + e.encoding;
        return std::nullopt;
    }
    if (!body) {
        why = "the body is not valid " + e.encoding;
        return std::nullopt;
    }
    e.body = std::move(*body);
    return e;
}

void set_why(std::string* why, std::string text) {
    if (why != nullptr) {
        *why = std::move(text);
    }
}

// One connection's byte stream: plain at first, TLS after STARTTLS (or from the start).
class Channel {
public:
    explicit Channel(tcp::socket& socket) : socket_(socket) {}

    bool tls() const { return tls_ != nullptr; }

    bool start_tls(ssl::context& context) {
        // RFC 3207 §4.2: nothing received before the handshake may be used after it.
        buffer_.clear();
        tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, context);
        boost::system::error_code ec;
        tls_->handshake(ssl::stream_base::server, ec);
        return !ec;
    }

    // The next line without its CRLF; nullopt at the end of the stream, on an error, or when
    // a line grows past `max` bytes.
    std::optional<std::string> read_line(std::size_t max) {
        for (;;) {
            const std::size_t at = buffer_.find(kCrlf);
            if (at != std::string::npos) {
                std::string line = buffer_.substr(0, at);
                buffer_.erase(0, at + kCrlf.size());
                return line;
            }
            if (buffer_.size() > max) {
                return std::nullopt;
            }
            std::array<char, 4096> chunk{};
            boost::system::error_code ec;
            const std::size_t n = tls_ ? tls_->read_some(net::buffer(chunk), ec)
                                       : socket_.read_some(net::buffer(chunk), ec);
            if (ec) {
                return std::nullopt;
            }
            buffer_.append(chunk.data(), n);
        }
    }

    bool write(std::string_view text) {
        boost::system::error_code ec;
        if (tls_) {
            net::write(*tls_, net::buffer(text), ec);
        } else {
            net::write(socket_, net::buffer(text), ec);
        }
        return !ec;
    }

private:
    tcp::socket& socket_;
    std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
    std::string buffer_;
};

// The argument of "MAIL FROM:<a@b> SIZE=1" / "RCPT TO:<a@b>": what is between < and >.
std::optional<std::string> path_argument(std::string_view line, std::string_view prefix) {
    if (upper(line.substr(0, prefix.size())) != prefix) {
        return std::nullopt;
    }
    const std::string_view rest = line.substr(prefix.size());
    const std::size_t open = rest.find('<');
    const std::size_t close = rest.find('>', open == std::string_view::npos ? 0 : open);
    if (open == std::string_view::npos || close == std::string_view::npos) {
        return std::nullopt;
    }
    return std::string(rest.substr(open + 1, close - open - 1));
}

std::string fault_reply(int code) {
    return std::to_string(code) + (code < 500 ? " 4.3.0 Try again later (fake)\r\n"
                                              : " 5.1.1 Mailbox unavailable (fake)\r\n");
}

// One SMTP session (RFC 5321) over a channel, until QUIT or the connection ends.
class Session {
public:
    Session(FakeSmtp& smtp, Channel& channel, ssl::context* tls)
        : smtp_(smtp), channel_(channel), tls_context_(tls) {}

    void run() {
        if (!channel_.write("220 fake-smtp.test ESMTP ready\r\n")) {
            return;
        }
        for (;;) {
            const auto line = channel_.read_line(kMaxCommandLine);
            if (!line) {
                return;
            }
            const std::string verb = upper(line->substr(0, line->find(' ')));
            smtp_.record_command(verb == "AUTH" ? "AUTH " + upper(mechanism(*line)) : *line);
            if (!dispatch(verb, *line)) {
                return;
            }
        }
    }

private:
    struct Transaction {
        std::string from;
        std::vector<std::string> recipients;
        FakeSmtp::Fault fault;
    };

    static std::string mechanism(std::string_view line) {
        const std::size_t space = line.find(' ');
        if (space == std::string_view::npos) {
            return {};
        }
        const std::string_view rest = line.substr(space + 1);
        return std::string(rest.substr(0, rest.find(' ')));
    }

    bool reply(std::string_view text) { return channel_.write(text); }

    // False when the connection must end.
    bool dispatch(const std::string& verb, const std::string& line) {
        const FakeSmtpOptions& o = smtp_.options();
        if (verb == "EHLO") {
            greeted_ = true;
            tx_.reset();
            std::vector<std::string> lines = {
                "fake-smtp.test greets you", "SIZE 10485760", "8BITMIME"};
            if (tls_context_ != nullptr && !channel_.tls()) {
                lines.emplace_back("STARTTLS");
            }
            if (!o.username.empty() && (channel_.tls() || !o.require_tls)) {
                std::string auth = "AUTH";
                for (const auto& m : o.auth_mechanisms) {
                    auth += " " + m;
                }
                lines.push_back(auth);
            }
            lines.emplace_back("HELP");
            std::string text;
            for (std::size_t i = 0; i < lines.size(); ++i) {
                text += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i] + "\r\n";
            }
            return reply(text);
        }
        if (verb == "HELO") {
            greeted_ = true;
            tx_.reset();
            return reply("250 fake-smtp.test\r\n");
        }
        if (verb == "STARTTLS") {
            if (tls_context_ == nullptr || channel_.tls()) {
                return reply("454 4.7.0 TLS not available\r\n");
            }
            if (!reply("220 2.0.0 Ready to start TLS\r\n") || !channel_.start_tls(*tls_context_)) {
                return false;
            }
            smtp_.count_handshake();
            // RFC 3207 §4.2: the client starts over with EHLO; nothing learnt before counts.
            greeted_ = false;
            auth_user_.clear();
            tx_.reset();
            return true;
        }
        if (verb == "AUTH") {
            return auth(line);
        }
        if (verb == "MAIL") {
            const auto from = path_argument(line, "MAIL FROM:");
            if (!from) {
                return reply("501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
            }
            if (!greeted_) {
                return reply("503 5.5.1 EHLO first\r\n");
            }
            if (o.require_tls && !channel_.tls()) {
                return reply("530 5.7.0 Must issue a STARTTLS command first\r\n");
            }
            if (!o.username.empty() && auth_user_.empty()) {
                return reply("530 5.7.0 Authentication required\r\n");
            }
            if (tx_) {
                return reply("503 5.5.1 Nested MAIL command\r\n");
            }
            tx_ = Transaction{*from, {}, smtp_.next_transaction()};
            return reply("250 2.1.0 Ok\r\n");
        }
        if (verb == "RCPT") {
            const auto to = path_argument(line, "RCPT TO:");
            if (!to) {
                return reply("501 5.5.4 Syntax: RCPT TO:<address>\r\n");
            }
            if (!tx_) {
                return reply("503 5.5.1 Need MAIL first\r\n");
            }
            if (tx_->fault.code != 0 && tx_->fault.stage == FakeSmtp::Stage::kRcpt) {
                return reply(fault_reply(tx_->fault.code));
            }
            tx_->recipients.push_back(*to);
            return reply("250 2.1.5 Ok\r\n");
        }
        if (verb == "DATA") {
            return data();
        }
        if (verb == "RSET") {
            tx_.reset();
            return reply("250 2.0.0 Ok\r\n");
        }
        if (verb == "NOOP") {
            return reply("250 2.0.0 Ok\r\n");
        }
        if (verb == "QUIT") {
            reply("221 2.0.0 Bye\r\n");
            return false;
        }
        return reply("500 5.5.2 Command not recognized\r\n");
    }

    bool auth(const std::string& line) {
        const FakeSmtpOptions& o = smtp_.options();
        const std::string mech = upper(mechanism(line));
        if (o.username.empty()) {
            return reply("502 5.5.1 AUTH not offered\r\n");
        }
        if (o.require_tls && !channel_.tls()) {
            return reply("530 5.7.0 Must issue a STARTTLS command first\r\n");
        }
        if (!auth_user_.empty()) {
            return reply("503 5.5.1 Already authenticated\r\n");
        }
        if (std::find(o.auth_mechanisms.begin(), o.auth_mechanisms.end(), mech) ==
            o.auth_mechanisms.end()) {
            return reply("504 5.5.4 Unrecognized authentication type\r\n");
        }
        // The initial response, if the client sent one with the command (RFC 4954 §4).
        std::string initial;
        if (const std::size_t sp = line.find(' ', line.find(' ') + 1); sp != std::string::npos) {
            initial = line.substr(sp + 1);
        }
        // The next client line of the exchange; nullopt when the connection ended.
        auto ask = [this](std::string_view challenge) -> std::optional<std::string> {
            if (!reply("334 " + std::string(challenge) + "\r\n")) {
                return std::nullopt;
            }
            return channel_.read_line(kMaxCommandLine);
        };
        std::string user;
        std::string password;
        if (mech == "PLAIN") {
            std::optional<std::string> response = initial.empty() ? ask("") : initial;
            if (!response) {
                return false;
            }
            if (*response == "*") {
                return reply("501 5.0.0 Authentication cancelled\r\n");
            }
            const auto decoded = base64_decode(*response == "=" ? "" : *response);
            // authzid NUL authcid NUL passwd
            const std::size_t first = decoded ? decoded->find('\0') : std::string::npos;
            const std::size_t second =
                first == std::string::npos ? first : decoded->find('\0', first + 1);
            if (second == std::string::npos) {
                return reply("501 5.5.2 Cannot decode the response\r\n");
            }
            user = decoded->substr(first + 1, second - first - 1);
            password = decoded->substr(second + 1);
        } else {  // LOGIN: user name and password, each a base64 answer to a base64 prompt
            std::optional<std::string> u = initial.empty() ? ask("VXNlcm5hbWU6") : initial;
            if (!u) {
                return false;
            }
            const std::optional<std::string> p = ask("UGFzc3dvcmQ6");
            if (!p) {
                return false;
            }
            const auto du = base64_decode(*u);
            const auto dp = base64_decode(*p);
            if (!du || !dp) {
                return reply("501 5.5.2 Cannot decode the response\r\n");
            }
            user = *du;
            password = *dp;
        }
        if (user != o.username || password != o.password) {
            smtp_.count_auth_failure();
            return reply("535 5.7.8 Authentication credentials invalid\r\n");
        }
        auth_user_ = user;
        return reply("235 2.7.0 Authentication successful\r\n");
    }

    bool data() {
        if (!tx_) {
            return reply("503 5.5.1 Need MAIL first\r\n");
        }
        if (tx_->recipients.empty()) {
            return reply("554 5.5.1 No valid recipients\r\n");
        }
        if (!reply("354 End data with <CR><LF>.<CR><LF>\r\n")) {
            return false;
        }
        std::string content;
        for (;;) {
            auto line = channel_.read_line(kMaxMessage);
            if (!line) {
                return false;
            }
            if (*line == ".") {
                break;
            }
            if (!line->empty() && line->front() == '.') {
                line->erase(0, 1);  // RFC 5321 §4.5.2: undo the dot-stuffing
            }
            if (content.size() < kMaxMessage) {
                content += *line;
                content += kCrlf;
            }
        }
        Transaction tx = std::move(*tx_);
        tx_.reset();
        if (tx.fault.code != 0 && tx.fault.stage == FakeSmtp::Stage::kData) {
            return reply(fault_reply(tx.fault.code));
        }
        if (content.size() >= kMaxMessage) {
            return reply("552 5.3.4 Message too big\r\n");
        }
        smtp_.record(
            {tx.from, std::move(tx.recipients), std::move(content), channel_.tls(), auth_user_});
        return reply("250 2.0.0 Ok: queued\r\n");
    }

    FakeSmtp& smtp_;
    Channel& channel_;
    ssl::context* tls_context_;
    bool greeted_ = false;
    std::string auth_user_;
    std::optional<Transaction> tx_;
};

}  // namespace

// The acceptor on its own io_context thread, and one thread per connection doing blocking
// reads and writes (as FakeApp does).
struct FakeSmtp::Net {
    FakeSmtp& smtp;
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::optional<ssl::context> tls;
    std::thread accept_thread;
    std::list<std::thread> workers;  // touched by the accept thread only, until stop()

    explicit Net(FakeSmtp& s) : smtp(s) {
        if (smtp.options_.tls || smtp.options_.implicit_tls) {
            tls.emplace(server::make_tls_context(smtp.options_.cert_file, smtp.options_.key_file));
        }
        const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
        acceptor.open(endpoint.protocol());
        acceptor.set_option(net::socket_base::reuse_address(true));
        acceptor.bind(endpoint);
        acceptor.listen(net::socket_base::max_listen_connections);
        smtp.port_ = acceptor.local_endpoint().port();
        accept_next();
        accept_thread = std::thread([this] { ioc.run(); });
    }

    void accept_next() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) {
                return;  // closed: stopping
            }
            workers.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
            accept_next();
        });
    }

    void stop() {
        net::post(ioc, [this] {
            boost::system::error_code ignored;
            acceptor.close(ignored);
        });
        accept_thread.join();
        for (auto& w : workers) {
            w.join();
        }
        workers.clear();
    }

    void serve(tcp::socket socket) {
        const int fd = socket.native_handle();
        if (!smtp.register_connection(fd)) {
            return;
        }
        if (smtp.hanging()) {
            smtp.wait_while_hanging();
        } else {
            Channel channel(socket);
            const bool implicit = smtp.options_.implicit_tls;
            if (!implicit || channel.start_tls(*tls)) {
                if (implicit) {
                    smtp.count_handshake();
                }
                // STARTTLS is offered only when TLS is configured and not already on.
                Session(smtp, channel, smtp.options_.tls ? &*tls : nullptr).run();
            }
        }
        smtp.unregister_connection(fd);  // before the descriptor number can be reused
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
};

FakeSmtp::FakeSmtp(FakeSmtpOptions options) : options_(std::move(options)) {
    if ((options_.tls || options_.implicit_tls) &&
        (options_.cert_file.empty() || options_.key_file.empty())) {
        throw std::invalid_argument("FakeSmtp: TLS needs cert_file and key_file");
    }
    net_ = std::make_unique<Net>(*this);
}

FakeSmtp::~FakeSmtp() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const int fd : open_fds_) {
            ::shutdown(fd, SHUT_RDWR);  // wakes threads blocked reading
        }
    }
    changed_.notify_all();  // wakes hung connections
    net_->stop();
    net_.reset();
}

std::string FakeSmtp::url(std::string_view scheme, std::string_view host) const {
    return std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(port_);
}

void FakeSmtp::fail(Stage stage, int code, std::size_t messages) {
    const std::lock_guard lock(mutex_);
    fault_ = Fault{stage, code};
    fault_remaining_ = messages;
}

void FakeSmtp::hang() {
    const std::lock_guard lock(mutex_);
    hang_ = true;
}

void FakeSmtp::respond_normally() {
    {
        const std::lock_guard lock(mutex_);
        hang_ = false;
        fault_remaining_ = 0;
    }
    changed_.notify_all();
}

FakeSmtp::Fault FakeSmtp::next_transaction() {
    const std::lock_guard lock(mutex_);
    if (fault_remaining_ == 0) {
        return {};
    }
    --fault_remaining_;
    return fault_;
}

bool FakeSmtp::hanging() const {
    const std::lock_guard lock(mutex_);
    return hang_;
}

bool FakeSmtp::wait_while_hanging() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stopping_ || !hang_; });
    return !stopping_;
}

void FakeSmtp::record(FakeSmtpMessage message) {
    {
        const std::lock_guard lock(mutex_);
        messages_.push_back(std::move(message));
    }
    changed_.notify_all();
}

void FakeSmtp::record_command(std::string line) {
    const std::lock_guard lock(mutex_);
    commands_.push_back(std::move(line));
}

void FakeSmtp::count_auth_failure() {
    const std::lock_guard lock(mutex_);
    ++auth_failures_;
}

void FakeSmtp::count_handshake() {
    const std::lock_guard lock(mutex_);
    ++handshakes_;
}

bool FakeSmtp::register_connection(int fd) {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_) {
            return false;
        }
        open_fds_.insert(fd);
        ++connections_;
    }
    changed_.notify_all();
    return true;
}

void FakeSmtp::unregister_connection(int fd) {
    const std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
}

std::vector<FakeSmtpMessage> FakeSmtp::messages() const {
    const std::lock_guard lock(mutex_);
    return messages_;
}

std::vector<std::string> FakeSmtp::commands() const {
    const std::lock_guard lock(mutex_);
    return commands_;
}

std::size_t FakeSmtp::connections() const {
    const std::lock_guard lock(mutex_);
    return connections_;
}

std::size_t FakeSmtp::auth_failures() const {
    const std::lock_guard lock(mutex_);
    return auth_failures_;
}

std::size_t FakeSmtp::tls_handshakes() const {
    const std::lock_guard lock(mutex_);
    return handshakes_;
}

bool FakeSmtp::wait_for_messages(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

bool FakeSmtp::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return connections_ >= n; });
}

// ---------------------------------------------------------------------------------------------

std::optional<std::string> ParsedMail::header(std::string_view lower_name) const {
    return find_header(headers, lower_name);
}

std::optional<std::string> ParsedMail::decoded_header(std::string_view lower_name) const {
    auto value = header(lower_name);
    if (value) {
        *value = decode_header_words(*value);
    }
    return value;
}

std::size_t ParsedMail::count(std::string_view lower_name) const {
    return static_cast<std::size_t>(std::count_if(
        headers.begin(), headers.end(), [&](const auto& h) { return h.first == lower_name; }));
}

std::string decode_header_words(std::string_view value) {
    std::string out;
    std::string pending_space;  // whitespace after an encoded-word, dropped if another follows
    bool after_word = false;
    std::size_t i = 0;
    while (i < value.size()) {
        const std::size_t start = value.find("=?", i);
        std::size_t q1 = std::string_view::npos;
        std::size_t q2 = std::string_view::npos;
        std::size_t end = std::string_view::npos;
        if (start != std::string_view::npos) {
            q1 = value.find('?', start + 2);
            q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
            end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
        }
        if (end == std::string_view::npos) {
            out += pending_space;
            out += value.substr(i);
            break;
        }
        const std::string_view between = value.substr(i, start - i);
        const bool only_space = between.find_first_not_of(" \t") == std::string_view::npos;
        const std::string charset = lower(value.substr(start + 2, q1 - start - 2));
        const std::string encoding = upper(value.substr(q1 + 1, q2 - q1 - 1));
        const std::string_view payload = value.substr(q2 + 1, end - q2 - 1);
        std::optional<std::string> decoded;
        if (encoding == "B") {
            decoded = base64_decode(payload);
        } else if (encoding == "Q") {
            std::string q(payload);
            std::replace(q.begin(), q.end(), '_', ' ');
            decoded = qp_decode(q);
        }
        if (!decoded || (charset != "utf-8" && charset != "us-ascii")) {
            out += value.substr(i, end + 2 - i);  // not a word we read: kept as it is
            after_word = false;
        } else {
            if (!(after_word && only_space)) {
                out += between;
            }
            out += *decoded;
            after_word = true;
        }
        i = end + 2;
    }
    return out;
}

std::optional<ParsedMail> parse_mail(std::string_view raw, std::string* why) {
    ParsedMail mail;
    for (std::size_t i = 0, line = 0; i < raw.size(); ++i) {
        if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
            mail.longest_line = std::max(mail.longest_line, line);
            line = 0;
            ++i;
        } else if (raw[i] == '\r' || raw[i] == '\n') {
            mail.crlf_only = false;
        } else {
            ++line;
            mail.longest_line = std::max(mail.longest_line, line);
        }
    }
    const std::size_t blank = raw.find("\r\n\r\n");
    if (blank == std::string_view::npos) {
        set_why(why, "no blank line after the headers");
        return std::nullopt;
    }
    mail.headers = parse_headers(raw.substr(0, blank));
    std::string_view body = raw.substr(blank + 4);
    const std::string content_type = mail.header("content-type").value_or("text/plain");
    std::string problem;

    if (!lower(content_type).starts_with("multipart/")) {
        if (body.ends_with(kCrlf)) {
            body.remove_suffix(2);  // the CRLF that ends the message, not part of the text
        }
        const auto e = decode_entity(mail.headers, body, problem);
        if (!e) {
            set_why(why, problem);
            return std::nullopt;
        }
        mail.text = e->body;
        mail.text_encoding = e->encoding;
        return mail;
    }

    mail.multipart = true;
    const std::string boundary = content_type_param(content_type, "boundary");
    if (boundary.empty()) {
        set_why(why, "multipart without a boundary");
        return std::nullopt;
    }
    // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter.
    const std::string delimiter = "\r\n--" + boundary;
    const std::string text = "\r\n" + std::string(body);
    std::size_t pos = text.find(delimiter);
    bool closed = false;
    while (pos != std::string::npos) {
        pos += delimiter.size();
        if (text.compare(pos, 2, "--") == 0) {
            closed = true;
            break;
        }
        const std::size_t part_start = text.find(kCrlf, pos);
        if (part_start == std::string::npos) {
            break;
        }
        const std::size_t next = text.find(delimiter, part_start);
        if (next == std::string::npos) {
            break;
        }
        const std::string_view part =
            std::string_view(text).substr(part_start + 2, next - part_start - 2);
        const std::size_t part_blank = part.find("\r\n\r\n");
        const auto fields = part_blank == std::string_view::npos
                                ? parse_headers(part)
                                : parse_headers(part.substr(0, part_blank));
        const std::string_view part_body =
            part_blank == std::string_view::npos ? std::string_view() : part.substr(part_blank + 4);
        const auto e = decode_entity(fields, part_body, problem);
        if (!e) {
            set_why(why, problem);
            return std::nullopt;
        }
        if (e->content_type.starts_with("text/html")) {
            mail.html = e->body;
            mail.html_encoding = e->encoding;
        } else if (e->content_type.starts_with("text/plain")) {
            mail.text = e->body;
            mail.text_encoding = e->encoding;
        }
        pos = next;
    }
    if (!closed) {
        set_why(why, "the multipart body has no closing delimiter");
        return std::nullopt;
    }
    return mail;
}

}  // namespace scimbridge::tests
