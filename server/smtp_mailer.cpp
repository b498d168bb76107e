#include "server/smtp_mailer.hpp"

#include <algorithm>
#include <array>
#include <curl/curl.h>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace scimbridge::server {

namespace {

using mappers::MailOutcome;
using mappers::MailResult;

constexpr std::size_t kMaxDetail = 300;
constexpr std::size_t kMaxReply = 200;

struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, CurlDeleter>;
using StringList = std::unique_ptr<curl_slist, CurlDeleter>;

// curl_global_init is not thread-safe and must run before any other libcurl call.
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw std::runtime_error("libcurl initialisation failed");
        }
    });
}

struct ParsedSmtpUrl {
    std::string curl_url;
    bool tls = true;
};

std::optional<ParsedSmtpUrl> parse_smtp_url(std::string_view url, std::string& why) {
    struct Scheme {
        std::string_view prefix;
        std::string_view curl_prefix;
        std::string_view default_port;  // "" when the port is required
        bool tls;
    };
    constexpr std::array<Scheme, 3> kSchemes = {{
        {"smtp://", "smtp://", "587", true},
        {"smtps://", "smtps://", "465", true},
        {"smtp+insecure://", "smtp://", "", false},
    }};
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= 32 || c == 127) {
            why = "the SMTP URL holds a space or a control character";
            return std::nullopt;
        }
    }
    for (const Scheme& s : kSchemes) {
        if (!url.starts_with(s.prefix)) {
            continue;
        }
        const std::string_view rest = url.substr(s.prefix.size());
        const std::size_t slash = rest.find('/');
        const std::string_view authority = rest.substr(0, slash);
        const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
        if (authority.empty() || authority.find('@') != std::string_view::npos ||
            path.find_first_of("?#") != std::string_view::npos) {
            why = "the SMTP URL must be scheme://host[:port][/ehlo-name], credentials apart";
            return std::nullopt;
        }
        const std::size_t colon = authority.rfind(':');
        const std::size_t bracket = authority.rfind(']');
        const bool has_port = colon != std::string_view::npos &&
                              (bracket == std::string_view::npos || colon > bracket);
        if (!has_port && s.default_port.empty()) {
            why = "smtp+insecure:// needs an explicit port";
            return std::nullopt;
        }
        ParsedSmtpUrl out;
        out.tls = s.tls;
        out.curl_url = std::string(s.curl_prefix) + std::string(authority);
        if (!has_port) {
            out.curl_url += ":" + std::string(s.default_port);
        }
        out.curl_url += path;
        return out;
    }
    why = "the SMTP URL must start with smtp://, smtps:// or smtp+insecure://";
    return std::nullopt;
}

std::string new_message_id() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    constexpr std::string_view kHex = "0123456789abcdef";
    std::string id;
    for (const unsigned char b : bytes) {
        id += kHex[b >> 4U];
        id += kHex[b & 15U];
    }
    return id;
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// Printable ASCII only, at most `max` characters: server text goes into logs.
std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (const char c : s) {
        if (out.size() >= max) {
            break;
        }
        out += (static_cast<unsigned char>(c) >= 32 && c != 127) ? c : ' ';
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

// What the protocol exchange tells us, gathered by the debug callback: the last SMTP command
// verb we sent (never its arguments: AUTH lines carry credentials) and the server's last reply.
struct Exchange {
    std::string_view data;  // the rendered message, read by libcurl
    std::size_t read = 0;
    std::string last_verb;
    std::string last_reply;
    bool quitting = false;  // after QUIT: the exchange that mattered is over
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    const std::size_t n = std::min(size * count, ex->data.size() - ex->read);
    std::copy_n(ex->data.data() + ex->read, n, buffer);
    ex->read += n;
    return n;
}

int on_debug(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    const std::string_view text(data, size);
    if (ex->quitting) {
        return 0;  // keep the failing command and its reply, not "QUIT" and "221 Bye"
    }
    if (type == CURLINFO_HEADER_IN) {
        // A reply arrives as one or more lines; the last non-empty one is the final line of a
        // multi-line reply ("250 ...").
        std::size_t end = text.size();
        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) {
            --end;
        }
        const std::size_t start = text.rfind('\n', end == 0 ? 0 : end - 1);
        const std::string_view line =
            text.substr(start == std::string_view::npos ? 0 : start + 1,
                        end - (start == std::string_view::npos ? 0 : start + 1));
        if (!line.empty()) {
            ex->last_reply = printable(line, kMaxReply);
        }
    } else if (type == CURLINFO_HEADER_OUT) {
        // Only known verbs: an AUTH continuation line is base64 credentials and must not stick.
        constexpr std::array<std::string_view, 9> kVerbs = {
            "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP"};
        const std::string_view word = text.substr(0, text.find_first_of(" \r\n"));
        ex->quitting = word == "QUIT";
        for (const std::string_view verb : kVerbs) {
            if (word == verb) {
                ex->last_verb = std::string(verb);
            }
        }
    }
    return 0;
}

bool is_tls_error(CURLcode code) {
    switch (code) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_USE_SSL_FAILED:
            return true;
        default:
            return false;
    }
}

// 5xx replies that say our configuration is wrong (TLS or authentication required, the
// mechanism too weak, the credentials refused), not that this message can never be delivered:
// retried, so that fixing the configuration delivers what waited.
bool is_configuration_reply(long smtp_code) {
    return smtp_code == 530 || smtp_code == 534 || smtp_code == 535 || smtp_code == 538;
}

MailOutcome classify(CURLcode code, long smtp_code) {
    if (code == CURLE_OK) {
        return MailOutcome::kSent;
    }
    if (is_tls_error(code) || code == CURLE_LOGIN_DENIED || code == CURLE_OPERATION_TIMEDOUT) {
        return MailOutcome::kRetry;
    }
    if (smtp_code >= 500 && smtp_code <= 599 && !is_configuration_reply(smtp_code)) {
        return MailOutcome::kPermanent;
    }
    return MailOutcome::kRetry;  // 4xx, no reply at all, connection failures
}

}  // namespace

SmtpMailer::SmtpMailer(SmtpConfig config) : config_(std::move(config)) {
    std::string why;
    const auto url = parse_smtp_url(config_.url, why);
    if (!url) {
        throw std::invalid_argument(why);
    }
    curl_url_ = url->curl_url;
    tls_ = url->tls;
    if (!mappers::is_plausible_email(config_.from)) {
        throw std::invalid_argument("the SMTP sender address is not a plausible email address");
    }
    if (config_.timeout.count() <= 0) {
        throw std::invalid_argument("the SMTP timeout must be positive");
    }
    if (!config_.ca_file.empty() && !std::ifstream(config_.ca_file).good()) {
        throw std::runtime_error("cannot read the SMTP CA file " + config_.ca_file);
    }
    init_curl_once();
}

MailResult SmtpMailer::send(const mappers::MailMessage& message) {
    mappers::MailMessage m = message;
    if (m.from.empty()) {
        m.from = config_.from;
    }
    if (m.from_name.empty()) {
        m.from_name = config_.from_name;
    }
    if (!mappers::is_plausible_email(m.from)) {
        return {MailOutcome::kPermanent, "the sender is not a plausible email address"};
    }
    if (m.to.empty() && m.cc.empty() && m.bcc.empty()) {
        return {MailOutcome::kPermanent, "the message has no recipient"};
    }
    StringList recipients;
    for (const auto* list : {&m.to, &m.cc, &m.bcc}) {
        for (const std::string& address : *list) {
            if (!mappers::is_plausible_email(address)) {
                return {MailOutcome::kPermanent,
                        "not a plausible email address: " + printable(address, 100)};
            }
            curl_slist* grown = curl_slist_append(recipients.get(), ("<" + address + ">").c_str());
            if (grown == nullptr) {
                throw std::bad_alloc();
            }
            (void)recipients.release();  // now owned by `grown`
            recipients.reset(grown);
        }
    }

    const std::string data =
        mappers::render_rfc5322(m, std::chrono::system_clock::now(), new_message_id());
    Exchange ex;
    ex.data = data;
    std::array<char, CURL_ERROR_SIZE> error{};
    const std::string mail_from = "<" + m.from + ">";
    const auto timeout_ms = static_cast<long>(config_.timeout.count());

    const EasyHandle curl(curl_easy_init());
    if (!curl) {
        throw std::runtime_error("curl_easy_init failed");
    }
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, curl_url_.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_PROXY, "");  // never an *_proxy from the environment
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error.data());
    if (tls_) {
        // smtp://: STARTTLS or fail (CURLE_USE_SSL_FAILED), never a plaintext fallback.
        curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (!config_.ca_file.empty()) {
            curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
        }
    } else {
        curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
    }
    if (!config_.username.empty()) {
        curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
    // libcurl writes the message after DATA and does the dot-stuffing (RFC 5321 §4.5.2) and
    // the final CRLF.CRLF itself.
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(h, CURLOPT_READDATA, &ex);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    // The protocol trace, for the detail only: see on_debug (nothing is printed).
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &ex);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

    const CURLcode code = curl_easy_perform(h);
    long smtp_code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &smtp_code);

    MailResult result;
    result.outcome = classify(code, smtp_code);
    std::string detail;
    if (code == CURLE_OK) {
        detail = "accepted for " + std::to_string(m.to.size() + m.cc.size() + m.bcc.size()) +
                 " recipient(s)";
    } else {
        if (code == CURLE_OPERATION_TIMEDOUT) {
            detail = "timed out after " + std::to_string(config_.timeout.count()) + " ms";
        } else {
            detail = is_tls_error(code) ? "TLS: " : "";
            detail += error[0] != '\0' ? std::string(error.data()) : curl_easy_strerror(code);
        }
        if (!ex.last_verb.empty()) {
            detail += " (last command " + ex.last_verb + ")";
        }
    }
    if (!ex.last_reply.empty()) {
        detail += "; server: " + ex.last_reply;
    }
    // Belt and braces: libcurl's messages and the server's replies have no reason to hold the
    // password, but a hostile server could echo what it was sent.
    if (!config_.password.empty()) {
        for (const std::string& secret :
             {config_.password,
              base64(config_.password),
              base64(std::string(1, '\0') + config_.username + '\0' + config_.password)}) {
            constexpr std::string_view kRedacted = "[redacted]";
            for (std::size_t at = detail.find(secret); at != std::string::npos;
                 at = detail.find(secret, at + kRedacted.size())) {
                detail.replace(at, secret.size(), kRedacted);
            }
        }
    }
    result.detail = printable(detail, kMaxDetail);
    return result;
}

}  // namespace scimbridge::server
