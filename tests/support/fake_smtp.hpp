#pragma once
// A fake mail server for e2e tests: a real ESMTP server (Boost.Asio, blocking, one thread per
// connection) on 127.0.0.1 and a port the OS picks. It speaks what a submission client needs:
// 220 greeting, EHLO/HELO, STARTTLS (Asio's ssl::stream over the accepted socket, with the dev
// certificates), AUTH PLAIN and LOGIN, MAIL FROM, RCPT TO, DATA (dot-stuffing undone, ends at
// CRLF.CRLF), RSET, NOOP, QUIT. It records every accepted message and misbehaves on demand:
//
//   FakeSmtp smtp({.tls = true, .cert_file = dev_certs().cert(), .key_file = dev_certs().key(),
//                  .require_tls = true, .username = "bridge", .password = "s3cret"});
//   smtp.fail(FakeSmtp::Stage::kRcpt, 550);    // the next message: 550 to RCPT TO
//   ... send to smtp.url("smtp") ...
//   REQUIRE(smtp.wait_for_messages(1, 5s));
//   const auto mail = parse_mail(smtp.messages()[0].data);
//
// The destructor stops the server and joins every thread (hung connections included).
//
// parse_mail() is the test side's MIME reader (unfolding, RFC 2047 words, quoted-printable,
// base64, multipart/alternative), written apart from mappers/mail.cpp so that a test compares
// the renderer against an independent reading.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scimbridge::tests {

struct FakeSmtpOptions {
    bool tls = false;           // advertise STARTTLS (needs cert_file and key_file)
    std::string cert_file;      // PEM chain (e2e: dev_certs().cert())
    std::string key_file;       // PEM key (e2e: dev_certs().key())
    bool implicit_tls = false;  // TLS from the first byte, as on port 465 (smtps://)
    bool require_tls = false;   // 530 to AUTH and MAIL before STARTTLS
    std::string username;       // empty: AUTH is not offered and not required
    std::string password;
    std::vector<std::string> auth_mechanisms = {"PLAIN", "LOGIN"};
};

struct FakeSmtpMessage {
    std::string mail_from;                // the MAIL FROM address, without <>
    std::vector<std::string> recipients;  // every accepted RCPT TO, without <>
    std::string data;       // the message after DATA, dot-stuffing undone, ending with CRLF
    bool tls = false;       // TLS was active when the message was sent
    std::string auth_user;  // the authenticated user; "" when none
};

class FakeSmtp {
public:
    explicit FakeSmtp(FakeSmtpOptions options = {});
    ~FakeSmtp();
    FakeSmtp(const FakeSmtp&) = delete;
    FakeSmtp& operator=(const FakeSmtp&) = delete;

    unsigned short port() const { return port_; }
    // "<scheme>://127.0.0.1:PORT" (scheme smtp, smtps or smtp+insecure; host "localhost" works
    // with the dev certificate too).
    std::string url(std::string_view scheme = "smtp+insecure",
                    std::string_view host = "127.0.0.1") const;

    // --- Behaviour (thread-safe; applies from the next MAIL FROM / the next connection) ---
    enum class Stage {
        kRcpt,  // the reply to every RCPT TO of the message
        kData,  // the reply after the message's final "." (the content was received)
    };
    // `code` (451, 550, ...) at `stage` for the next `messages` mail transactions.
    void fail(Stage stage, int code, std::size_t messages = 1);
    // Accept connections and never answer, not even the greeting, until respond_normally()
    // (hung connections are then closed) or the server stops.
    void hang();
    void respond_normally();

    // --- What happened ---
    std::vector<FakeSmtpMessage> messages() const;
    // Every command line received, in order, for all connections; AUTH payloads are not kept
    // ("AUTH PLAIN", never the credentials).
    std::vector<std::string> commands() const;
    std::size_t connections() const;
    std::size_t auth_failures() const;   // 535 answered
    std::size_t tls_handshakes() const;  // completed server-side TLS handshakes
    bool wait_for_messages(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const;

    // Used by the connection threads (fake_smtp.cpp).
    struct Fault {
        Stage stage = Stage::kRcpt;
        int code = 0;  // 0: none
    };
    Fault next_transaction();  // consumes one faulty message, if any
    bool hanging() const;
    bool wait_while_hanging();  // false when the server is stopping
    void record(FakeSmtpMessage message);
    void record_command(std::string line);
    void count_auth_failure();
    void count_handshake();
    bool register_connection(int fd);  // false when stopping
    void unregister_connection(int fd);
    const FakeSmtpOptions& options() const { return options_; }

private:
    struct Net;  // acceptor and threads (fake_smtp.cpp)

    FakeSmtpOptions options_;
    unsigned short port_ = 0;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool stopping_ = false;
    bool hang_ = false;
    Fault fault_;
    std::size_t fault_remaining_ = 0;
    std::vector<FakeSmtpMessage> messages_;
    std::vector<std::string> commands_;
    std::size_t connections_ = 0;
    std::size_t auth_failures_ = 0;
    std::size_t handshakes_ = 0;
    std::set<int> open_fds_;

    std::unique_ptr<Net> net_;  // last: stopped first
};

// ---------------------------------------------------------------------------------------------
// The test side's MIME reader.

struct ParsedMail {
    // Header fields in order: lower-cased name, unfolded value (encoded-words kept).
    std::vector<std::pair<std::string, std::string>> headers;
    std::string text;           // the decoded text/plain part (UTF-8, CRLF line ends)
    std::string html;           // the decoded text/html part; "" when there is none
    std::string text_encoding;  // Content-Transfer-Encoding of the text part, lower-cased
    std::string html_encoding;
    bool multipart = false;
    std::size_t longest_line = 0;  // of the raw message, CRLF excluded
    bool crlf_only = true;         // no CR or LF outside a CRLF pair anywhere

    // The first field named `lower_name`, raw (unfolded) / with RFC 2047 words decoded;
    // nullopt when absent.
    std::optional<std::string> header(std::string_view lower_name) const;
    std::optional<std::string> decoded_header(std::string_view lower_name) const;
    std::size_t count(std::string_view lower_name) const;
};

// nullopt (with *why set) when the message is not one this reader understands: no blank line
// after the headers, a part without its boundary, an unknown transfer encoding, bad base64 or
// quoted-printable.
std::optional<ParsedMail> parse_mail(std::string_view raw, std::string* why = nullptr);

// RFC 2047 encoded-words (B and Q, utf-8) decoded; whitespace between adjacent words dropped.
std::string decode_header_words(std::string_view value);

}  // namespace scimbridge::tests
