#pragma once
// The email side of invitations, pure: an RFC 5322 / MIME renderer, the Mailer port (the edge
// implements it over SMTP in server/smtp_mailer), address checks, and the invitation templates
// (built in for en, de, fr, es, uk; overridable from a directory).
//
// Why render here and not in the transport: what a person receives (headers, encodings, the
// text) is testable without a socket, and a second transport (an HTTP mail API) would reuse it.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::mappers {

// ---------------------------------------------------------------------------------------------
// Messages

struct MailMessage {
    std::string from;       // envelope and header sender, a bare address
    std::string from_name;  // display name, any UTF-8
    std::vector<std::string> to;
    std::vector<std::string> cc;
    std::vector<std::string> bcc;   // envelope only: never rendered
    std::string subject;            // any UTF-8
    std::string text;               // UTF-8; LF or CRLF line ends
    std::string html;               // optional; when set the message is multipart/alternative
    std::string message_id_domain;  // optional; empty: the domain of `from`
};

// The message as it goes over the wire after DATA (before dot-stuffing, which is the
// transport's job: libcurl does it). CRLF line ends; headers Date (RFC 5322 §3.3, UTC), From,
// To, Cc, Subject, Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding. Non-ASCII
// in the subject and the display name becomes RFC 2047 encoded-words; CR, LF and other control
// characters are removed from every header value, so no value can add a header. Bodies are
// UTF-8, quoted-printable (mostly ASCII) or base64 (mostly not), lines at most 76 characters.
// `message_id` is the unique part of the Message-ID: used as is when it holds an '@', else
// "<message_id@domain>" with message_id_domain (or the sender's domain).
std::string render_rfc5322(const MailMessage& message,
                           std::chrono::system_clock::time_point now,
                           std::string_view message_id);

// ---------------------------------------------------------------------------------------------
// The port

enum class MailOutcome {
    kSent,       // the server accepted the message for every recipient
    kRetry,      // try again later: 4xx, timeout, connection or TLS failure, our configuration
    kPermanent,  // do not try again: 5xx for this message or recipient, an invalid address
};

struct MailResult {
    MailOutcome outcome = MailOutcome::kRetry;
    std::string detail;  // one line for operators; never a password or a claim link
};

// Blocking; implementations are safe to call from several threads at once.
class Mailer {
public:
    virtual ~Mailer() = default;
    virtual MailResult send(const MailMessage& message) = 0;
};

// ---------------------------------------------------------------------------------------------
// Addresses

// A bare address we are willing to put in an envelope and a header: exactly one '@'; a local
// part of 1..64 characters and a domain of dot-separated labels (at least two), both without
// empty parts; at most 254 characters; printable ASCII only, and none of space, backslash and
// < > , ; : " ( ) [ ] (quoted local parts and SMTPUTF8 addresses are refused: no invitation
// needs them).
bool is_plausible_email(std::string_view email);

// A role account (info@, no-reply@, hr@, ...) rather than a person's mailbox: such an address
// is refused as someone's personal account. Case-insensitive, a +tag ignored, and '.', '-', '_'
// ignored ("No-Reply@x", "info+eu@x", "help.desk@x" are generic; "ann.info@x" is not).
bool is_generic_mailbox(std::string_view email);

// ---------------------------------------------------------------------------------------------
// Invitation templates

enum class InvitationMail {
    kInvite,
    kReminder1,  // day 3
    kReminder2,  // day 5
};

struct InvitationMailVars {
    std::string person_name;
    std::string app_name;
    std::string organisation;
    std::string claim_url;
    std::string expires_at;  // a human date, UTC ("12 May 2025, 14:00 UTC")
    std::string locale;      // BCP 47 ("de-AT"); see MailTemplates for the fallback
};

// The copy to the HR/IT address: who was invited to which app. No claim link: it is personal.
struct CopySummaryVars {
    std::string person_name;
    std::string person_email;
    std::string app_name;
    std::string organisation;
    std::string expires_at;
    std::string locale;  // the copy address's locale, not the invited person's
};

struct RenderedMail {
    std::string subject;
    std::string text;
    std::string html;
};

// Templates are strings with {{name}} placeholders ({{ name }} too). Values are inserted as
// they are in the subject and the text, HTML-escaped in the HTML. Placeholders:
//   invite, reminder1, reminder2: person_name app_name organisation claim_url expires_at
//   copy:                         person_name person_email app_name organisation expires_at
// Locale lookup: exact ("de-at"; case and '_' vs '-' ignored), then the language ("de"),
// then "en".
class MailTemplates {
public:
    // The built-in templates (en, de, fr, es, uk).
    MailTemplates();

    // The built-ins overridden by the files of `directory`: <kind>.<locale>.subject,
    // <kind>.<locale>.txt and <kind>.<locale>.html, kind one of invite, reminder1, reminder2,
    // copy. Other files are ignored. A file overrides one part of a built-in locale; a locale
    // that is not built in needs all three parts. nullopt with *why set (a line naming the
    // file) when the directory cannot be read, a file name has an unknown kind or a bad locale,
    // a file is not UTF-8, a placeholder is unknown for its kind, or a brace is unbalanced:
    // meant to fail at startup, so that an admin's typo never reaches a person.
    static std::optional<MailTemplates> load_directory(const std::string& directory,
                                                       std::string* why = nullptr);

    struct Parts {
        std::string subject;
        std::string text;
        std::string html;
    };
    // The template used for `kind` ("invite", "reminder1", "reminder2", "copy") and `locale`,
    // after the fallback; the "en" built-in when nothing else matches.
    const Parts& find(std::string_view kind, std::string_view locale) const;

    // The locales (normalised: lower case, '-') that have templates for `kind`.
    std::vector<std::string> locales(std::string_view kind) const;

private:
    std::map<std::string, Parts, std::less<>> by_key_;  // "invite.de-at" -> parts
};

RenderedMail render_invitation(InvitationMail kind,
                               const InvitationMailVars& vars,
                               const MailTemplates& templates);

RenderedMail render_copy_summary(const CopySummaryVars& vars, const MailTemplates& templates);

// "invite", "reminder1", "reminder2" (file names and logs).
std::string_view to_string(InvitationMail kind);

}  // namespace scimbridge::mappers
