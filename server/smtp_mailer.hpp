#pragma once
// The SMTP edge behind mappers::Mailer, on libcurl: submission with STARTTLS (smtp://, required,
// never a plaintext fallback) or implicit TLS (smtps://), TLS 1.2+ with the peer certificate and
// host name verified, AUTH when a username is set, one total timeout per message. The message
// itself is rendered by mappers::render_rfc5322; libcurl does the dot-stuffing.
//
// Outcome: accepted → kSent; a 4xx reply, a timeout, a connection or TLS failure, and the
// replies that mean *our* configuration is wrong (530 TLS/authentication required, 534, 535
// credentials refused, 538) → kRetry; any other 5xx (550 mailbox unavailable, 553 mailbox
// name not allowed, 554 transaction failed) and an implausible address → kPermanent.
// `detail` names the failed step and the server's last reply; it never holds the password.
//
// Threads: send() may be called from many threads at once (one libcurl easy handle per call).

#include <chrono>
#include <string>

#include "mappers/mail.hpp"

namespace scimbridge::server {

struct SmtpConfig {
    // smtp://host[:port][/ehlo-name]  STARTTLS required; port 587 when none is given
    // smtps://host[:port][/ehlo-name] TLS from the first byte; port 465 when none is given
    // smtp+insecure://host:port       no TLS at all: tests only
    // The optional path is the name sent in EHLO (libcurl sends this machine's name without).
    std::string url;
    std::string username;  // empty: no AUTH
    std::string password;
    std::string from;       // envelope and header sender, when the message names none
    std::string from_name;  // display name, when the message names none
    std::string ca_file;    // PEM bundle of trusted CAs; empty: the system CAs
    std::chrono::milliseconds timeout{30000};  // connect, TLS, AUTH and the whole transaction
};

class SmtpMailer final : public mappers::Mailer {
public:
    // Throws std::invalid_argument for a URL of another scheme or with user info, an
    // implausible `from`, a timeout of zero or less; std::runtime_error for an unreadable CA
    // file. Initialises libcurl once per process.
    explicit SmtpMailer(SmtpConfig config);

    mappers::MailResult send(const mappers::MailMessage& message) override;

private:
    SmtpConfig config_;
    std::string curl_url_;  // smtp:// or smtps:// with the port made explicit
    bool tls_ = true;       // false only for smtp+insecure://
};

}  // namespace scimbridge::server
