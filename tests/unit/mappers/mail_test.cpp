// mappers/mail: the RFC 5322 renderer (read back with the test side's own MIME reader), the
// address checks and the invitation templates.

#include "mappers/mail.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdlib.h>  // mkdtemp
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/fake_smtp.hpp"

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
using scimbridge::tests::parse_mail;
using scimbridge::tests::ParsedMail;

namespace {

// 2024-05-14 09:05:07 UTC, a Tuesday.
std::chrono::system_clock::time_point tuesday() {
    using namespace std::chrono;
    return sys_days(year(2024) / May / 14) + hours(9) + minutes(5) + seconds(7);
}

MailMessage sample() {
    MailMessage m;
    m.from = "bridge@example.com";
    m.from_name = "Scim Bridge";
    m.to = {"ann@example.com", "bob@example.org"};
    m.cc = {"people@example.com"};
    m.bcc = {"audit@example.net"};
    m.subject = "Your account";
    m.text = "Line 1\nLine 2\n";
    return m;
}

ParsedMail parsed(const std::string& raw) {
    std::string why;
    const auto mail = parse_mail(raw, &why);
    INFO(why);
    REQUIRE(mail.has_value());
    return *mail;
}

// LF → CRLF, as the renderer sends text.
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

// Every line of the header block.
std::vector<std::string> header_lines(const std::string& raw) {
    std::vector<std::string> lines;
    const std::string block = raw.substr(0, raw.find("\r\n\r\n"));
    std::size_t pos = 0;
    while (pos <= block.size()) {
        const std::size_t end = std::min(block.find("\r\n", pos), block.size());
        lines.push_back(block.substr(pos, end - pos));
        pos = end + 2;
    }
    return lines;
}

class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "scim-mail-test.XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    void write(const std::string& name, const std::string& content) const {
        std::ofstream(path_ + "/" + name, std::ios::binary) << content;
    }

private:
    std::string path_;
};

InvitationMailVars vars(std::string locale) {
    InvitationMailVars v;
    v.person_name = "Ann Example";
    v.app_name = "Payroll";
    v.organisation = "Example Corp";
    v.claim_url = "https://bridge.example.com/claim/abc123?x=1&y=2";
    v.expires_at = "21 May 2024, 09:00 UTC";
    v.locale = std::move(locale);
    return v;
}

}  // namespace

TEST_SUITE("mappers.mail") {
    TEST_CASE("RFC 5322 3.6 message: headers, CRLF, Date in UTC, Message-ID, Bcc never rendered") {
        const std::string raw = render_rfc5322(sample(), tuesday(), "abc123");
        const ParsedMail mail = parsed(raw);
        CHECK(mail.crlf_only);
        CHECK(mail.longest_line <= 78);
        CHECK(raw.ends_with("\r\n"));
        CHECK(mail.header("date") == "Tue, 14 May 2024 09:05:07 +0000");
        CHECK(mail.header("from") == "\"Scim Bridge\" <bridge@example.com>");
        CHECK(mail.header("to") == "ann@example.com, bob@example.org");
        CHECK(mail.header("cc") == "people@example.com");
        CHECK(mail.header("subject") == "Your account");
        CHECK(mail.header("message-id") == "<abc123@example.com>");
        CHECK(mail.header("mime-version") == "1.0");
        CHECK(mail.header("content-type") == "text/plain; charset=utf-8");
        CHECK(mail.text_encoding == "quoted-printable");
        CHECK(mail.text == "Line 1\r\nLine 2\r\n");
        CHECK_FALSE(mail.multipart);
        // Bcc recipients are envelope-only.
        CHECK(mail.count("bcc") == 0);
        CHECK(raw.find("audit@example.net") == std::string::npos);
    }

    TEST_CASE("RFC 5322 3.3 Date: single-digit days and a year boundary") {
        using namespace std::chrono;
        const auto t = sys_days(year(2023) / December / 31) + hours(23) + minutes(59) + seconds(59);
        CHECK(parsed(render_rfc5322(sample(), t, "x")).header("date") ==
              "Sun, 31 Dec 2023 23:59:59 +0000");
        const auto t2 = sys_days(year(2025) / March / 2);
        CHECK(parsed(render_rfc5322(sample(), t2, "x")).header("date") ==
              "Sun, 2 Mar 2025 00:00:00 +0000");
    }

    TEST_CASE(
        "RFC 5322 3.6.4 Message-ID: a full id as given, else the configured or sender domain") {
        MailMessage m = sample();
        CHECK(parsed(render_rfc5322(m, tuesday(), "id-1@mail.example.org")).header("message-id") ==
              "<id-1@mail.example.org>");
        m.message_id_domain = "bridge.example.net";
        CHECK(parsed(render_rfc5322(m, tuesday(), "id-2")).header("message-id") ==
              "<id-2@bridge.example.net>");
        // Nothing can leave the angle brackets.
        CHECK(parsed(render_rfc5322(m, tuesday(), "a> b\r\nX: y")).header("message-id") ==
              "<abXy@bridge.example.net>");
    }

    TEST_CASE("RFC 2047 encoded-words: non-ASCII subject and display name decode back") {
        MailMessage m = sample();
        m.from_name = "Zoë Ångström-Коваленко";
        m.subject = "Ваш обліковий запис Payroll в організації Example Corp готовий — Zoë ✓";
        const std::string raw = render_rfc5322(m, tuesday(), "id");
        const ParsedMail mail = parsed(raw);
        CHECK(mail.decoded_header("subject") == m.subject);
        CHECK(mail.decoded_header("from") == "Zoë Ångström-Коваленко <bridge@example.com>");
        CHECK(mail.header("subject")->starts_with("=?utf-8?B?"));
        // RFC 2047 §2: a line holding encoded-words is at most 76 characters; headers are ASCII.
        for (const std::string& line : header_lines(raw)) {
            CAPTURE(line);
            CHECK(line.size() <= 76);
            for (const char c : line) {
                CHECK(static_cast<unsigned char>(c) < 128);
            }
        }
        // A long ASCII subject is folded at spaces and unfolds to itself.
        m.subject = std::string(30, 'a') + " " + std::string(30, 'b') + " " + std::string(30, 'c');
        const ParsedMail folded = parsed(render_rfc5322(m, tuesday(), "id"));
        CHECK(folded.header("subject") == m.subject);
        CHECK(folded.longest_line <= 76);
        // ASCII that looks like an encoded-word is encoded, so that it reads back literally.
        m.subject = "=?utf-8?B?SGk=?= literally";
        CHECK(parsed(render_rfc5322(m, tuesday(), "id")).decoded_header("subject") == m.subject);
        // A display name with specials is a quoted-string.
        m.from_name = "Bridge, \"HR\" Team";
        CHECK(parsed(render_rfc5322(m, tuesday(), "id")).header("from") ==
              "\"Bridge, \\\"HR\\\" Team\" <bridge@example.com>");
    }

    TEST_CASE("header injection: CR and LF in any value never start a header") {
        MailMessage m = sample();
        m.subject = "Hi\r\nBcc: evil@attacker.example\r\n\r\nbody";
        m.from_name = "Eve\nX-Injected: 1";
        m.to = {"ann@example.com\r\nBcc: evil@attacker.example"};
        m.cc = {"x@example.com\rReply-To: evil@attacker.example"};
        const std::string raw = render_rfc5322(m, tuesday(), "id\r\nX-Id: 1");
        const ParsedMail mail = parsed(raw);
        const std::set<std::string> allowed = {"date",
                                               "from",
                                               "to",
                                               "cc",
                                               "subject",
                                               "message-id",
                                               "mime-version",
                                               "content-type",
                                               "content-transfer-encoding"};
        for (const auto& [name, value] : mail.headers) {
            CAPTURE(name);
            CHECK(allowed.contains(name));
        }
        CHECK(mail.count("bcc") == 0);
        CHECK(mail.count("reply-to") == 0);
        CHECK(mail.count("x-injected") == 0);
        CHECK(mail.decoded_header("subject") == "HiBcc: evil@attacker.examplebody");
        CHECK(mail.text == "Line 1\r\nLine 2\r\n");
    }

    TEST_CASE("RFC 2045 6.7 quoted-printable: long lines, '=', trailing spaces, a leading dot") {
        MailMessage m = sample();
        m.text = std::string(200, 'x') + "\n" + "a=b and 100% = sure\n" + "trailing  \n" +
                 ".hidden line\n" + "Grüße aus Köln, ça va ? ¿Qué tal?\n" + "tab\there\n" + "\n" +
                 "." + "\n" + "no final newline";
        const std::string raw = render_rfc5322(m, tuesday(), "id");
        const ParsedMail mail = parsed(raw);
        CHECK(mail.text_encoding == "quoted-printable");
        CHECK(mail.text == crlf(m.text));
        CHECK(mail.longest_line <= 76);
        // No line of the body starts with a dot: a relay that forgot dot-stuffing stays safe.
        CHECK(raw.find("\r\n.") == std::string::npos);
        // Bare CR and CRLF in the input become CRLF as well.
        m.text = "one\rtwo\r\nthree";
        CHECK(parsed(render_rfc5322(m, tuesday(), "id")).text == "one\r\ntwo\r\nthree");
    }

    TEST_CASE("RFC 2045 6.8 base64 for mostly non-ASCII text, 76-character lines") {
        MailMessage m = sample();
        m.text = "Вітаємо, Олено!\n\nОрганізація створила для вас обліковий запис. " +
                 std::string("Щоб активувати його, відкрийте це посилання:\n") +
                 "https://bridge.example.com/claim/abc\n";
        const std::string raw = render_rfc5322(m, tuesday(), "id");
        const ParsedMail mail = parsed(raw);
        CHECK(mail.text_encoding == "base64");
        CHECK(mail.text == crlf(m.text));
        CHECK(mail.longest_line <= 76);
    }

    TEST_CASE("RFC 2046 5.1.4 multipart/alternative when there is HTML, both parts decode back") {
        MailMessage m = sample();
        m.text = "Hello Zoë\n";
        m.html =
            "<!DOCTYPE html>\n<html lang=\"en\"><body><p>Hello Zoë</p><p style=\"a=b\">x</p>"
            "</body></html>\n";
        const std::string raw = render_rfc5322(m, tuesday(), "id");
        const ParsedMail mail = parsed(raw);
        CHECK(mail.multipart);
        CHECK(mail.header("content-type")->starts_with("multipart/alternative; boundary="));
        CHECK(mail.text == crlf(m.text));
        CHECK(mail.html == crlf(m.html));
        CHECK(mail.html_encoding == "quoted-printable");
        CHECK(mail.crlf_only);
        CHECK(mail.longest_line <= 76);
    }

    TEST_CASE("plausible email addresses") {
        for (const char* ok : {"ann@example.com",
                               "ann.lee+tag@mail.example.co.uk",
                               "a@b.io",
                               "o'brien@example.ie",
                               "x_y-z@sub-domain.example.org"}) {
            CAPTURE(ok);
            CHECK(is_plausible_email(ok));
        }
        const std::string long_local = std::string(65, 'a') + "@example.com";
        const std::string long_total = "a@" + std::string(250, 'b') + ".com";
        for (const std::string& bad : std::vector<std::string>{"",
                                                               "ann",
                                                               "@example.com",
                                                               "ann@",
                                                               "ann@example",
                                                               "ann@@example.com",
                                                               "a@b@example.com",
                                                               "ann lee@example.com",
                                                               "ann@example.com ",
                                                               "<ann@example.com>",
                                                               "ann,bob@example.com",
                                                               "ann@example.com\r\nBcc: x@y.com",
                                                               "ann\t@example.com",
                                                               ".ann@example.com",
                                                               "ann.@example.com",
                                                               "an..n@example.com",
                                                               "ann@.example.com",
                                                               "ann@example..com",
                                                               "ann@-example.com",
                                                               "\"ann\"@example.com",
                                                               "ann@[127.0.0.1]",
                                                               "zoë@example.com",
                                                               "ann@exa_mple.com",
                                                               long_local,
                                                               long_total}) {
            CAPTURE(bad);
            CHECK_FALSE(is_plausible_email(bad));
        }
        CHECK(is_plausible_email(std::string(64, 'a') + "@example.com"));
    }

    TEST_CASE("generic mailboxes: role accounts are not personal accounts") {
        for (const char* generic : {"info@x.com",         "INFO@x.com",          "info+eu@x.com",
                                    "No-Reply@x.com",     "no_reply@x.com",      "noreply@x.com",
                                    "do-not-reply@x.com", "donotreply@x.com",    "sales@x.com",
                                    "admin@x.com",        "administrator@x.com", "support@x.com",
                                    "contact@x.com",      "office@x.com",        "hello@x.com",
                                    "help@x.com",         "help.desk@x.com",     "helpdesk@x.com",
                                    "billing@x.com",      "accounts@x.com",      "accounting@x.com",
                                    "finance@x.com",      "invoice@x.com",       "invoices@x.com",
                                    "postmaster@x.com",   "webmaster@x.com",     "hostmaster@x.com",
                                    "abuse@x.com",        "security@x.com",      "marketing@x.com",
                                    "HR@x.com",           "jobs@x.com",          "careers@x.com",
                                    "recruiting@x.com",   "team@x.com",          "enquiries@x.com",
                                    "inquiries@x.com",    "press@x.com",         "media@x.com",
                                    "legal@x.com",        "privacy@x.com",       "service@x.com",
                                    "mail@x.com",         "root@x.com",          "it@x.com",
                                    "ops@x.com",          "it+alerts@x.com"}) {
            CAPTURE(generic);
            CHECK(is_generic_mailbox(generic));
        }
        for (const char* personal : {"ann.info@x.com",
                                     "info.ann@x.com",
                                     "ann@info.com",
                                     "anna@x.com",
                                     "hrbot1@x.com",
                                     "itzel@x.com",
                                     "opsahl@x.com",
                                     "mailer.ann@x.com",
                                     "ann+info@x.com",
                                     "tina@x.com",
                                     "jobsworth@x.com",
                                     "servicedesk.ann@x.com"}) {
            CAPTURE(personal);
            CHECK_FALSE(is_generic_mailbox(personal));
        }
    }

    TEST_CASE("built-in invitation templates in en, de, fr, es and uk") {
        const MailTemplates templates;
        const std::vector<std::string> expected = {"de", "en", "es", "fr", "uk"};
        for (const char* kind : {"invite", "reminder1", "reminder2", "copy"}) {
            CHECK(templates.locales(kind) == expected);
        }
        for (const std::string& locale : expected) {
            std::set<std::string> subjects;
            for (const InvitationMail kind : {InvitationMail::kInvite,
                                              InvitationMail::kReminder1,
                                              InvitationMail::kReminder2}) {
                CAPTURE(locale);
                CAPTURE(to_string(kind));
                const RenderedMail mail = render_invitation(kind, vars(locale), templates);
                subjects.insert(mail.subject);
                CHECK(mail.subject.find("Payroll") != std::string::npos);
                CHECK(mail.subject.find("{{") == std::string::npos);
                CHECK(mail.text.find("Ann Example") != std::string::npos);
                CHECK(mail.text.find(vars(locale).claim_url) != std::string::npos);
                CHECK(mail.text.find("21 May 2024, 09:00 UTC") != std::string::npos);
                CHECK(mail.text.find("{{") == std::string::npos);
                // Accessible HTML: the language, a title, the link as a link and as visible text.
                CHECK(mail.html.find("<html lang=\"" + locale + "\">") != std::string::npos);
                CHECK(mail.html.find("<title>") != std::string::npos);
                const std::string escaped_url =
                    "https://bridge.example.com/claim/abc123?x=1&amp;y=2";
                CHECK(mail.html.find("<a href=\"" + escaped_url + "\">") != std::string::npos);
                CHECK(mail.html.find("<p>" + escaped_url + "</p>") != std::string::npos);
                CHECK(mail.html.find("{{") == std::string::npos);
            }
            CHECK(subjects.size() == 3);  // the three mails are told apart by their subjects

            CopySummaryVars copy;
            copy.person_name = "Ann Example";
            copy.person_email = "ann@example.com";
            copy.app_name = "Payroll";
            copy.organisation = "Example Corp";
            copy.expires_at = "21 May 2024, 09:00 UTC";
            copy.locale = locale;
            const RenderedMail summary = render_copy_summary(copy, templates);
            CAPTURE(locale);
            CHECK(summary.subject.find("Ann Example") != std::string::npos);
            CHECK(summary.text.find("ann@example.com") != std::string::npos);
            CHECK(summary.text.find("Payroll") != std::string::npos);
            CHECK(summary.text.find("/claim/") == std::string::npos);  // the link is personal
            CHECK(summary.html.find("&lt;ann@example.com&gt;") != std::string::npos);
            CHECK(summary.html.find("<html lang=\"" + locale + "\">") != std::string::npos);
        }
        CHECK(render_invitation(InvitationMail::kInvite, vars("de"), templates).subject ==
              "Ihr Payroll-Konto bei Example Corp");
        CHECK(render_invitation(InvitationMail::kReminder2, vars("en"), templates).subject ==
              "Last reminder: your Payroll account at Example Corp");
    }

    TEST_CASE("locale fallback: exact, then the language, then en") {
        const MailTemplates templates;
        const auto subject = [&](const char* locale) {
            return render_invitation(InvitationMail::kInvite, vars(locale), templates).subject;
        };
        const std::string de = "Ihr Payroll-Konto bei Example Corp";
        const std::string en = "Your Payroll account at Example Corp";
        CHECK(subject("de") == de);
        CHECK(subject("de-AT") == de);
        CHECK(subject("de_at") == de);
        CHECK(subject("DE-CH") == de);
        CHECK(subject("pt-BR") == en);
        CHECK(subject("") == en);
        CHECK(subject("UK") == subject("uk-UA"));
        CHECK(subject("fr-CA").starts_with("Votre compte Payroll"));
    }

    TEST_CASE(
        "values are HTML-escaped in the HTML part only, and kept out of the subject's lines") {
        InvitationMailVars v = vars("en");
        v.person_name = "<script>alert(\"x\")</script> & 'co'";
        v.app_name = "Pay\r\nBcc: evil@attacker.example";
        const RenderedMail mail = render_invitation(InvitationMail::kInvite, v, MailTemplates());
        CHECK(mail.html.find("<script>") == std::string::npos);
        CHECK(mail.html.find(
                  "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;") !=
              std::string::npos);
        CHECK(mail.text.find("<script>alert(\"x\")</script> & 'co'") != std::string::npos);
        CHECK(mail.subject.find('\r') == std::string::npos);
        CHECK(mail.subject.find('\n') == std::string::npos);
    }

    TEST_CASE("templates from a directory override the built-ins part by part") {
        const TempDir dir;
        dir.write("invite.de.subject", "Willkommen bei {{ app_name }}, {{person_name}}\n");
        dir.write("invite.it.subject", "Il tuo account {{app_name}}");
        dir.write("invite.it.txt", "Ciao {{person_name}},\n{{claim_url}}\n");
        dir.write("invite.it.html", "<html lang=\"it\"><p>{{person_name}}</p></html>");
        dir.write("copy.en-GB.subject", "Copy: {{person_name}} ({{person_email}})");
        dir.write("copy.en-GB.txt", "{{person_name}} was invited to {{app_name}}.\n");
        dir.write("copy.en-GB.html", "<p>{{person_name}}</p>");
        dir.write("README.md", "{{not a placeholder}} files of other types are ignored");
        std::string why;
        const auto templates = MailTemplates::load_directory(dir.path(), &why);
        INFO(why);
        REQUIRE(templates.has_value());

        const RenderedMail de =
            render_invitation(InvitationMail::kInvite, vars("de-AT"), *templates);
        CHECK(de.subject == "Willkommen bei Payroll, Ann Example");
        CHECK(de.text.starts_with("Guten Tag Ann Example,"));  // the built-in text stays

        InvitationMailVars it = vars("it-CH");
        it.person_name = "<Ann>";
        const RenderedMail ita = render_invitation(InvitationMail::kInvite, it, *templates);
        CHECK(ita.subject == "Il tuo account Payroll");
        CHECK(ita.text == "Ciao <Ann>,\n" + it.claim_url + "\n");
        CHECK(ita.html == "<html lang=\"it\"><p>&lt;Ann&gt;</p></html>");
        // Reminders in Italian were not given: English.
        CHECK(render_invitation(InvitationMail::kReminder1, it, *templates)
                  .subject.starts_with("Reminder: "));

        CopySummaryVars copy;
        copy.person_name = "Ann";
        copy.person_email = "ann@example.com";
        copy.app_name = "Payroll";
        copy.locale = "en-gb";
        CHECK(render_copy_summary(copy, *templates).subject == "Copy: Ann (ann@example.com)");
        copy.locale = "en";
        CHECK(render_copy_summary(copy, *templates).subject == "Invitation sent: Ann, Payroll");
    }

    TEST_CASE("template directory errors fail loading and name the file") {
        const auto error_for = [](const std::vector<std::pair<std::string, std::string>>& files) {
            const TempDir dir;
            for (const auto& [name, content] : files) {
                dir.write(name, content);
            }
            std::string why;
            const auto templates = MailTemplates::load_directory(dir.path(), &why);
            CHECK_FALSE(templates.has_value());
            return why;
        };
        std::string why = error_for({{"invite.de.txt", "Hallo {{person_name}}\n\n{{nmae}}\n"}});
        CHECK(why.find("invite.de.txt") != std::string::npos);
        CHECK(why.find("line 3") != std::string::npos);
        CHECK(why.find("{{nmae}}") != std::string::npos);
        // The claim link is personal: the copy to HR/IT cannot hold it.
        why = error_for({{"copy.de.txt", "{{claim_url}}"}});
        CHECK(why.find("unknown placeholder {{claim_url}}") != std::string::npos);
        why = error_for({{"invite.de.html", "<p>{{person_name</p>"}});
        CHECK(why.find("'{{' without '}}'") != std::string::npos);
        why = error_for({{"invte.de.txt", "x"}});
        CHECK(why.find("unknown kind 'invte'") != std::string::npos);
        why = error_for({{"invite.german.txt", "x"}});
        CHECK(why.find("not a locale") != std::string::npos);
        why = error_for({{"invite.txt", "x"}});
        CHECK(why.find("invite.txt") != std::string::npos);
        why = error_for({{"invite.it.subject", "Ciao"}, {"invite.it.txt", "Ciao"}});
        CHECK(why.find("invite.it.html is missing") != std::string::npos);
        why = error_for({{"invite.de.subject", "two\nlines"}});
        CHECK(why.find("one line") != std::string::npos);
        why = error_for({{"invite.de.txt", "\xff\xfe not utf-8"}});
        CHECK(why.find("not UTF-8") != std::string::npos);

        std::string missing;
        CHECK_FALSE(MailTemplates::load_directory("/nonexistent/scim-mail-templates", &missing)
                        .has_value());
        CHECK(missing.find("/nonexistent/scim-mail-templates") != std::string::npos);
    }
}
