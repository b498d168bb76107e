// The SMTP mailer (server/smtp_mailer, libcurl) against a real fake mail server over real
// sockets: STARTTLS and implicit TLS with the dev CA, AUTH, what arrives, how failures are
// classified. No database and no scim-bridge process: select with -tc='*smtp*'.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "mappers/mail.hpp"
#include "server/smtp_mailer.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/support/fake_smtp.hpp"

namespace {

using scimbridge::mappers::InvitationMail;
using scimbridge::mappers::InvitationMailVars;
using scimbridge::mappers::MailMessage;
using scimbridge::mappers::MailOutcome;
using scimbridge::mappers::MailResult;
using scimbridge::mappers::MailTemplates;
using scimbridge::server::SmtpConfig;
using scimbridge::server::SmtpMailer;
using scimbridge::tests::FakeSmtp;
using scimbridge::tests::FakeSmtpOptions;
using scimbridge::tests::parse_mail;
using namespace std::chrono_literals;

constexpr const char* kUser = "bridge-mailer";
constexpr const char* kPassword = "Pa55-w0rd!never-in-logs";

const char* to_string(MailOutcome o) {
    switch (o) {
        case MailOutcome::kSent:
            return "sent";
        case MailOutcome::kRetry:
            return "retry";
        case MailOutcome::kPermanent:
            return "permanent";
    }
    return "?";
}

// A submission server as the bridge meets it in production: STARTTLS required, then AUTH.
FakeSmtpOptions submission_server() {
    FakeSmtpOptions o;
    o.tls = true;
    o.cert_file = scimbridge::e2e::dev_certs().cert();
    o.key_file = scimbridge::e2e::dev_certs().key();
    o.require_tls = true;
    o.username = kUser;
    o.password = kPassword;
    return o;
}

SmtpConfig config_for(const std::string& url) {
    SmtpConfig c;
    c.url = url;
    c.username = kUser;
    c.password = kPassword;
    c.from = "bridge@example.com";
    c.from_name = "Example Corp Zugänge";
    c.ca_file = scimbridge::e2e::dev_certs().ca();
    c.timeout = 10s;
    return c;
}

MailMessage simple(std::string to = "ann@example.com") {
    MailMessage m;
    m.to = {std::move(to)};
    m.subject = "Hello";
    m.text = "Hello Ann\n";
    return m;
}

// Sends and reports, so that a failing CHECK shows why; every detail is checked for the
// password (and its base64 forms, as AUTH sends it).
MailResult send(SmtpMailer& mailer, const MailMessage& message) {
    MailResult r = mailer.send(message);
    INFO("outcome " << to_string(r.outcome) << ": " << r.detail);
    CHECK(r.detail.find(kPassword) == std::string::npos);
    CHECK(r.detail.find("UGE1NS13MHJkIW5ldmVyLWluLWxvZ3M") == std::string::npos);
    CHECK_FALSE(r.detail.empty());
    return r;
}

std::string crlf(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::ptrdiff_t index_of(const std::vector<std::string>& commands, std::string_view prefix) {
    const auto it = std::find_if(commands.begin(), commands.end(), [&](const std::string& c) {
        return c.starts_with(prefix);
    });
    return it == commands.end() ? -1 : it - commands.begin();
}

}  // namespace

TEST_CASE("smtp mailer: STARTTLS and AUTH deliver a UTF-8 invitation intact to to, cc and bcc") {
    FakeSmtp smtp(submission_server());
    SmtpMailer mailer(config_for(smtp.url("smtp")));

    InvitationMailVars vars;
    vars.person_name = "Олена Коваленко";
    vars.app_name = "Payroll";
    vars.organisation = "Example Corp";
    vars.claim_url = "https://bridge.example.com/claim/Zx81?a=1&b=2";
    vars.expires_at = "21 May 2024, 09:00 UTC";
    vars.locale = "uk-UA";
    const auto rendered = render_invitation(InvitationMail::kInvite, vars, MailTemplates());
    MailMessage m;
    m.to = {"olena@example.com"};
    m.cc = {"manager@example.com"};
    m.bcc = {"audit@example.net"};
    m.subject = rendered.subject;
    m.text = rendered.text;
    m.html = rendered.html;

    const MailResult r = send(mailer, m);
    REQUIRE(r.outcome == MailOutcome::kSent);
    REQUIRE(smtp.messages().size() == 1);
    const auto got = smtp.messages()[0];
    CHECK(got.tls);
    CHECK(got.auth_user == kUser);
    CHECK(got.mail_from == "bridge@example.com");
    CHECK(got.recipients == std::vector<std::string>{
                                "olena@example.com", "manager@example.com", "audit@example.net"});

    std::string why;
    const auto mail = parse_mail(got.data, &why);
    INFO(why);
    REQUIRE(mail.has_value());
    CHECK(mail->decoded_header("subject") == rendered.subject);
    CHECK(mail->decoded_header("from") == "Example Corp Zugänge <bridge@example.com>");
    CHECK(mail->header("to") == "olena@example.com");
    CHECK(mail->header("cc") == "manager@example.com");
    CHECK(mail->count("bcc") == 0);
    CHECK(got.data.find("audit@example.net") == std::string::npos);
    CHECK(mail->header("message-id")->ends_with("@example.com>"));
    CHECK(mail->text == crlf(rendered.text));
    CHECK(mail->html == crlf(rendered.html));
    CHECK(mail->text.find(vars.claim_url) != std::string::npos);

    // TLS first, then the credentials: never AUTH in the clear.
    const auto commands = smtp.commands();
    CHECK(index_of(commands, "STARTTLS") >= 0);
    CHECK(index_of(commands, "STARTTLS") < index_of(commands, "AUTH"));
    CHECK(smtp.tls_handshakes() == 1);
    for (const std::string& c : commands) {
        CHECK(c.find(kPassword) == std::string::npos);
    }

    // The next message on the same mailer (a new connection each time) arrives too.
    CHECK(send(mailer, simple()).outcome == MailOutcome::kSent);
    CHECK(smtp.messages().size() == 2);
}

TEST_CASE("smtp mailer: smtps implicit TLS with AUTH PLAIN, lines starting with dots intact") {
    FakeSmtpOptions o = submission_server();
    o.tls = false;
    o.implicit_tls = true;
    o.auth_mechanisms = {"PLAIN"};
    FakeSmtp smtp(o);
    SmtpMailer mailer(config_for(smtp.url("smtps", "localhost")));
    MailMessage m = simple();
    m.text = "line one\n.\n..two dots\n.starts with a dot\n";
    const MailResult r = send(mailer, m);
    REQUIRE(r.outcome == MailOutcome::kSent);
    REQUIRE(smtp.messages().size() == 1);
    CHECK(smtp.messages()[0].tls);
    CHECK(smtp.messages()[0].auth_user == kUser);
    CHECK(index_of(smtp.commands(), "AUTH PLAIN") >= 0);
    CHECK(index_of(smtp.commands(), "STARTTLS") == -1);
    const auto mail = parse_mail(smtp.messages()[0].data);
    REQUIRE(mail.has_value());
    CHECK(mail->text == crlf(m.text));
}

TEST_CASE("smtp mailer: TLS failures are retried with a TLS detail, never sent in the clear") {
    // A second, unrelated development CA: the server's certificate does not chain to it.
    scimbridge::e2e::TempDir other;
    const std::string cmd = scimbridge::e2e::source_dir() + "/certs/make-dev-certs.sh " +
                            other.path() + "/certs >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);  // NOLINT(cert-env33-c): our own script
    FakeSmtp smtp(submission_server());
    SmtpConfig wrong_ca = config_for(smtp.url("smtp"));
    wrong_ca.ca_file = other.path() + "/certs/ca.crt";
    SmtpMailer mailer(wrong_ca);
    MailResult r = send(mailer, simple());
    CHECK(r.outcome == MailOutcome::kRetry);
    CHECK(r.detail.starts_with("TLS: "));
    CHECK(smtp.messages().empty());
    CHECK(index_of(smtp.commands(), "AUTH") == -1);
    CHECK(index_of(smtp.commands(), "MAIL") == -1);

    // A server without STARTTLS: smtp:// fails rather than falling back to plaintext.
    FakeSmtpOptions plain_options;
    plain_options.username = kUser;
    plain_options.password = kPassword;
    FakeSmtp plain(plain_options);
    SmtpMailer to_plain(config_for(plain.url("smtp")));
    r = send(to_plain, simple());
    CHECK(r.outcome == MailOutcome::kRetry);
    CHECK(r.detail.starts_with("TLS: "));
    CHECK(plain.messages().empty());
    CHECK(index_of(plain.commands(), "AUTH") == -1);
}

TEST_CASE("smtp mailer: a trusted certificate for another name is refused") {
    // Signed by the dev CA, for wrong.example only (CN=localhost must not count).
    scimbridge::e2e::TempDir dir;
    const auto& ca = scimbridge::e2e::dev_certs();
    const std::string d = dir.path();
    const std::string cmd = "cd " + d +
                            " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                            "-subj /CN=localhost -keyout leaf.key -out leaf.csr >/dev/null 2>&1 && "
                            "printf 'subjectAltName=DNS:wrong.example\\n' > leaf.ext && "
                            "openssl x509 -req -in leaf.csr -CA " +
                            ca.ca() + " -CAkey " + ca.dir +
                            "/ca.key "
                            "-CAcreateserial -CAserial " +
                            d +
                            "/ca.srl -days 2 -extfile leaf.ext -out leaf.crt "
                            ">/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);  // NOLINT(cert-env33-c): fixed command, temp dir
    FakeSmtpOptions o = submission_server();
    o.cert_file = d + "/leaf.crt";
    o.key_file = d + "/leaf.key";
    FakeSmtp smtp(o);
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        CAPTURE(host);
        SmtpMailer mailer(config_for(smtp.url("smtp", host)));
        const MailResult r = send(mailer, simple());
        CHECK(r.outcome == MailOutcome::kRetry);
        CHECK(r.detail.starts_with("TLS: "));
    }
    CHECK(smtp.messages().empty());
    CHECK(index_of(smtp.commands(), "AUTH") == -1);
}

TEST_CASE("smtp mailer: 4xx replies are retried, 5xx replies are permanent") {
    FakeSmtp smtp(submission_server());
    SmtpMailer mailer(config_for(smtp.url("smtp")));

    smtp.fail(FakeSmtp::Stage::kRcpt, 451);
    MailResult r = send(mailer, simple());
    CHECK(r.outcome == MailOutcome::kRetry);
    CHECK(r.detail.find("451") != std::string::npos);

    smtp.fail(FakeSmtp::Stage::kRcpt, 550);
    r = send(mailer, simple());
    CHECK(r.outcome == MailOutcome::kPermanent);
    CHECK(r.detail.find("550") != std::string::npos);
    CHECK(r.detail.find("RCPT") != std::string::npos);

    smtp.fail(FakeSmtp::Stage::kData, 451);
    CHECK(send(mailer, simple()).outcome == MailOutcome::kRetry);
    smtp.fail(FakeSmtp::Stage::kData, 553);
    CHECK(send(mailer, simple()).outcome == MailOutcome::kPermanent);
    CHECK(smtp.messages().empty());

    // The faults were for one message each: the next one goes through.
    CHECK(send(mailer, simple()).outcome == MailOutcome::kSent);
    CHECK(smtp.messages().size() == 1);
}

TEST_CASE("smtp mailer: refused credentials are retried (configuration) and never echoed") {
    FakeSmtp smtp(submission_server());
    SmtpConfig c = config_for(smtp.url("smtp"));
    c.password = std::string(kPassword) + "-wrong";
    SmtpMailer mailer(c);
    const MailResult r = send(mailer, simple());
    CHECK(r.outcome == MailOutcome::kRetry);
    CHECK(r.detail.find(c.password) == std::string::npos);
    CHECK(smtp.auth_failures() >= 1);
    CHECK(smtp.messages().empty());

    // Without credentials the server refuses MAIL with 530: configuration, so retried too.
    SmtpConfig anonymous = config_for(smtp.url("smtp"));
    anonymous.username.clear();
    anonymous.password.clear();
    SmtpMailer no_auth(anonymous);
    const MailResult r2 = send(no_auth, simple());
    CHECK(r2.outcome == MailOutcome::kRetry);
    CHECK(r2.detail.find("530") != std::string::npos);
}

TEST_CASE("smtp mailer: a server that never answers is retried after the timeout") {
    FakeSmtp smtp(submission_server());
    smtp.hang();
    SmtpConfig c = config_for(smtp.url("smtp"));
    c.timeout = 1s;
    SmtpMailer mailer(c);
    const MailResult r = send(mailer, simple());
    CHECK(r.outcome == MailOutcome::kRetry);
    CHECK(r.detail.find("timed out") != std::string::npos);
    CHECK(smtp.connections() == 1);
    CHECK(smtp.messages().empty());
}

TEST_CASE("smtp mailer: bad addresses are permanent without a connection, bad settings throw") {
    FakeSmtp smtp(submission_server());
    SmtpMailer mailer(config_for(smtp.url("smtp")));
    CHECK(send(mailer, simple("not an address")).outcome == MailOutcome::kPermanent);
    MailMessage injected = simple();
    injected.bcc = {"x@example.com>\r\nRCPT TO:<evil@attacker.example"};
    CHECK(send(mailer, injected).outcome == MailOutcome::kPermanent);
    MailMessage nobody = simple();
    nobody.to.clear();
    CHECK(send(mailer, nobody).outcome == MailOutcome::kPermanent);
    MailMessage bad_from = simple();
    bad_from.from = "bridge at example.com";
    CHECK(send(mailer, bad_from).outcome == MailOutcome::kPermanent);
    CHECK(smtp.connections() == 0);

    for (const char* url : {"http://127.0.0.1:25",
                            "smtp://user:pw@127.0.0.1:587",
                            "smtp+insecure://127.0.0.1",
                            "smtp://",
                            "smtp://host/ x"}) {
        CAPTURE(url);
        CHECK_THROWS_AS(SmtpMailer{config_for(url)}, std::invalid_argument);
    }
    SmtpConfig no_from = config_for(smtp.url("smtp"));
    no_from.from = "nobody";
    CHECK_THROWS_AS(SmtpMailer{no_from}, std::invalid_argument);
    SmtpConfig no_ca = config_for(smtp.url("smtp"));
    no_ca.ca_file = "/nonexistent/ca.crt";
    CHECK_THROWS_AS(SmtpMailer{no_ca}, std::runtime_error);
}

TEST_CASE("smtp mailer: plain smtp+insecure for tests, without TLS or AUTH") {
    FakeSmtp smtp;
    SmtpConfig c = config_for(smtp.url());
    c.username.clear();
    c.password.clear();
    c.ca_file.clear();
    SmtpMailer mailer(c);
    CHECK(send(mailer, simple()).outcome == MailOutcome::kSent);
    REQUIRE(smtp.messages().size() == 1);
    CHECK_FALSE(smtp.messages()[0].tls);
    CHECK(smtp.messages()[0].auth_user.empty());
}

TEST_CASE("smtp mailer: the fake server undoes dot-stuffing and speaks RSET, NOOP, HELO") {
    // A raw client, so that the fake itself is checked apart from libcurl.
    FakeSmtp smtp;
    namespace net = boost::asio;
    net::io_context ioc;
    net::ip::tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"), smtp.port()});
    net::streambuf buffer;
    // The reply's last line ("250 ..." after any "250-..." lines).
    const auto reply = [&] {
        std::string line;
        do {
            net::read_until(socket, buffer, "\r\n");
            std::istream in(&buffer);
            std::getline(in, line);
        } while (line.size() > 3 && line[3] == '-');
        return line.substr(0, 3);
    };
    const auto command = [&](const std::string& text) {
        net::write(socket, net::buffer(text));
        return reply();
    };
    CHECK(reply() == "220");
    CHECK(command("HELO client.test\r\n") == "250");
    CHECK(command("NOOP\r\n") == "250");
    CHECK(command("DATA\r\n") == "503");
    CHECK(command("MAIL FROM:<a@example.com>\r\n") == "250");
    CHECK(command("RSET\r\n") == "250");
    CHECK(command("RCPT TO:<b@example.com>\r\n") == "503");  // RSET ended the transaction
    CHECK(command("MAIL FROM:<a@example.com> SIZE=10\r\n") == "250");
    CHECK(command("RCPT TO:<b@example.com>\r\n") == "250");
    CHECK(command("DATA\r\n") == "354");
    CHECK(command("Subject: dots\r\n\r\n..one\r\n...two\r\n.\r\n") == "250");
    CHECK(command("QUIT\r\n") == "221");
    REQUIRE(smtp.messages().size() == 1);
    CHECK(smtp.messages()[0].data == "Subject: dots\r\n\r\n.one\r\n..two\r\n");
    CHECK(smtp.messages()[0].recipients == std::vector<std::string>{"b@example.com"});
}
